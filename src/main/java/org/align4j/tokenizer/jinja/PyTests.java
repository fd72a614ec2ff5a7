package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.lib.fn.MacroFunction;
import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** jinja2's built-in tests ({@code x is defined}, {@code x is string}, ...), Python semantics. */
final class PyTests {

    private PyTests() {}

    static final Set<String> NAMES = Set.of(
            "defined",
            "undefined",
            "none",
            "string",
            "number",
            "integer",
            "float",
            "boolean",
            "true",
            "false",
            "mapping",
            "iterable",
            "sequence",
            "callable",
            "odd",
            "even",
            "divisibleby",
            "eq",
            "equalto",
            "==",
            "ne",
            "!=",
            "lt",
            "lessthan",
            "<",
            "le",
            "<=",
            "gt",
            "greaterthan",
            ">",
            "ge",
            ">=",
            "in",
            "lower",
            "upper",
            "sameas",
            "escaped",
            "filter",
            "test");

    static boolean test(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        v = PyOps.unwrap(v);
        if (!kwargs.isEmpty()) {
            throw new PyError("TypeError", "test '" + name + "' takes no keyword arguments");
        }
        switch (name) {
            case "defined" -> {
                return v != null;
            }
            case "undefined" -> {
                return v == null;
            }
            case "none" -> {
                return v == Py.NONE;
            }
            case "string" -> {
                return v instanceof String;
            }
            case "number" -> {
                return Py.isNumeric(v);
            }
            case "integer" -> {
                return Py.isInt(v);
            }
            case "float" -> {
                return Py.isFloat(v);
            }
            case "boolean" -> {
                return v instanceof Boolean;
            }
            case "true" -> {
                return Boolean.TRUE.equals(v);
            }
            case "false" -> {
                return Boolean.FALSE.equals(v);
            }
            case "mapping" -> {
                return v instanceof Map && !(v instanceof Namespace);
            }
            case "iterable" -> {
                return v instanceof String
                        || v instanceof Collection
                        || v instanceof Map
                        || (v != null && v.getClass().isArray())
                        || v == null;
            }
            case "sequence" -> {
                return v instanceof String
                        || v instanceof Collection
                        || (v instanceof Map && !(v instanceof Namespace))
                        || (v != null && v.getClass().isArray())
                        || v == null;
            }
            case "callable" -> {
                return v instanceof PyAst.BoundMethod || v instanceof MacroFunction;
            }
            case "odd", "even" -> {
                if (!(Py.isInt(v) || v instanceof Boolean)) {
                    throw new PyError("TypeError", "test '" + name + "' needs an integer, not " + Py.typeName(v));
                }
                boolean odd = Py.bigInt(v).testBit(0);
                return name.equals("odd") == odd;
            }
            case "divisibleby" -> {
                Object n = arg(name, args);
                return Py.eq(((PyOps.Strict) PyOps.MOD).apply(v, n), 0L);
            }
            case "eq", "equalto", "==" -> {
                return Py.eq(v, arg(name, args));
            }
            case "ne", "!=" -> {
                return !Py.eq(v, arg(name, args));
            }
            case "lt", "lessthan", "<" -> {
                return Py.compare(v, arg(name, args), "<") == -1;
            }
            case "le", "<=" -> {
                int c = Py.compare(v, arg(name, args), "<=");
                return c == -1 || c == 0;
            }
            case "gt", "greaterthan", ">" -> {
                return Py.compare(v, arg(name, args), ">") == 1;
            }
            case "ge", ">=" -> {
                int c = Py.compare(v, arg(name, args), ">=");
                return c == 1 || c == 0;
            }
            case "in" -> {
                return Py.contains(arg(name, args), v);
            }
            case "lower" -> {
                String s = Py.str(v);
                return s.toLowerCase(java.util.Locale.ROOT).equals(s);
            }
            case "upper" -> {
                String s = Py.str(v);
                return s.toUpperCase(java.util.Locale.ROOT).equals(s);
            }
            case "sameas" -> {
                Object o = PyOps.unwrap(arg(name, args));
                if (v == Py.NONE || o == Py.NONE || v instanceof Boolean || o instanceof Boolean) {
                    return v == o;
                }
                return v == o;
            }
            case "escaped" -> {
                return v instanceof SafeString;
            }
            case "filter" -> {
                return PyFilters.NAMES.contains(Py.str(v));
            }
            case "test" -> {
                return NAMES.contains(Py.str(v));
            }
            default -> throw new PyError("TemplateAssertionError", "No test named '" + name + "'.");
        }
    }

    private static Object arg(String name, List<Object> args) {
        if (args.size() != 1) {
            throw new PyError("TypeError", "test '" + name + "' takes exactly one argument");
        }
        return PyOps.unwrap(args.get(0));
    }
}
