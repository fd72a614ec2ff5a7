package org.align4j.tokenizer.jinja;

import java.util.List;
import java.util.Map;

/**
 * Python's {@code str.format} and {@code str % args} for the common cases templates use: replacement
 * fields {@code {}} {@code {0}} {@code {name}} with optional {@code !s}/{@code !r}, and the
 * conversions {@code %s %r %d %i %%}. Anything else (format specs, widths) raises an error rather
 * than rendering something different from Python.
 */
final class PyFormat {

    private PyFormat() {}

    static String format(String fmt, List<Object> args, Map<String, Object> kwargs) {
        StringBuilder out = new StringBuilder();
        int auto = 0;
        int i = 0;
        while (i < fmt.length()) {
            char c = fmt.charAt(i);
            if (c == '{') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '{') {
                    out.append('{');
                    i += 2;
                    continue;
                }
                int close = fmt.indexOf('}', i);
                if (close < 0) {
                    throw new PyError("ValueError", "Single '{' encountered in format string");
                }
                String field = fmt.substring(i + 1, close);
                String conv = null;
                int colon = field.indexOf(':');
                if (colon >= 0) {
                    if (colon != field.length() - 1) {
                        throw new PyError(
                                "NotImplementedError",
                                "format spec '" + field.substring(colon + 1) + "' in str.format is not supported");
                    }
                    field = field.substring(0, colon);
                }
                int bang = field.indexOf('!');
                if (bang >= 0) {
                    conv = field.substring(bang + 1);
                    field = field.substring(0, bang);
                }
                Object v;
                if (field.isEmpty()) {
                    if (auto >= args.size()) {
                        throw new PyError("IndexError", "Replacement index " + auto + " out of range");
                    }
                    v = args.get(auto++);
                } else if (field.chars().allMatch(c2 -> c2 >= '0' && c2 <= '9')) {
                    if (field.length() > 18) {
                        throw new PyError("ValueError", "Too many decimal digits in format string");
                    }
                    long k = Long.parseLong(field);
                    if (k >= args.size()) {
                        throw new PyError("IndexError", "Replacement index " + k + " out of range");
                    }
                    v = args.get((int) k);
                } else if (kwargs.containsKey(field)) {
                    v = kwargs.get(field);
                } else {
                    throw new PyError("KeyError", "'" + field + "'");
                }
                if (conv == null || conv.equals("s")) {
                    out.append(Py.str(v));
                } else if (conv.equals("r")) {
                    out.append(Py.repr(v));
                } else {
                    throw new PyError("ValueError", "Unknown conversion specifier " + conv);
                }
                RenderBudget.size(out.length(), "str.format");
                i = close + 1;
            } else if (c == '}') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '}') {
                    out.append('}');
                    i += 2;
                    continue;
                }
                throw new PyError("ValueError", "Single '}' encountered in format string");
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** {@code fmt % args}: args is a list (tuple) or a single value. */
    static String percent(String fmt, Object arg) {
        List<Object> args = arg instanceof PyTuple t ? new java.util.ArrayList<>(t) : null;
        StringBuilder out = new StringBuilder();
        int k = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 1 >= fmt.length()) {
                throw new PyError("ValueError", "incomplete format");
            }
            char t = fmt.charAt(++i);
            if (t == '%') {
                out.append('%');
                continue;
            }
            Object v;
            if (args == null) {
                if (k > 0) {
                    throw new PyError("TypeError", "not enough arguments for format string");
                }
                v = arg;
            } else {
                if (k >= args.size()) {
                    throw new PyError("TypeError", "not enough arguments for format string");
                }
                v = args.get(k);
            }
            k++;
            RenderBudget.size(out.length(), "the '%' operator");
            switch (t) {
                case 's' -> out.append(Py.str(v));
                case 'r' -> out.append(Py.repr(v));
                case 'd', 'i' -> {
                    if (!Py.isNumeric(v)) {
                        throw new PyError(
                                "TypeError", "%" + t + " format: a real number is required, not " + Py.typeName(v));
                    }
                    out.append(
                            Py.isInt(v) || v instanceof Boolean
                                    ? Py.bigInt(v).toString()
                                    : PyOps.truncToInt(Py.toDouble(v)).toString());
                }
                default ->
                    throw new PyError("NotImplementedError", "'%" + t + "' in string % formatting is not supported");
            }
        }
        int used = args == null ? 1 : args.size();
        if (k < used) {
            throw new PyError("TypeError", "not all arguments converted during string formatting");
        }
        RenderBudget.size(out.length(), "the '%' operator");
        return out.toString();
    }
}
