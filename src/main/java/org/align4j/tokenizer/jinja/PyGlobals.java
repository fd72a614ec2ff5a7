package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.Namespace;
import java.math.BigInteger;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The global functions a chat template can call: jinja2's {@code range}, {@code dict},
 * {@code namespace}, and transformers' {@code raise_exception} and {@code strftime_now}.
 */
final class PyGlobals {

    private PyGlobals() {}

    /** Marker for context entries that name a global function. */
    interface Global {}

    /** The clock strftime_now reads; tests may replace it. */
    static volatile Supplier<ZonedDateTime> clock = ZonedDateTime::now;

    /** Raised by the template's {@code raise_exception(msg)}. */
    static final class TemplateRaised extends PyError {

        private static final long serialVersionUID = 1L;

        TemplateRaised(String message) {
            super("TemplateError", message);
        }
    }

    static Object call(String name, List<Object> args, Map<String, Object> kwargs) {
        switch (name) {
            case "raise_exception" -> {
                Object msg = args.isEmpty() ? kwargs.get("message") : args.get(0);
                throw new TemplateRaised(msg == null ? "raise_exception() called" : Py.str(msg));
            }
            case "strftime_now" -> {
                if (args.size() != 1 || !kwargs.isEmpty()) {
                    throw new PyError("TypeError", "strftime_now() takes exactly one argument (the format)");
                }
                return strftime(clock.get(), Py.str(args.get(0)));
            }
            case "namespace" -> {
                Map<String, Object> init = new LinkedHashMap<>();
                for (Object a : args) {
                    if (a instanceof Map<?, ?> m) {
                        for (Map.Entry<?, ?> e : m.entrySet()) {
                            init.put(String.valueOf(e.getKey()), e.getValue());
                        }
                    } else {
                        throw new PyError("TypeError", "namespace() positional arguments must be dicts");
                    }
                }
                init.putAll(kwargs);
                Namespace ns = new Namespace(new LinkedHashMap<>());
                ns.putAll(init);
                return ns;
            }
            case "dict" -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (Object a : args) {
                    if (a instanceof Map<?, ?> m) {
                        out.putAll(m);
                    } else {
                        throw new PyError("TypeError", "dict() positional argument must be a dict");
                    }
                }
                out.putAll(kwargs);
                return out;
            }
            case "range" -> {
                if (!kwargs.isEmpty() || args.isEmpty() || args.size() > 3) {
                    throw new PyError("TypeError", "range expected 1 to 3 integer arguments");
                }
                BigInteger[] v = new BigInteger[args.size()];
                for (int i = 0; i < v.length; i++) {
                    Object a = args.get(i);
                    if (!(Py.isInt(a) || a instanceof Boolean)) {
                        throw new PyError(
                                "TypeError", "'" + Py.typeName(a) + "' object cannot be interpreted as an integer");
                    }
                    v[i] = Py.bigInt(a);
                }
                return range(
                        v.length == 1 ? BigInteger.ZERO : v[0],
                        v.length == 1 ? v[0] : v[1],
                        v.length == 3 ? v[2] : null);
            }
            default -> throw PyError.undefined("'" + name + "' is undefined (no function or macro by that name)");
        }
    }

    /** The sandbox's most items for one range, as jinja2's MAX_RANGE. */
    static final int MAX_RANGE = 100_000;

    /** Python's {@code range(start, stop, step)} as a list, exact for ints of any size. */
    private static List<Object> range(BigInteger start, BigInteger stop, BigInteger stepOrNull) {
        BigInteger step = stepOrNull == null ? BigInteger.ONE : stepOrNull;
        if (step.signum() == 0) {
            throw new PyError("ValueError", "range() arg 3 must not be zero");
        }
        // length = ceil((stop - start) / step) when positive
        BigInteger span = stop.subtract(start);
        BigInteger n = BigInteger.ZERO;
        if (span.signum() == step.signum()) {
            BigInteger[] qr = span.abs().divideAndRemainder(step.abs());
            n = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
        }
        if (n.compareTo(BigInteger.valueOf(MAX_RANGE)) > 0) {
            throw new PyError(
                    "OverflowError",
                    "Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
        }
        List<Object> out = new ArrayList<>(n.intValue());
        BigInteger x = start;
        for (int i = 0; i < n.intValue(); i++) {
            out.add(Py.normInt(x));
            x = x.add(step);
        }
        return out;
    }

    /** Python's {@code datetime.strftime} for the C-locale directives. */
    static String strftime(ZonedDateTime t, String fmt) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            RenderBudget.size(sb.length(), "strftime_now");
            char d = fmt.charAt(++i);
            switch (d) {
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'Y' -> sb.append(t.getYear());
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'f' -> sb.append(String.format("%06d", t.getNano() / 1000));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case 'z' -> {
                    int secs = t.getOffset().getTotalSeconds();
                    sb.append(secs < 0 ? '-' : '+');
                    secs = Math.abs(secs);
                    sb.append(String.format("%02d%02d", secs / 3600, (secs / 60) % 60));
                }
                case 'Z' -> sb.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case '-' -> {
                    // glibc's %-d / %-m etc. (no padding)
                    if (i + 1 < fmt.length()) {
                        char e = fmt.charAt(++i);
                        switch (e) {
                            case 'd' -> sb.append(t.getDayOfMonth());
                            case 'm' -> sb.append(t.getMonthValue());
                            case 'H' -> sb.append(t.getHour());
                            case 'I' -> sb.append((t.getHour() + 11) % 12 + 1);
                            case 'M' -> sb.append(t.getMinute());
                            case 'S' -> sb.append(t.getSecond());
                            case 'j' -> sb.append(t.getDayOfYear());
                            default -> throw new PyError("ValueError", "unsupported strftime directive %-" + e);
                        }
                    }
                }
                case 'x' ->
                    sb.append(String.format("%02d/%02d/%02d", t.getMonthValue(), t.getDayOfMonth(), t.getYear() % 100));
                case 'X' -> sb.append(String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond()));
                case 'c' -> sb.append(strftime(t, "%a %b %e %H:%M:%S %Y"));
                case 'D' -> sb.append(strftime(t, "%m/%d/%y"));
                case 'F' -> sb.append(strftime(t, "%Y-%m-%d"));
                case 'T' -> sb.append(strftime(t, "%H:%M:%S"));
                case 'R' -> sb.append(strftime(t, "%H:%M"));
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case '%' -> sb.append('%');
                default -> throw new PyError("ValueError", "unsupported strftime directive %" + d);
            }
        }
        return sb.toString();
    }
}
