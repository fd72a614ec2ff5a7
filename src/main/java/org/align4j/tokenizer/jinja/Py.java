package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.util.ForLoop;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The Python value model that templates see, and Python's semantics for it.
 *
 * <p>Inside the engine: {@code null} is jinja2's {@code Undefined} (a missing variable, key or
 * attribute), {@link #NONE} is Python's {@code None}, {@link Long} and {@link BigInteger} are
 * {@code int}, {@link Double} is {@code float}, {@link Boolean} is {@code bool}, {@link String} is
 * {@code str}, {@link List} is {@code list}/{@code tuple} and {@link Map} is {@code dict} (insertion
 * ordered). {@link #toPython(Object)} converts caller data into this model.
 */
public final class Py {

    private Py() {}

    /** Python's {@code None}. */
    public static final PyNone NONE = PyNone.NONE;

    // ------------------------------------------------------------------ conversion

    /** Deep-converts Java data (maps, lists, arrays, boxed numbers, null) into the template model. */
    public static Object toPython(Object v) {
        if (v == null || v == NONE) {
            return NONE;
        }
        if (v instanceof String
                || v instanceof Boolean
                || v instanceof Long
                || v instanceof Double
                || v instanceof PyTuple) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return Double.valueOf(Float.toString(f));
        }
        if (v instanceof BigInteger b) {
            return b.bitLength() < 64 ? (Object) b.longValue() : b;
        }
        if (v instanceof BigDecimal d) {
            return d.doubleValue();
        }
        if (v instanceof CharSequence cs) {
            return cs.toString();
        }
        if (v instanceof Character c) {
            return c.toString();
        }
        if (v instanceof Enum<?> e) {
            return e.name();
        }
        if (v instanceof Optional<?> o) {
            return toPython(o.orElse(null));
        }
        if (v instanceof OptionalInt o) {
            return o.isPresent() ? (Object) (long) o.getAsInt() : NONE;
        }
        if (v instanceof OptionalLong o) {
            return o.isPresent() ? (Object) o.getAsLong() : NONE;
        }
        if (v instanceof OptionalDouble o) {
            return o.isPresent() ? (Object) o.getAsDouble() : NONE;
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                Object k = e.getKey();
                out.put(k instanceof String ? k : toPython(k), toPython(e.getValue()));
            }
            return out;
        }
        if (v instanceof Iterable<?> it) {
            List<Object> out = new ArrayList<>();
            for (Object o : it) {
                out.add(toPython(o));
            }
            return out;
        }
        if (v.getClass().isArray()) {
            int n = java.lang.reflect.Array.getLength(v);
            List<Object> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(toPython(java.lang.reflect.Array.get(v, i)));
            }
            return out;
        }
        if (v instanceof com.fasterxml.jackson.databind.JsonNode n) {
            return toPython(JSON.convertValue(n, Object.class));
        }
        throw new PyError(
                "TypeError",
                "cannot pass a " + v.getClass().getName() + " to a chat template; use String, Number, Boolean, "
                        + "null, List or Map");
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    // ------------------------------------------------------------------ types

    public static boolean isUndefined(Object v) {
        return v == null;
    }

    public static boolean isInt(Object v) {
        return v instanceof Long
                || v instanceof Integer
                || v instanceof Short
                || v instanceof Byte
                || v instanceof BigInteger;
    }

    public static boolean isFloat(Object v) {
        return v instanceof Double || v instanceof Float || v instanceof BigDecimal;
    }

    /** int, float or bool (bool is an int subclass in Python). */
    public static boolean isNumeric(Object v) {
        return isInt(v) || isFloat(v) || v instanceof Boolean;
    }

    public static boolean isString(Object v) {
        return v instanceof String || v instanceof SafeString;
    }

    public static boolean isList(Object v) {
        return v instanceof List || (v != null && v.getClass().isArray());
    }

    public static boolean isMap(Object v) {
        return v instanceof Map && !(v instanceof Namespace);
    }

    public static String typeName(Object v) {
        if (v == null) {
            return "Undefined";
        }
        if (v == NONE) {
            return "NoneType";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (isInt(v)) {
            return "int";
        }
        if (isFloat(v)) {
            return "float";
        }
        if (isString(v)) {
            return "str";
        }
        if (v instanceof Namespace) {
            return "Namespace";
        }
        if (v instanceof Map) {
            return "dict";
        }
        if (v instanceof PyTuple) {
            return "tuple";
        }
        if (isList(v) || v instanceof Collection) {
            return "list";
        }
        if (v instanceof ForLoop) {
            return "LoopContext";
        }
        return v.getClass().getSimpleName();
    }

    // ------------------------------------------------------------------ numbers

    static BigInteger bigInt(Object v) {
        if (v instanceof BigInteger b) {
            return b;
        }
        if (v instanceof Boolean b) {
            return b ? BigInteger.ONE : BigInteger.ZERO;
        }
        return BigInteger.valueOf(((Number) v).longValue());
    }

    static Object normInt(BigInteger b) {
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    static double toDouble(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1.0 : 0.0;
        }
        return ((Number) v).doubleValue();
    }

    /** Python's float repr: shortest round-trip digits, exponent form outside 1e-4 &lt;= |x| &lt; 1e16. */
    public static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0.0) {
            return (1.0 / d < 0) ? "-0.0" : "0.0";
        }
        // Java's Double.toString gives the shortest digits that round-trip (JDK 19+), as Python does
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale(); // decimal exponent of the first digit
        StringBuilder sb = new StringBuilder();
        if (d < 0) {
            sb.append('-');
        }
        if (exp >= -4 && exp < 16) {
            if (exp < 0) {
                sb.append("0.");
                sb.append("0".repeat(-exp - 1));
                sb.append(digits);
            } else if (digits.length() <= exp + 1) {
                sb.append(digits);
                sb.append("0".repeat(exp + 1 - digits.length()));
                sb.append(".0");
            } else {
                sb.append(digits, 0, exp + 1).append('.').append(digits, exp + 1, digits.length());
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            sb.append('e').append(exp < 0 ? '-' : '+');
            int a = Math.abs(exp);
            if (a < 10) {
                sb.append('0');
            }
            sb.append(a);
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ truth, str, repr

    /** Python truthiness; undefined is false. */
    public static boolean truthy(Object v) {
        if (v == null || v == NONE) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        if (v instanceof SafeString s) {
            return !s.toString().isEmpty();
        }
        if (v instanceof BigInteger b) {
            return b.signum() != 0;
        }
        if (v instanceof Number n) {
            return n.doubleValue() != 0.0;
        }
        if (v instanceof Namespace) {
            return true;
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        if (v instanceof Collection<?> c) {
            return !c.isEmpty();
        }
        if (v.getClass().isArray()) {
            return java.lang.reflect.Array.getLength(v) != 0;
        }
        return true;
    }

    /** Python's {@code str(v)}; printing an undefined value is an error (stricter than jinja2). */
    public static String str(Object v) {
        if (v == null) {
            throw PyError.undefined("an undefined value cannot be printed or converted to a string");
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof SafeString s) {
            return s.toString();
        }
        return repr(v);
    }

    /** Python's {@code repr(v)}. */
    public static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(v, sb, 0);
        return sb.toString();
    }

    private static void repr(Object v, StringBuilder sb, int depth) {
        if (depth > 100) {
            throw new PyError("RecursionError", "maximum recursion depth exceeded in repr");
        }
        // shared sublists can make the text exponentially longer than the value
        RenderBudget.size(sb.length(), "printing a value");
        RenderBudget.tick();
        if (v == null) {
            throw PyError.undefined("an undefined value cannot be printed or converted to a string");
        }
        if (v == NONE) {
            sb.append("None");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (isInt(v)) {
            sb.append(v);
        } else if (isFloat(v)) {
            sb.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof String || v instanceof SafeString) {
            strRepr(v.toString(), sb);
        } else if (v instanceof Namespace) {
            sb.append("<Namespace ");
            reprDict((Map<?, ?>) v, sb, depth);
            sb.append('>');
        } else if (v instanceof Map<?, ?> m) {
            reprDict(m, sb, depth);
        } else if (v instanceof PyTuple t) {
            sb.append('(');
            for (int i = 0; i < t.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(t.get(i), sb, depth + 1);
            }
            sb.append(t.size() == 1 ? ",)" : ")");
        } else if (v instanceof Collection<?> c) {
            sb.append('[');
            boolean first = true;
            for (Object o : c) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(o, sb, depth + 1);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            repr(toPython(v), sb, depth);
        } else {
            throw new PyError("TypeError", "cannot convert a " + typeName(v) + " object to a string");
        }
    }

    private static void reprDict(Map<?, ?> m, StringBuilder sb, int depth) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!first) {
                sb.append(", ");
            }
            first = false;
            repr(e.getKey(), sb, depth + 1);
            sb.append(": ");
            repr(e.getValue(), sb, depth + 1);
        }
        sb.append('}');
    }

    private static void strRepr(String s, StringBuilder sb) {
        char q = (s.indexOf('\'') >= 0 && s.indexOf('"') < 0) ? '"' : '\'';
        sb.append(q);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            switch (cp) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (cp == q) {
                        sb.append('\\').append((char) cp);
                    } else if (cp < 0x20 || cp == 0x7f) {
                        sb.append(String.format("\\x%02x", cp));
                    } else if (!isPrintable(cp)) {
                        if (cp <= 0xff) {
                            sb.append(String.format("\\x%02x", cp));
                        } else if (cp <= 0xffff) {
                            sb.append(String.format("\\u%04x", cp));
                        } else {
                            sb.append(String.format("\\U%08x", cp));
                        }
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        }
        sb.append(q);
    }

    /** Python's str.isprintable for one code point (approximation via the Unicode category). */
    private static boolean isPrintable(int cp) {
        if (cp == ' ') {
            return true;
        }
        int t = Character.getType(cp);
        return switch (t) {
            case Character.CONTROL,
                    Character.FORMAT,
                    Character.SURROGATE,
                    Character.PRIVATE_USE,
                    Character.UNASSIGNED,
                    Character.LINE_SEPARATOR,
                    Character.PARAGRAPH_SEPARATOR,
                    Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    // ------------------------------------------------------------------ equality and ordering

    /** Python's {@code a == b}. Two undefined values are equal (as jinja2's Undefined). */
    public static boolean eq(Object a, Object b) {
        return eq(a, b, 0);
    }

    /** Lists nested deeper than this are not compared (Python: RecursionError near the same depth). */
    private static final int MAX_COMPARE_DEPTH = 500;

    private static void compareDepth(int depth) {
        if (depth > MAX_COMPARE_DEPTH) {
            throw new PyError(
                    "RecursionError",
                    "maximum recursion depth exceeded in comparison (values nested deeper than " + MAX_COMPARE_DEPTH
                            + ")");
        }
        RenderBudget.tick();
    }

    private static boolean eq(Object a, Object b, int depth) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (a instanceof SafeString) {
            a = a.toString();
        }
        if (b instanceof SafeString) {
            b = b.toString();
        }
        if (isNumeric(a) && isNumeric(b)) {
            return numCompare(a, b) == 0;
        }
        if (a instanceof String sa && b instanceof String sb) {
            return sa.equals(sb);
        }
        if (a instanceof Namespace || b instanceof Namespace) {
            return false;
        }
        if (a instanceof Map<?, ?> ma && b instanceof Map<?, ?> mb) {
            compareDepth(depth);
            if (ma.size() != mb.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : ma.entrySet()) {
                if (!mb.containsKey(e.getKey()) || !eq(e.getValue(), mb.get(e.getKey()), depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            compareDepth(depth);
            if ((a instanceof PyTuple) != (b instanceof PyTuple) || la.size() != lb.size()) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                if (!eq(la.get(i), lb.get(i), depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    static int numCompare(Object a, Object b) {
        if ((isInt(a) || a instanceof Boolean) && (isInt(b) || b instanceof Boolean)) {
            return bigInt(a).compareTo(bigInt(b));
        }
        double x = toDouble(a);
        double y = toDouble(b);
        if (Double.isNaN(x) || Double.isNaN(y)) {
            return 2; // unordered; callers treat any comparison as false
        }
        return Double.compare(x == 0.0 ? 0.0 : x, y == 0.0 ? 0.0 : y);
    }

    /** Python ordering ({@code <}); throws TypeError for unorderable types. Returns -1, 0, 1 or 2 (NaN). */
    public static int compare(Object a, Object b, String op) {
        return compare(a, b, op, 0);
    }

    private static int compare(Object a, Object b, String op, int depth) {
        if (a instanceof SafeString) {
            a = a.toString();
        }
        if (b instanceof SafeString) {
            b = b.toString();
        }
        if (isNumeric(a) && isNumeric(b)) {
            return numCompare(a, b);
        }
        if (a instanceof String sa && b instanceof String sb) {
            return Integer.signum(compareCodePoints(sa, sb));
        }
        if (a instanceof List<?> la && b instanceof List<?> lb) {
            compareDepth(depth);
            int n = Math.min(la.size(), lb.size());
            for (int i = 0; i < n; i++) {
                if (!eq(la.get(i), lb.get(i), depth + 1)) {
                    return compare(la.get(i), lb.get(i), op, depth + 1);
                }
            }
            return Integer.compare(la.size(), lb.size());
        }
        if (a == null || b == null) {
            throw PyError.undefined("an undefined value cannot be compared with '" + op + "'");
        }
        throw new PyError(
                "TypeError",
                "'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    // ------------------------------------------------------------------ sequences

    /** Python's {@code len(v)}. */
    public static long len(Object v) {
        if (v instanceof String || v instanceof SafeString) {
            String s = v.toString();
            return s.codePointCount(0, s.length());
        }
        if (v instanceof Namespace) {
            throw new PyError("TypeError", "object of type 'Namespace' has no len()");
        }
        if (v instanceof Map<?, ?> m) {
            return m.size();
        }
        if (v instanceof Collection<?> c) {
            return c.size();
        }
        if (v != null && v.getClass().isArray()) {
            return java.lang.reflect.Array.getLength(v);
        }
        if (v == null) {
            return 0; // jinja2: len(Undefined) == 0
        }
        throw new PyError("TypeError", "object of type '" + typeName(v) + "' has no len()");
    }

    /** Python's {@code iter(v)} as a list: characters of a string, keys of a dict, items of a list. */
    public static List<Object> iterate(Object v) {
        List<Object> out = new ArrayList<>();
        if (v == null) {
            return out; // iterating Undefined yields nothing
        }
        if (v instanceof String || v instanceof SafeString) {
            String s = v.toString();
            s.codePoints().forEach(cp -> out.add(cp < LATIN1.length ? LATIN1[cp] : new String(Character.toChars(cp))));
            return out;
        }
        if (v instanceof Namespace) {
            throw new PyError("TypeError", "'Namespace' object is not iterable");
        }
        if (v instanceof Map<?, ?> m) {
            out.addAll(m.keySet());
            return out;
        }
        if (v instanceof Collection<?> c) {
            out.addAll(c);
            return out;
        }
        if (v.getClass().isArray()) {
            int n = java.lang.reflect.Array.getLength(v);
            for (int i = 0; i < n; i++) {
                out.add(java.lang.reflect.Array.get(v, i));
            }
            return out;
        }
        if (v instanceof Iterator<?> it) {
            it.forEachRemaining(out::add);
            return out;
        }
        throw new PyError("TypeError", "'" + typeName(v) + "' object is not iterable");
    }

    /** One-character strings for U+0000..U+00FF, shared so that iterating a long string stays small. */
    private static final String[] LATIN1 = new String[256];

    static {
        for (int i = 0; i < LATIN1.length; i++) {
            LATIN1[i] = String.valueOf((char) i);
        }
    }

    /** Code points of a string as an int array. */
    static int[] cps(String s) {
        return s.codePoints().toArray();
    }

    static String fromCps(int[] cps, int from, int to) {
        return new String(cps, from, Math.max(0, to - from));
    }

    /** Python's {@code x in container}. */
    public static boolean contains(Object container, Object x) {
        if (container == null) {
            return false; // jinja2: iterating Undefined yields nothing
        }
        if (container instanceof String || container instanceof SafeString) {
            if (!(x instanceof String || x instanceof SafeString)) {
                throw new PyError("TypeError", "'in <string>' requires string as left operand, not " + typeName(x));
            }
            return container.toString().contains(x.toString());
        }
        if (container instanceof Namespace) {
            throw new PyError("TypeError", "argument of type 'Namespace' is not iterable");
        }
        if (container instanceof Map<?, ?> m) {
            for (Object k : m.keySet()) {
                if (eq(k, x)) {
                    return true;
                }
            }
            return false;
        }
        for (Object o : iterate(container)) {
            if (eq(o, x)) {
                return true;
            }
        }
        return false;
    }

    /** Python integer index normalization for {@code seq[i]}; returns -1 when out of range. */
    static int index(Object idx, int size) {
        long i;
        if (idx instanceof Boolean b) {
            i = b ? 1 : 0;
        } else if (idx instanceof BigInteger b) {
            if (b.bitLength() > 62) {
                return -1; // Python: IndexError, which jinja2 turns into undefined
            }
            i = b.longValue();
        } else if (isInt(idx)) {
            i = ((Number) idx).longValue();
        } else if (idx instanceof String s) {
            try {
                i = Long.parseLong(s);
            } catch (NumberFormatException e) {
                return -2;
            }
        } else {
            return -2;
        }
        if (i < 0) {
            i += size;
        }
        return (i < 0 || i >= size) ? -1 : (int) i;
    }

    /** Python slice {@code seq[start:stop:step]} on a list or string; null bounds mean "omitted". */
    public static Object slice(Object seq, Object start, Object stop, Object step) {
        long st = step == null || step == NONE ? 1 : sliceInt(step);
        if (st == 0) {
            throw new PyError("ValueError", "slice step cannot be zero");
        }
        if (seq instanceof String || seq instanceof SafeString) {
            int[] c = cps(seq.toString());
            int[] idx = sliceIndices(c.length, start, stop, st);
            StringBuilder sb = new StringBuilder();
            for (int i : idx) {
                sb.appendCodePoint(c[i]);
            }
            return sb.toString();
        }
        if (seq instanceof List<?> l) {
            int[] idx = sliceIndices(l.size(), start, stop, st);
            List<Object> out = new ArrayList<>(idx.length);
            for (int i : idx) {
                out.add(l.get(i));
            }
            return out;
        }
        if (seq == null) {
            throw PyError.undefined("an undefined value cannot be sliced");
        }
        if (seq instanceof Collection<?> || seq.getClass().isArray()) {
            return slice(iterate(seq), start, stop, step);
        }
        throw new PyError("TypeError", "'" + typeName(seq) + "' object is not subscriptable");
    }

    private static long sliceInt(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        if (v instanceof BigInteger b && b.bitLength() > 62) {
            return b.signum() > 0 ? Long.MAX_VALUE / 2 : Long.MIN_VALUE / 2; // Python clamps slice bounds
        }
        if (isInt(v)) {
            return ((Number) v).longValue();
        }
        throw new PyError("TypeError", "slice indices must be integers or None, not " + typeName(v));
    }

    private static int[] sliceIndices(int len, Object start, Object stop, long step) {
        long lo;
        long hi;
        if (step > 0) {
            lo = start == null || start == NONE ? 0 : clampStart(sliceInt(start), len, false);
            hi = stop == null || stop == NONE ? len : clampStart(sliceInt(stop), len, false);
            if (hi <= lo) {
                return new int[0];
            }
            int n = (int) ((hi - lo - 1) / step + 1); // no overflow for a step near Long.MAX_VALUE
            int[] out = new int[n];
            for (int k = 0; k < n; k++) {
                out[k] = (int) (lo + k * step);
            }
            return out;
        } else {
            lo = start == null || start == NONE ? len - 1 : clampStart(sliceInt(start), len, true);
            hi = stop == null || stop == NONE ? -1 : clampStart(sliceInt(stop), len, true);
            if (lo <= hi) {
                return new int[0];
            }
            long back = step == Long.MIN_VALUE ? Long.MAX_VALUE : -step;
            int n = (int) ((lo - hi - 1) / back + 1);
            int[] out = new int[n];
            for (int k = 0; k < n; k++) {
                out[k] = (int) (lo + k * step);
            }
            return out;
        }
    }

    private static long clampStart(long i, int len, boolean negativeStep) {
        if (i < 0) {
            i += len;
            if (i < 0) {
                return negativeStep ? -1 : 0;
            }
        } else if (i >= len) {
            return negativeStep ? len - 1 : len;
        }
        return i;
    }
}
