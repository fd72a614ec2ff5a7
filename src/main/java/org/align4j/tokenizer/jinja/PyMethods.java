package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ext.NamedParameter;
import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The methods a sandboxed jinja2 template may call on Python values: {@code str}, {@code dict} and
 * {@code list} methods with Python's semantics (indices count code points). Methods that mutate a
 * list or dict raise {@code SecurityError}, as in transformers' ImmutableSandboxedEnvironment;
 * unknown methods raise instead of resolving to Java methods.
 */
final class PyMethods {

    private PyMethods() {}

    private static final Set<String> MUTATING_LIST = Set.of(
            "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "__setitem__", "__delitem__");
    private static final Set<String> MUTATING_DICT =
            Set.of("update", "pop", "popitem", "clear", "setdefault", "__setitem__", "__delitem__");

    /** Python whitespace as str.isspace() / str.split() / str.strip() define it. */
    static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0d)
                || (cp >= 0x1c && cp <= 0x20)
                || cp == 0x85
                || cp == 0xa0
                || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200a)
                || cp == 0x2028
                || cp == 0x2029
                || cp == 0x202f
                || cp == 0x205f
                || cp == 0x3000;
    }

    static boolean isLineBreak(int cp) {
        return cp == '\n'
                || cp == '\r'
                || cp == 0x0b
                || cp == 0x0c
                || cp == 0x1c
                || cp == 0x1d
                || cp == 0x1e
                || cp == 0x85
                || cp == 0x2028
                || cp == 0x2029;
    }

    static Object invoke(Object base, String name, Object[] params) {
        List<Object> args = new ArrayList<>();
        Map<String, Object> kwargs = new LinkedHashMap<>();
        if (params != null) {
            for (Object p : params) {
                if (p instanceof NamedParameter np) {
                    kwargs.put(np.getName(), np.getValue());
                } else {
                    args.add(p);
                }
            }
        }
        if (base instanceof SafeString) {
            base = base.toString();
        }
        if (base instanceof String s) {
            return str(s, name, new Args(name, args, kwargs));
        }
        if (base instanceof Namespace) {
            throw PyError.noAttribute(base, name);
        }
        if (base instanceof Map<?, ?> m) {
            return dict(m, name, new Args(name, args, kwargs));
        }
        if (base instanceof List<?> l) {
            return list(l, name, new Args(name, args, kwargs));
        }
        throw PyError.noAttribute(base, name);
    }

    /** Positional and keyword arguments of one call, with Python-style binding by parameter name. */
    static final class Args {

        final String fn;
        final List<Object> pos;
        final Map<String, Object> kw;

        Args(String fn, List<Object> pos, Map<String, Object> kw) {
            this.fn = fn;
            this.pos = pos;
            this.kw = kw;
        }

        /** The argument at position i or named {@code name}; {@code missing} when absent. */
        Object get(int i, String name, Object missing) {
            if (i < pos.size()) {
                if (name != null && kw.containsKey(name)) {
                    throw new PyError("TypeError", fn + "() got multiple values for argument '" + name + "'");
                }
                return pos.get(i);
            }
            if (name != null && kw.containsKey(name)) {
                return kw.get(name);
            }
            return missing;
        }

        void max(int n, String... names) {
            if (pos.size() > n) {
                throw new PyError(
                        "TypeError",
                        fn + "() takes at most " + n + " argument" + (n == 1 ? "" : "s") + " (" + pos.size()
                                + " given)");
            }
            for (String k : kw.keySet()) {
                if (!List.of(names).contains(k)) {
                    throw new PyError("TypeError", fn + "() got an unexpected keyword argument '" + k + "'");
                }
            }
        }

        Object required(int i, String name) {
            Object v = get(i, name, MISSING);
            if (v == MISSING) {
                throw new PyError(
                        "TypeError", fn + "() missing required argument '" + (name == null ? "arg" + i : name) + "'");
            }
            return v;
        }
    }

    static final Object MISSING = new Object();

    private static String needStr(Object v, String fn) {
        if (v instanceof String || v instanceof SafeString) {
            return v.toString();
        }
        if (v == null) {
            throw PyError.undefined(fn + "() argument is undefined");
        }
        throw new PyError("TypeError", fn + "() argument must be str, not " + Py.typeName(v));
    }

    /**
     * An optional count or width argument, which Python converts to a C ssize_t: one that does not
     * fit is an OverflowError (never silently truncated).
     */
    private static Long optInt(Object v, String fn) {
        if (v == MISSING || v == Py.NONE) {
            return null;
        }
        return needInt(v, fn);
    }

    static long needInt(Object v, String fn) {
        if (Py.isInt(v) || v instanceof Boolean) {
            java.math.BigInteger b = Py.bigInt(v);
            if (b.bitLength() > 63) {
                throw new PyError("OverflowError", fn + "(): Python int too large to convert to C ssize_t");
            }
            return b.longValue();
        }
        throw new PyError("TypeError", fn + "(): '" + Py.typeName(v) + "' object cannot be interpreted as an integer");
    }

    /** An optional start/end bound, which Python clamps like a slice index however large it is. */
    private static Long optIndex(Object v, String fn) {
        if (v == MISSING || v == Py.NONE) {
            return null;
        }
        if (Py.isInt(v) || v instanceof Boolean) {
            java.math.BigInteger b = Py.bigInt(v);
            if (b.bitLength() > 63) {
                return b.signum() > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
            }
            return b.longValue();
        }
        throw new PyError(
                "TypeError", "slice indices must be integers or None or have an __index__ method (" + fn + ")");
    }

    // ------------------------------------------------------------------ str

    private static Object str(String s, String name, Args a) {
        switch (name) {
            case "startswith", "endswith" -> {
                a.max(3);
                Object what = a.required(0, null);
                Long start = optIndex(a.get(1, null, MISSING), name);
                Long end = optIndex(a.get(2, null, MISSING), name);
                int[] c = Py.cps(s);
                String sub = (String) Py.slice(s, start == null ? null : start, end == null ? null : end, null);
                if (start != null && start > c.length) {
                    return false;
                }
                List<Object> options = what instanceof List<?> l ? new ArrayList<>(l) : List.of(what);
                for (Object o : options) {
                    String p = needStr(o, name);
                    if (name.equals("startswith") ? sub.startsWith(p) : sub.endsWith(p)) {
                        return true;
                    }
                }
                return false;
            }
            case "strip", "lstrip", "rstrip" -> {
                a.max(1);
                Object chars = a.get(0, null, MISSING);
                boolean ws = chars == MISSING || chars == Py.NONE;
                String cs = ws ? null : needStr(chars, name);
                int[] c = Py.cps(s);
                int lo = 0;
                int hi = c.length;
                if (!name.equals("rstrip")) {
                    while (lo < hi && stripChar(c[lo], ws, cs)) {
                        lo++;
                    }
                }
                if (!name.equals("lstrip")) {
                    while (hi > lo && stripChar(c[hi - 1], ws, cs)) {
                        hi--;
                    }
                }
                return Py.fromCps(c, lo, hi);
            }
            case "split", "rsplit" -> {
                a.max(2, "sep", "maxsplit");
                Object sep = a.get(0, "sep", MISSING);
                Long maxsplit = optInt(a.get(1, "maxsplit", MISSING), name);
                long max = maxsplit == null ? -1 : maxsplit;
                if (sep == MISSING || sep == Py.NONE) {
                    return splitWhitespace(s, max, name.equals("rsplit"));
                }
                String p = needStr(sep, name);
                if (p.isEmpty()) {
                    throw new PyError("ValueError", "empty separator");
                }
                return name.equals("split") ? splitSep(s, p, max) : rsplitSep(s, p, max);
            }
            case "splitlines" -> {
                a.max(1, "keepends");
                boolean keep = Py.truthy(a.get(0, "keepends", false));
                List<Object> out = new ArrayList<>();
                int[] c = Py.cps(s);
                int i = 0;
                int startLine = 0;
                while (i < c.length) {
                    if (isLineBreak(c[i])) {
                        int eol = i + ((c[i] == '\r' && i + 1 < c.length && c[i + 1] == '\n') ? 2 : 1);
                        out.add(Py.fromCps(c, startLine, keep ? eol : i));
                        startLine = eol;
                        i = eol;
                    } else {
                        i++;
                    }
                }
                if (startLine < c.length) {
                    out.add(Py.fromCps(c, startLine, c.length));
                }
                return out;
            }
            case "upper" -> {
                a.max(0);
                return s.toUpperCase(java.util.Locale.ROOT);
            }
            case "lower" -> {
                a.max(0);
                return s.toLowerCase(java.util.Locale.ROOT);
            }
            case "casefold" -> {
                a.max(0);
                return s.toUpperCase(java.util.Locale.ROOT).toLowerCase(java.util.Locale.ROOT);
            }
            case "capitalize" -> {
                a.max(0);
                return capitalize(s);
            }
            case "title" -> {
                a.max(0);
                return title(s);
            }
            case "swapcase" -> {
                a.max(0);
                StringBuilder sb = new StringBuilder();
                s.codePoints()
                        .forEach(cp -> sb.append(
                                Character.isUpperCase(cp)
                                        ? new String(Character.toChars(cp)).toLowerCase(java.util.Locale.ROOT)
                                        : Character.isLowerCase(cp)
                                                ? new String(Character.toChars(cp)).toUpperCase(java.util.Locale.ROOT)
                                                : new String(Character.toChars(cp))));
                return sb.toString();
            }
            case "replace" -> {
                a.max(3, "count");
                String old = needStr(a.required(0, null), name);
                String neu = needStr(a.required(1, null), name);
                Long count = optInt(a.get(2, "count", MISSING), name);
                return replace(s, old, neu, count == null ? -1 : count);
            }
            case "find", "rfind", "index", "rindex", "count" -> {
                a.max(3);
                String sub = needStr(a.required(0, null), name);
                Long start = optIndex(a.get(1, null, MISSING), name);
                Long end = optIndex(a.get(2, null, MISSING), name);
                int[] c = Py.cps(s);
                int lo = (int) normBound(start, c.length, 0);
                int hi = (int) normBound(end, c.length, c.length);
                if (name.equals("count")) {
                    if (lo > hi) {
                        return 0L;
                    }
                    String region = Py.fromCps(c, lo, hi);
                    if (sub.isEmpty()) {
                        return (long) region.codePointCount(0, region.length()) + 1;
                    }
                    long n = 0;
                    int from = 0;
                    while ((from = region.indexOf(sub, from)) >= 0) {
                        n++;
                        from += sub.length();
                    }
                    return n;
                }
                long found = -1;
                if (lo <= hi) {
                    String region = Py.fromCps(c, lo, hi);
                    int at = name.startsWith("r") ? region.lastIndexOf(sub) : region.indexOf(sub);
                    if (at >= 0) {
                        found = lo + region.codePointCount(0, at);
                    }
                }
                if (found < 0 && name.contains("index")) {
                    throw new PyError("ValueError", "substring not found");
                }
                return found;
            }
            case "join" -> {
                a.max(1);
                List<Object> items = Py.iterate(a.required(0, null));
                long total = (long) s.length() * Math.max(0, items.size() - 1);
                for (int i = 0; i < items.size(); i++) {
                    Object o = items.get(i);
                    if (!(o instanceof String || o instanceof SafeString)) {
                        throw new PyError(
                                "TypeError",
                                "sequence item " + i + ": expected str instance, " + Py.typeName(o) + " found");
                    }
                    total += o.toString().length();
                }
                StringBuilder sb = new StringBuilder(RenderBudget.size(total, "str.join"));
                for (int i = 0; i < items.size(); i++) {
                    if (i > 0) {
                        sb.append(s);
                    }
                    sb.append(items.get(i));
                }
                return sb.toString();
            }
            case "isdigit",
                    "isdecimal",
                    "isnumeric",
                    "isalpha",
                    "isalnum",
                    "isspace",
                    "islower",
                    "isupper",
                    "istitle" -> {
                a.max(0);
                return isPredicate(s, name);
            }
            case "zfill" -> {
                a.max(1);
                long width = needInt(a.required(0, null), name);
                int n = s.codePointCount(0, s.length());
                if (width <= n) {
                    return s;
                }
                RenderBudget.size(width - n + s.length(), "str.zfill(" + width + ")");
                String pad = "0".repeat((int) (width - n));
                if (!s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-')) {
                    return s.charAt(0) + pad + s.substring(1);
                }
                return pad + s;
            }
            case "center", "ljust", "rjust" -> {
                a.max(2);
                long width = needInt(a.required(0, null), name);
                Object fillArg = a.get(1, null, " ");
                String fill = needStr(fillArg, name);
                if (fill.codePointCount(0, fill.length()) != 1) {
                    throw new PyError("TypeError", "The fill character must be exactly one character long");
                }
                int n = s.codePointCount(0, s.length());
                if (width <= n) {
                    return s;
                }
                RenderBudget.size(width, "str." + name + "(" + width + ")");
                RenderBudget.size(s.length() + (width - n) * fill.length(), "str." + name + "(" + width + ")");
                int total = (int) (width - n);
                int left = switch (name) {
                    case "ljust" -> 0;
                    case "rjust" -> total;
                    default -> total / 2 + (total & (int) width & 1);
                };
                return fill.repeat(left) + s + fill.repeat(total - left);
            }
            case "removeprefix" -> {
                a.max(1);
                String p = needStr(a.required(0, null), name);
                return s.startsWith(p) ? s.substring(p.length()) : s;
            }
            case "removesuffix" -> {
                a.max(1);
                String p = needStr(a.required(0, null), name);
                return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s;
            }
            case "partition", "rpartition" -> {
                a.max(1);
                String p = needStr(a.required(0, null), name);
                if (p.isEmpty()) {
                    throw new PyError("ValueError", "empty separator");
                }
                int at = name.equals("partition") ? s.indexOf(p) : s.lastIndexOf(p);
                if (at < 0) {
                    return name.equals("partition") ? PyTuple.of(s, "", "") : PyTuple.of("", "", s);
                }
                return PyTuple.of(s.substring(0, at), p, s.substring(at + p.length()));
            }
            case "format" -> {
                return PyFormat.format(s, a.pos, a.kw);
            }
            default -> throw PyError.noAttribute(s, name);
        }
    }

    private static long normBound(Long v, int len, int dflt) {
        if (v == null) {
            return dflt;
        }
        long x = v;
        if (x < 0) {
            x = Math.max(0, x + len);
        }
        return Math.min(x, len);
    }

    private static boolean stripChar(int cp, boolean ws, String chars) {
        return ws ? isSpace(cp) : chars.codePoints().anyMatch(x -> x == cp);
    }

    private static List<Object> splitWhitespace(String s, long max, boolean fromRight) {
        int[] c = Py.cps(s);
        List<int[]> spans = new ArrayList<>();
        int i = 0;
        while (i < c.length) {
            while (i < c.length && isSpace(c[i])) {
                i++;
            }
            if (i >= c.length) {
                break;
            }
            int st = i;
            while (i < c.length && !isSpace(c[i])) {
                i++;
            }
            spans.add(new int[] {st, i});
        }
        List<Object> out = new ArrayList<>();
        if (max < 0 || spans.size() <= max + 1) {
            for (int[] sp : spans) {
                out.add(Py.fromCps(c, sp[0], sp[1]));
            }
            return out;
        }
        int m = (int) max;
        if (!fromRight) {
            for (int k = 0; k < m; k++) {
                out.add(Py.fromCps(c, spans.get(k)[0], spans.get(k)[1]));
            }
            // the remainder starts at the next word and keeps its trailing whitespace
            out.add(Py.fromCps(c, spans.get(m)[0], c.length));
        } else {
            int n = spans.size();
            // the remainder ends at the last word kept whole and keeps its leading whitespace
            out.add(Py.fromCps(c, 0, spans.get(n - m - 1)[1]));
            for (int k = n - m; k < n; k++) {
                out.add(Py.fromCps(c, spans.get(k)[0], spans.get(k)[1]));
            }
        }
        return out;
    }

    private static List<Object> splitSep(String s, String sep, long max) {
        List<Object> out = new ArrayList<>();
        int from = 0;
        int at;
        while ((max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<Object> rsplitSep(String s, String sep, long max) {
        List<Object> out = new ArrayList<>();
        int end = s.length();
        int at;
        while ((max < 0 || out.size() < max) && end >= 0 && (at = s.lastIndexOf(sep, end - sep.length())) >= 0) {
            out.add(0, s.substring(at + sep.length(), end));
            end = at;
        }
        out.add(0, s.substring(0, end));
        return out;
    }

    private static String replace(String s, String old, String neu, long count) {
        if (count < 0) {
            count = Long.MAX_VALUE;
        }
        if (old.isEmpty()) {
            int[] c = Py.cps(s);
            long inserts = Math.min(count, c.length + 1L);
            StringBuilder sb = new StringBuilder(RenderBudget.size(s.length() + inserts * neu.length(), "str.replace"));
            long done = 0;
            for (int i = 0; i <= c.length; i++) {
                if (done < count) {
                    sb.append(neu);
                    done++;
                }
                if (i < c.length) {
                    sb.appendCodePoint(c[i]);
                }
            }
            return sb.toString();
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        long done = 0;
        int at;
        while (done < count && (at = s.indexOf(old, from)) >= 0) {
            sb.append(s, from, at).append(neu);
            from = at + old.length();
            done++;
            if (neu.length() > old.length()) {
                RenderBudget.size(sb.length() + (long) s.length() - from, "str.replace");
            }
        }
        sb.append(s.substring(from));
        return sb.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        int n = Character.charCount(first);
        return titleCase(first) + s.substring(n).toLowerCase(java.util.Locale.ROOT);
    }

    static String titleCase(int cp) {
        int t = Character.toTitleCase(cp);
        if (t != cp || !Character.isLowerCase(cp)) {
            return new String(Character.toChars(t));
        }
        String up = new String(Character.toChars(cp)).toUpperCase(java.util.Locale.ROOT);
        int first = up.codePointAt(0);
        int n = Character.charCount(first);
        return up.substring(0, n) + up.substring(n).toLowerCase(java.util.Locale.ROOT);
    }

    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            boolean cased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
            if (cased) {
                sb.append(
                        prevCased
                                ? new String(Character.toChars(cp)).toLowerCase(java.util.Locale.ROOT)
                                : titleCase(cp));
            } else {
                sb.appendCodePoint(cp);
            }
            prevCased = cased;
        }
        return sb.toString();
    }

    private static boolean isPredicate(String s, String name) {
        if (s.isEmpty()) {
            return false;
        }
        int[] c = Py.cps(s);
        switch (name) {
            case "islower", "isupper" -> {
                boolean anyCased = false;
                for (int cp : c) {
                    if (Character.isUpperCase(cp) || Character.isTitleCase(cp)) {
                        if (name.equals("islower")) {
                            return false;
                        }
                        anyCased = true;
                    } else if (Character.isLowerCase(cp)) {
                        if (name.equals("isupper")) {
                            return false;
                        }
                        anyCased = true;
                    }
                }
                return anyCased;
            }
            case "istitle" -> {
                return title(s).equals(s)
                        && !s.toLowerCase(java.util.Locale.ROOT).equals(s.toUpperCase(java.util.Locale.ROOT));
            }
            default -> {
                for (int cp : c) {
                    boolean ok = switch (name) {
                        case "isdigit" -> Character.isDigit(cp) || Character.getType(cp) == Character.OTHER_NUMBER;
                        case "isdecimal" -> Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER;
                        case "isnumeric" ->
                            Character.isDigit(cp)
                                    || Character.getType(cp) == Character.OTHER_NUMBER
                                    || Character.getType(cp) == Character.LETTER_NUMBER;
                        case "isalpha" -> Character.isLetter(cp);
                        case "isalnum" ->
                            Character.isLetterOrDigit(cp)
                                    || Character.getType(cp) == Character.OTHER_NUMBER
                                    || Character.getType(cp) == Character.LETTER_NUMBER;
                        case "isspace" -> isSpace(cp);
                        default -> false;
                    };
                    if (!ok) {
                        return false;
                    }
                }
                return true;
            }
        }
    }

    // ------------------------------------------------------------------ dict

    private static Object dict(Map<?, ?> m, String name, Args a) {
        if (MUTATING_DICT.contains(name)) {
            throw new PyError("SecurityError", "access to attribute '" + name + "' of 'dict' object is unsafe.");
        }
        switch (name) {
            case "items" -> {
                a.max(0);
                List<Object> out = new ArrayList<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    out.add(PyTuple.of(e.getKey(), e.getValue() == null ? Py.NONE : e.getValue()));
                }
                return out;
            }
            case "keys" -> {
                a.max(0);
                return new ArrayList<Object>(m.keySet());
            }
            case "values" -> {
                a.max(0);
                return new ArrayList<Object>(m.values());
            }
            case "get" -> {
                a.max(2);
                Object key = a.required(0, null);
                Object dflt = a.get(1, null, Py.NONE);
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (Py.eq(e.getKey(), key)) {
                        return e.getValue();
                    }
                }
                return dflt;
            }
            case "copy" -> {
                a.max(0);
                return new LinkedHashMap<Object, Object>(m);
            }
            default -> throw PyError.noAttribute(m, name);
        }
    }

    // ------------------------------------------------------------------ list

    private static Object list(List<?> l, String name, Args a) {
        if (MUTATING_LIST.contains(name)) {
            throw new PyError("SecurityError", "access to attribute '" + name + "' of 'list' object is unsafe.");
        }
        switch (name) {
            case "index" -> {
                a.max(1);
                Object x = a.required(0, null);
                for (int i = 0; i < l.size(); i++) {
                    if (Py.eq(l.get(i), x)) {
                        return (long) i;
                    }
                }
                throw new PyError("ValueError", Py.repr(x) + " is not in list");
            }
            case "count" -> {
                a.max(1);
                Object x = a.required(0, null);
                long n = 0;
                for (Object o : l) {
                    if (Py.eq(o, x)) {
                        n++;
                    }
                }
                return n;
            }
            case "copy" -> {
                a.max(0);
                return new ArrayList<Object>(l);
            }
            default -> throw PyError.noAttribute(l, name);
        }
    }
}
