package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * jinja2's built-in filters with Python semantics, plus transformers' {@code tojson}. Filters
 * jinja2 has that are not implemented here raise an error naming the filter instead of rendering
 * something different; unknown names raise jinja2's "No filter named" error.
 */
final class PyFilters {

    private PyFilters() {}

    static final Set<String> NAMES = Set.of(
            "tojson",
            "length",
            "count",
            "trim",
            "default",
            "d",
            "first",
            "last",
            "join",
            "upper",
            "lower",
            "capitalize",
            "title",
            "string",
            "items",
            "list",
            "replace",
            "int",
            "float",
            "abs",
            "round",
            "reverse",
            "map",
            "select",
            "reject",
            "selectattr",
            "rejectattr",
            "unique",
            "sort",
            "dictsort",
            "indent",
            "safe",
            "sum",
            "min",
            "max",
            "wordcount",
            "center",
            "format",
            "attr",
            "escape",
            "e",
            "forceescape");

    /** jinja2 filters deliberately not implemented (rare in chat templates). */
    static final Set<String> UNSUPPORTED = Set.of(
            "batch",
            "slice",
            "groupby",
            "truncate",
            "wordwrap",
            "striptags",
            "urlize",
            "urlencode",
            "xmlattr",
            "filesizeformat",
            "pprint",
            "random");

    static Object apply(String name, Object v, List<Object> pos, Map<String, Object> kw) {
        PyMethods.Args a = new PyMethods.Args(name, pos, kw);
        switch (name) {
            case "tojson" -> {
                a.max(4, "ensure_ascii", "indent", "separators", "sort_keys");
                return PyJson.dumps(
                        v,
                        Py.truthy(a.get(0, "ensure_ascii", false)),
                        a.get(1, "indent", null),
                        a.get(2, "separators", null),
                        Py.truthy(a.get(3, "sort_keys", false)));
            }
            case "length", "count" -> {
                a.max(0);
                return Py.len(v);
            }
            case "trim" -> {
                a.max(1, "chars");
                Object chars = a.get(0, "chars", Py.NONE);
                return PyMethods.invoke(Py.str(v), "strip", new Object[] {chars});
            }
            case "default", "d" -> {
                a.max(2, "default_value", "boolean");
                Object dflt = a.get(0, "default_value", "");
                boolean bool = Py.truthy(a.get(1, "boolean", false));
                if (v == null || (bool && !Py.truthy(v))) {
                    return dflt;
                }
                return v;
            }
            case "first" -> {
                a.max(0);
                List<Object> items = Py.iterate(v);
                return items.isEmpty() ? null : items.get(0);
            }
            case "last" -> {
                a.max(0);
                if (v instanceof Map) {
                    throw new PyError("TypeError", "'dict' object is not reversible");
                }
                List<Object> items = Py.iterate(v);
                return items.isEmpty() ? null : items.get(items.size() - 1);
            }
            case "join" -> {
                a.max(2, "d", "attribute");
                String sep = Py.str(a.get(0, "d", ""));
                Object attr = a.get(1, "attribute", Py.NONE);
                StringBuilder sb = new StringBuilder();
                boolean first = true;
                for (Object o : Py.iterate(v)) {
                    if (!first) {
                        sb.append(sep);
                    }
                    first = false;
                    sb.append(Py.str(attr == Py.NONE ? o : attribute(o, attr)));
                    RenderBudget.size(sb.length(), "the join filter");
                }
                return sb.toString();
            }
            case "upper" -> {
                a.max(0);
                return Py.str(v).toUpperCase(Locale.ROOT);
            }
            case "lower" -> {
                a.max(0);
                return Py.str(v).toLowerCase(Locale.ROOT);
            }
            case "capitalize" -> {
                a.max(0);
                return PyMethods.capitalize(Py.str(v));
            }
            case "title" -> {
                a.max(0);
                return jinjaTitle(Py.str(v));
            }
            case "string" -> {
                a.max(0);
                return Py.str(v);
            }
            case "safe" -> {
                a.max(0);
                return v instanceof String ? v : Py.str(v);
            }
            case "escape", "e", "forceescape" -> {
                a.max(0);
                return escape(Py.str(v));
            }
            case "items" -> {
                a.max(0);
                if (v == null) {
                    return new ArrayList<>();
                }
                if (!(v instanceof Map) || v instanceof Namespace) {
                    throw new PyError("TypeError", "Can only get item pairs from a mapping.");
                }
                return PyMethods.invoke(v, "items", new Object[0]);
            }
            case "list" -> {
                a.max(0);
                return Py.iterate(v);
            }
            case "replace" -> {
                a.max(3, "old", "new", "count");
                Object count = a.get(2, "count", Py.NONE);
                return PyMethods.invoke(Py.str(v), "replace", new Object[] {
                    Py.str(a.required(0, "old")), Py.str(a.required(1, "new")), count == Py.NONE ? -1L : count
                });
            }
            case "int" -> {
                a.max(2, "default", "base");
                return toInt(v, a.get(0, "default", 0L), a.get(1, "base", 10L));
            }
            case "float" -> {
                a.max(1, "default");
                return toFloat(v, a.get(0, "default", 0.0));
            }
            case "abs" -> {
                a.max(0);
                if (Py.isInt(v) || v instanceof Boolean) {
                    return Py.normInt(Py.bigInt(v).abs());
                }
                if (Py.isFloat(v)) {
                    return Math.abs(((Number) v).doubleValue());
                }
                throw new PyError("TypeError", "bad operand type for abs(): '" + Py.typeName(v) + "'");
            }
            case "round" -> {
                a.max(2, "precision", "method");
                Object p = a.get(0, "precision", 0L);
                String method = Py.str(a.get(1, "method", "common"));
                return round(v, p, method);
            }
            case "reverse" -> {
                a.max(0);
                if (v instanceof String s) {
                    return Py.slice(s, null, null, -1L);
                }
                if (v instanceof Map) {
                    throw new PyError("TypeError", "argument to reversed() must be a sequence");
                }
                List<Object> items = Py.iterate(v);
                Collections.reverse(items);
                return items;
            }
            case "map" -> {
                return map(v, a);
            }
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                boolean want = name.equals("select");
                for (Object o : Py.iterate(v)) {
                    if (testItem(o, pos, 0) == want) {
                        out.add(o);
                    }
                }
                return out;
            }
            case "selectattr", "rejectattr" -> {
                if (pos.isEmpty()) {
                    throw new PyError("FilterArgumentError", "Missing parameter for attribute name");
                }
                List<Object> out = new ArrayList<>();
                boolean want = name.equals("selectattr");
                for (Object o : Py.iterate(v)) {
                    Object value = attribute(o, pos.get(0));
                    if (testItem(value, pos, 1) == want) {
                        out.add(o);
                    }
                }
                return out;
            }
            case "unique" -> {
                a.max(2, "case_sensitive", "attribute");
                boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
                Object attr = a.get(1, "attribute", Py.NONE);
                List<Object> out = new ArrayList<>();
                List<Object> seen = new ArrayList<>();
                for (Object o : Py.iterate(v)) {
                    Object key = sortKey(attr == Py.NONE ? o : attribute(o, attr), cs);
                    boolean dup = false;
                    for (Object s : seen) {
                        RenderBudget.tick(); // quadratic: jinja2 uses a set, Py.eq has no hash
                        if (Py.eq(s, key)) {
                            dup = true;
                            break;
                        }
                    }
                    if (!dup) {
                        seen.add(key);
                        out.add(o);
                    }
                }
                return out;
            }
            case "sort" -> {
                a.max(3, "reverse", "case_sensitive", "attribute");
                boolean rev = Py.truthy(a.get(0, "reverse", false));
                boolean cs = Py.truthy(a.get(1, "case_sensitive", false));
                Object attr = a.get(2, "attribute", Py.NONE);
                List<Object> items = Py.iterate(v);
                Comparator<Object> cmp = (x, y) -> {
                    Object kx = sortKey(attr == Py.NONE ? x : attribute(x, attr), cs);
                    Object ky = sortKey(attr == Py.NONE ? y : attribute(y, attr), cs);
                    return Py.compare(kx, ky, "<");
                };
                items.sort(rev ? cmp.reversed() : cmp);
                return items;
            }
            case "dictsort" -> {
                a.max(3, "case_sensitive", "by", "reverse");
                boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
                String by = Py.str(a.get(1, "by", "key"));
                boolean rev = Py.truthy(a.get(2, "reverse", false));
                int idx = switch (by) {
                    case "key" -> 0;
                    case "value" -> 1;
                    default ->
                        throw new PyError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
                };
                @SuppressWarnings("unchecked")
                List<Object> pairs = (List<Object>) apply("items", v, List.of(), Map.of());
                Comparator<Object> cmp = (x, y) ->
                        Py.compare(sortKey(((List<?>) x).get(idx), cs), sortKey(((List<?>) y).get(idx), cs), "<");
                pairs.sort(rev ? cmp.reversed() : cmp);
                return pairs;
            }
            case "indent" -> {
                a.max(3, "width", "first", "blank");
                Object w = a.get(0, "width", 4L);
                String ind = w instanceof String s ? s : indentOf(w);
                boolean first = Py.truthy(a.get(1, "first", false));
                boolean blank = Py.truthy(a.get(2, "blank", false));
                String s = Py.str(v) + "\n";
                @SuppressWarnings("unchecked")
                List<Object> lines = (List<Object>) PyMethods.invoke(s, "splitlines", new Object[0]);
                RenderBudget.size(s.length() + (long) ind.length() * lines.size(), "the indent filter");
                String rv;
                if (blank) {
                    rv = String.join(
                            "\n" + ind, lines.stream().map(Object::toString).toList());
                } else {
                    StringBuilder sb = new StringBuilder(lines.get(0).toString());
                    if (lines.size() > 1) {
                        sb.append('\n');
                        List<String> rest = new ArrayList<>();
                        for (Object line : lines.subList(1, lines.size())) {
                            String l = line.toString();
                            rest.add(l.isEmpty() ? l : ind + l);
                        }
                        sb.append(String.join("\n", rest));
                    }
                    rv = sb.toString();
                }
                return first ? ind + rv : rv;
            }
            case "sum" -> {
                a.max(2, "attribute", "start");
                Object attr = a.get(0, "attribute", Py.NONE);
                Object total = a.get(1, "start", 0L);
                for (Object o : Py.iterate(v)) {
                    total = ((PyOps.Strict) PyOps.ADD).apply(total, attr == Py.NONE ? o : attribute(o, attr));
                }
                return total;
            }
            case "min", "max" -> {
                a.max(2, "case_sensitive", "attribute");
                boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
                Object attr = a.get(1, "attribute", Py.NONE);
                List<Object> items = Py.iterate(v);
                if (items.isEmpty()) {
                    return null;
                }
                Object best = items.get(0);
                for (Object o : items.subList(1, items.size())) {
                    Object ko = sortKey(attr == Py.NONE ? o : attribute(o, attr), cs);
                    Object kb = sortKey(attr == Py.NONE ? best : attribute(best, attr), cs);
                    int c = Py.compare(ko, kb, "<");
                    if (name.equals("min") ? c == -1 : c == 1) {
                        best = o;
                    }
                }
                return best;
            }
            case "wordcount" -> {
                a.max(0);
                Matcher m =
                        Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS).matcher(Py.str(v));
                long n = 0;
                while (m.find()) {
                    n++;
                }
                return n;
            }
            case "center" -> {
                a.max(1, "width");
                return PyMethods.invoke(Py.str(v), "center", new Object[] {a.get(0, "width", 80L)});
            }
            case "format" -> {
                if (!pos.isEmpty() && !kw.isEmpty()) {
                    throw new PyError(
                            "FilterArgumentError", "can't handle positional and keyword arguments at the same time");
                }
                if (!kw.isEmpty()) {
                    throw new PyError("NotImplementedError", "format filter with keyword arguments is not supported");
                }
                return PyFormat.percent(Py.str(v), new PyTuple(pos));
            }
            case "attr" -> {
                a.max(1);
                if (v == null) {
                    throw PyError.undefined("attr filter applied to an undefined value");
                }
                return PyAst.getAttr(v, Py.str(a.required(0, null)), null);
            }
            default -> {
                if (UNSUPPORTED.contains(name)) {
                    throw new PyError(
                            "NotImplementedError",
                            "the jinja2 filter '" + name + "' is not supported by align4j's template engine");
                }
                throw new PyError("TemplateAssertionError", "No filter named '" + name + "'.");
            }
        }
    }

    /** markupsafe's escape, refused before it grows a string past the render's size limit. */
    private static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '\'' -> sb.append("&#39;");
                case '"' -> sb.append("&#34;");
                default -> sb.append(c);
            }
            if (sb.length() - i > 4096) {
                RenderBudget.size(sb.length() + (long) s.length() - i, "the escape filter");
            }
        }
        return sb.toString();
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        if (!caseSensitive && v instanceof String s) {
            return s.toLowerCase(Locale.ROOT);
        }
        return v;
    }

    /** jinja2's attribute lookup for filters: dotted paths, integer parts index lists. */
    static Object attribute(Object o, Object attr) {
        if (Py.isInt(attr)) {
            return PyAst.getItem(o, attr, null);
        }
        Object cur = o;
        for (String part : Py.str(attr).split("\\.", -1)) {
            if (cur == null) {
                throw PyError.undefined("attribute '" + attr + "' of an undefined value");
            }
            Object key = part.chars().allMatch(Character::isDigit) && !part.isEmpty()
                    ? Py.normInt(new BigInteger(part))
                    : (Object) part;
            cur = PyAst.getItem(cur, key, null);
        }
        return cur;
    }

    private static boolean testItem(Object value, List<Object> pos, int testAt) {
        if (pos.size() <= testAt) {
            return Py.truthy(value);
        }
        String test = Py.str(pos.get(testAt));
        return PyTests.test(test, value, new ArrayList<>(pos.subList(testAt + 1, pos.size())), Map.of());
    }

    private static Object map(Object v, PyMethods.Args a) {
        List<Object> out = new ArrayList<>();
        if (a.kw.containsKey("attribute") || (a.pos.isEmpty() && !a.kw.isEmpty())) {
            Object attr = a.kw.get("attribute");
            if (attr == null) {
                throw new PyError("FilterArgumentError", "map requires a filter name or attribute=");
            }
            Object dflt = a.kw.getOrDefault("default", MISSING);
            for (Object o : Py.iterate(v)) {
                Object r = attribute(o, attr);
                out.add(r == null && dflt != MISSING ? dflt : r);
            }
            return out;
        }
        if (a.pos.isEmpty()) {
            throw new PyError("FilterArgumentError", "map requires a filter argument");
        }
        String filter = Py.str(a.pos.get(0));
        List<Object> rest = new ArrayList<>(a.pos.subList(1, a.pos.size()));
        for (Object o : Py.iterate(v)) {
            out.add(apply(filter, o, rest, a.kw));
        }
        return out;
    }

    private static final Object MISSING = new Object();

    private static final Pattern WORD_BEGINNING = Pattern.compile("([-\\s({\\[<]+)");

    /** jinja2's title filter (not str.title): capitalizes after '-', whitespace and opening brackets. */
    static String jinjaTitle(String s) {
        List<String> parts = new ArrayList<>();
        Matcher m = WORD_BEGINNING.matcher(s);
        int last = 0;
        while (m.find()) {
            parts.add(s.substring(last, m.start()));
            parts.add(m.group(1));
            last = m.end();
        }
        parts.add(s.substring(last));
        StringBuilder sb = new StringBuilder();
        for (String item : parts) {
            if (item.isEmpty()) {
                continue;
            }
            int first = item.codePointAt(0);
            int n = Character.charCount(first);
            sb.append(new String(Character.toChars(first)).toUpperCase(Locale.ROOT));
            sb.append(item.substring(n).toLowerCase(Locale.ROOT));
        }
        return sb.toString();
    }

    /** jinja2's {@code " " * width}: a count that is not an int is a TypeError, a huge one refused. */
    private static String indentOf(Object width) {
        if (!(Py.isInt(width) || width instanceof Boolean)) {
            throw new PyError("TypeError", "can't multiply sequence by non-int of type '" + Py.typeName(width) + "'");
        }
        return " ".repeat(RenderBudget.repeat(1, Py.bigInt(width), "the indent filter (width " + width + ")", false));
    }

    private static Object toInt(Object v, Object dflt, Object base) {
        v = v instanceof SafeString s ? s.toString() : v;
        // int(value, base) with a base that is not an int in 0, 2..36 fails, and jinja2 then
        // falls back to int(float(value)); -1 makes BigInteger fail the same way
        int b = (Py.isInt(base) || base instanceof Boolean)
                        && Py.bigInt(base).bitLength() < 31
                        && (Py.bigInt(base).intValue() == 0
                                || Py.bigInt(base).intValue() >= 2
                                        && Py.bigInt(base).intValue() <= 36)
                ? Py.bigInt(base).intValue()
                : -1;
        try {
            if (v instanceof String s) {
                return parsePyInt(s, b);
            }
            if (Py.isInt(v) || v instanceof Boolean) {
                return Py.normInt(Py.bigInt(v));
            }
            if (Py.isFloat(v)) {
                double d = ((Number) v).doubleValue();
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    return dflt;
                }
                return Py.normInt(PyOps.truncToInt(d));
            }
        } catch (NumberFormatException e) {
            // fall through to int(float(value))
        }
        Object f = toFloat(v, MISSING);
        if (f == MISSING) {
            return dflt;
        }
        double d = (Double) f;
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return dflt;
        }
        return Py.normInt(PyOps.truncToInt(d));
    }

    private static Object parsePyInt(String s, int base) {
        String t = s.strip().replace("_", "");
        if (t.isEmpty() || !t.equals(stripPy(s).replace("_", ""))) {
            throw new NumberFormatException(s);
        }
        if (base == 0 || base == 16 || base == 8 || base == 2) {
            String lower = t.toLowerCase(Locale.ROOT);
            String sign = "";
            if (lower.startsWith("-") || lower.startsWith("+")) {
                sign = lower.substring(0, 1);
                lower = lower.substring(1);
            }
            if (lower.startsWith("0x") && (base == 0 || base == 16)) {
                return Py.normInt(new BigInteger(sign + lower.substring(2), 16));
            }
            if (lower.startsWith("0o") && (base == 0 || base == 8)) {
                return Py.normInt(new BigInteger(sign + lower.substring(2), 8));
            }
            if (lower.startsWith("0b") && (base == 0 || base == 2)) {
                return Py.normInt(new BigInteger(sign + lower.substring(2), 2));
            }
            if (base == 0) {
                base = 10;
            }
        }
        return Py.normInt(new BigInteger(t, base));
    }

    private static String stripPy(String s) {
        return (String) PyMethods.invoke(s, "strip", new Object[0]);
    }

    private static Object toFloat(Object v, Object dflt) {
        v = v instanceof SafeString s ? s.toString() : v;
        if (Py.isNumeric(v)) {
            return Py.toDouble(v);
        }
        if (v instanceof String s) {
            String t = stripPy(s).replace("_", "").toLowerCase(Locale.ROOT);
            switch (t) {
                case "inf", "+inf", "infinity", "+infinity" -> {
                    return Double.POSITIVE_INFINITY;
                }
                case "-inf", "-infinity" -> {
                    return Double.NEGATIVE_INFINITY;
                }
                case "nan", "+nan", "-nan" -> {
                    return Double.NaN;
                }
                default -> {
                    if (t.matches("[+-]?(\\d+\\.?\\d*([e][+-]?\\d+)?|\\.\\d+([e][+-]?\\d+)?)")) {
                        return Double.parseDouble(t);
                    }
                }
            }
        }
        return dflt;
    }

    private static Object round(Object v, Object precisionArg, String method) {
        if (!Py.isNumeric(v)) {
            throw new PyError("TypeError", "type " + Py.typeName(v) + " doesn't define __round__ method");
        }
        if (!method.equals("common") && !method.equals("ceil") && !method.equals("floor")) {
            throw new PyError("FilterArgumentError", "method must be common, ceil or floor");
        }
        if (!(Py.isInt(precisionArg) || precisionArg instanceof Boolean)) {
            throw new PyError(
                    "TypeError", "'" + Py.typeName(precisionArg) + "' object cannot be interpreted as an integer");
        }
        BigInteger p = Py.bigInt(precisionArg);
        if (method.equals("common") && (Py.isInt(v) || v instanceof Boolean)) {
            BigInteger i = Py.bigInt(v);
            if (p.signum() >= 0) {
                return Py.normInt(i);
            }
            // 10**-p beyond twice |i| rounds to 0 (Python would first build 10**-p, however large)
            if (p.negate().compareTo(BigInteger.valueOf(i.abs().toString().length() + 1L)) > 0) {
                return 0L;
            }
            return Py.normInt(new BigDecimal(i)
                    .setScale(p.intValueExact(), RoundingMode.HALF_EVEN)
                    .toBigInteger());
        }
        double d = Py.toDouble(v);
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return d;
        }
        if (method.equals("common")) {
            // Python's float round: beyond 323 digits a double is exact, below -308 it is 0
            if (p.compareTo(BigInteger.valueOf(323)) > 0) {
                return d;
            }
            if (p.compareTo(BigInteger.valueOf(-308)) < 0) {
                return 0.0 * d;
            }
            return new BigDecimal(d)
                    .setScale(p.intValue(), RoundingMode.HALF_EVEN)
                    .doubleValue();
        }
        // jinja2: ceil(value * 10**precision) / 10**precision, with Python's float conversion errors
        if (p.compareTo(BigInteger.valueOf(308)) > 0) {
            throw new PyError("OverflowError", "int too large to convert to float");
        }
        if (p.compareTo(BigInteger.valueOf(-323)) < 0) {
            throw new PyError("ZeroDivisionError", "float division by zero");
        }
        double scale = Math.pow(10, p.intValue());
        return (method.equals("ceil") ? Math.ceil(d * scale) : Math.floor(d * scale)) / scale;
    }

    static List<Object> keysOf(Map<?, ?> m) {
        return new ArrayList<>(new LinkedHashMap<>(m).keySet());
    }
}
