package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps(x, ensure_ascii, indent, separators, sort_keys)}, byte for byte: the
 * {@code tojson} filter transformers installs for chat templates.
 */
public final class PyJson {

    private PyJson() {}

    /**
     * @param indent null for one line; otherwise an int (spaces) or a string (the indent unit)
     * @param separators null for the default ({@code ", "} and {@code ": "}, or {@code ","} and
     *     {@code ": "} with an indent), else a two-element list
     */
    public static String dumps(Object value, boolean ensureAscii, Object indent, Object separators, boolean sortKeys) {
        String indentUnit = null;
        if (indent != null && indent != Py.NONE) {
            if (indent instanceof String s) {
                indentUnit = s;
            } else if (Py.isInt(indent)) {
                indentUnit =
                        " ".repeat(RenderBudget.repeat(1, Py.bigInt(indent), "tojson(indent=" + indent + ")", false));
            } else {
                throw new PyError("TypeError", "tojson indent must be an int or a string, not " + Py.typeName(indent));
            }
        }
        String itemSep = indentUnit == null ? ", " : ",";
        String keySep = ": ";
        if (separators != null && separators != Py.NONE) {
            if (!(separators instanceof List<?> l)
                    || l.size() != 2
                    || !(l.get(0) instanceof String)
                    || !(l.get(1) instanceof String)) {
                throw new PyError("TypeError", "tojson separators must be a pair of strings");
            }
            itemSep = (String) l.get(0);
            keySep = (String) l.get(1);
        }
        StringBuilder sb = new StringBuilder();
        new Writer(ensureAscii, indentUnit, itemSep, keySep, sortKeys, sb).write(value, 0);
        return sb.toString();
    }

    private record Writer(
            boolean ensureAscii, String indent, String itemSep, String keySep, boolean sortKeys, StringBuilder sb) {
        void newline(int level) {
            if (indent != null) {
                RenderBudget.size(sb.length() + 1 + (long) indent.length() * level, "the tojson filter");
                sb.append('\n');
                sb.append(indent.repeat(level));
            }
        }

        void write(Object v, int level) {
            if (level > 500) {
                throw new PyError("RecursionError", "maximum recursion depth exceeded while encoding JSON");
            }
            // shared sublists can make the text exponentially longer than the value
            RenderBudget.size(sb.length(), "the tojson filter");
            RenderBudget.tick();
            if (v == null) {
                throw PyError.undefined("an undefined value cannot be serialized with tojson");
            }
            if (v == Py.NONE) {
                sb.append("null");
            } else if (v instanceof Boolean b) {
                sb.append(b ? "true" : "false");
            } else if (Py.isInt(v)) {
                sb.append(v);
            } else if (Py.isFloat(v)) {
                double d = ((Number) v).doubleValue();
                if (Double.isNaN(d)) {
                    sb.append("NaN");
                } else if (Double.isInfinite(d)) {
                    sb.append(d > 0 ? "Infinity" : "-Infinity");
                } else {
                    sb.append(Py.floatRepr(d));
                }
            } else if (v instanceof String || v instanceof SafeString) {
                string(v.toString());
            } else if (v instanceof Namespace) {
                throw new PyError("TypeError", "Object of type Namespace is not JSON serializable");
            } else if (v instanceof Map<?, ?> m) {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                List<String> keys = new ArrayList<>();
                for (Map.Entry<?, ?> e : entries) {
                    keys.add(key(e.getKey()));
                }
                Integer[] order = new Integer[entries.size()];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                if (sortKeys) {
                    java.util.Arrays.sort(order, (a, b) -> Py.compareCodePoints(keys.get(a), keys.get(b)));
                }
                sb.append('{');
                boolean first = true;
                for (int i : order) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    newline(level + 1);
                    string(keys.get(i));
                    sb.append(keySep);
                    write(
                            entries.get(i).getValue() == null
                                    ? Py.NONE
                                    : entries.get(i).getValue(),
                            level + 1);
                }
                newline(level);
                sb.append('}');
            } else if (v instanceof Collection<?> c) {
                if (c.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                for (Object o : c) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    newline(level + 1);
                    write(o, level + 1);
                }
                newline(level);
                sb.append(']');
            } else if (v.getClass().isArray()) {
                write(Py.toPython(v), level);
            } else {
                throw new PyError("TypeError", "Object of type " + Py.typeName(v) + " is not JSON serializable");
            }
        }

        String key(Object k) {
            if (k instanceof String || k instanceof SafeString) {
                return k.toString();
            }
            if (k == Py.NONE) {
                return "null";
            }
            if (k instanceof Boolean b) {
                return b ? "true" : "false";
            }
            if (Py.isInt(k)) {
                return k.toString();
            }
            if (Py.isFloat(k)) {
                return Py.floatRepr(((Number) k).doubleValue());
            }
            throw new PyError("TypeError", "keys must be str, int, float, bool or None, not " + Py.typeName(k));
        }

        void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }
}
