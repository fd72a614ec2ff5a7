package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ext.NamedParameter;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateSyntaxException;
import com.hubspot.jinjava.lib.fn.MacroFunction;
import com.hubspot.jinjava.objects.Namespace;
import com.hubspot.jinjava.objects.SafeString;
import com.hubspot.jinjava.util.ForLoop;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstMethod;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELException;

/** Expression tree nodes with jinja2's (Python's) evaluation rules. */
final class PyAst {

    private PyAst() {}

    static JinjavaInterpreter interpreter() {
        JinjavaInterpreter i = JinjavaInterpreter.getCurrent();
        if (i == null) {
            throw new IllegalStateException("no Jinjava interpreter is active");
        }
        return i;
    }

    /** Evaluates call arguments: positional values and NamedParameter for {@code name=value}. */
    static Object[] evalParams(AstParameters params, Bindings b, ELContext c) {
        if (params == null) {
            return new Object[0];
        }
        Object[] out = new Object[params.getCardinality()];
        for (int i = 0; i < out.length; i++) {
            Object v = params.getChild(i).eval(b, c);
            out[i] = v instanceof SafeString s ? s.toString() : v;
        }
        return out;
    }

    static List<Object> positional(Object[] params) {
        List<Object> out = new ArrayList<>();
        for (Object p : params) {
            if (!(p instanceof NamedParameter)) {
                out.add(p);
            }
        }
        return out;
    }

    static Map<String, Object> named(Object[] params) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Object p : params) {
            if (p instanceof NamedParameter np) {
                out.put(np.getName(), np.getValue());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ literals

    static final class Const extends AstRightValue {

        private final Object value;
        private final String text;

        Const(Object value, String text) {
            this.value = value;
            this.text = text;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context) {
            return value;
        }

        @Override
        public void appendStructure(StringBuilder b, Bindings bindings) {
            b.append(text);
        }

        @Override
        public int getCardinality() {
            return 0;
        }

        @Override
        public AstNode getChild(int i) {
            return null;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    static final class ListLit extends AstRightValue {

        private final List<AstNode> items;
        private final boolean tuple;

        ListLit(List<AstNode> items) {
            this(items, false);
        }

        ListLit(List<AstNode> items, boolean tuple) {
            this.items = items;
            this.tuple = tuple;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            List<Object> out = new ArrayList<>(items.size());
            for (AstNode n : items) {
                Object v = n.eval(b, c);
                out.add(v instanceof SafeString s ? s.toString() : v);
            }
            return tuple ? new PyTuple(out) : out;
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append("[...]");
        }

        @Override
        public int getCardinality() {
            return items.size();
        }

        @Override
        public AstNode getChild(int i) {
            return items.get(i);
        }

        @Override
        public String toString() {
            return "[...]";
        }
    }

    static final class DictLit extends AstRightValue {

        private final List<AstNode> keys;
        private final List<AstNode> values;

        DictLit(List<AstNode> keys, List<AstNode> values) {
            this.keys = keys;
            this.values = values;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) {
                Object k = OpsUnwrap.unwrap(keys.get(i).eval(b, c));
                if (k == null) {
                    throw PyError.undefined("an undefined value cannot be a dict key");
                }
                if (k instanceof Map || k instanceof List) {
                    throw new PyError("TypeError", "unhashable type: '" + Py.typeName(k) + "'");
                }
                Object existing = null;
                for (Object ek : out.keySet()) {
                    if (Py.eq(ek, k)) {
                        existing = ek;
                        break;
                    }
                }
                out.put(
                        existing != null ? existing : k,
                        OpsUnwrap.unwrap(values.get(i).eval(b, c)));
            }
            return out;
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append("{...}");
        }

        @Override
        public int getCardinality() {
            return keys.size();
        }

        @Override
        public AstNode getChild(int i) {
            return keys.get(i);
        }

        @Override
        public String toString() {
            return "{...}";
        }
    }

    static final class OpsUnwrap {

        static Object unwrap(Object v) {
            return v instanceof SafeString s ? s.toString() : v;
        }
    }

    // ------------------------------------------------------------------ access

    static final Set<String> DICT_ATTRS = Set.of(
            "items", "keys", "values", "get", "pop", "popitem", "update", "copy", "clear", "setdefault", "fromkeys");
    static final Set<String> LIST_ATTRS =
            Set.of("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "index", "count", "copy");
    static final Set<String> STR_ATTRS = Set.of(
            "startswith",
            "endswith",
            "strip",
            "lstrip",
            "rstrip",
            "split",
            "rsplit",
            "splitlines",
            "upper",
            "lower",
            "casefold",
            "capitalize",
            "title",
            "swapcase",
            "replace",
            "find",
            "rfind",
            "index",
            "rindex",
            "count",
            "join",
            "isdigit",
            "isdecimal",
            "isnumeric",
            "isalpha",
            "isalnum",
            "isspace",
            "islower",
            "isupper",
            "istitle",
            "zfill",
            "center",
            "ljust",
            "rjust",
            "removeprefix",
            "removesuffix",
            "partition",
            "rpartition",
            "format",
            "encode",
            "expandtabs",
            "format_map",
            "isascii",
            "isidentifier",
            "isprintable",
            "maketrans",
            "translate");

    /** A method looked up without being called ({@code d.items}); truthy, callable, not printable. */
    record BoundMethod(Object self, String name) {
        @Override
        public String toString() {
            throw new PyError(
                    "TypeError",
                    "cannot print the method '" + name + "' of a " + Py.typeName(self) + " object; call it");
        }
    }

    static boolean isPyValue(Object v) {
        return v instanceof String
                || v instanceof SafeString
                || v instanceof Map
                || v instanceof List
                || v == Py.NONE
                || v instanceof Number
                || v instanceof Boolean;
    }

    /** jinja2's {@code environment.getattr(obj, name)}: attribute first, then item; else undefined. */
    static Object getAttr(Object base, String name, ELContext context) {
        if (base instanceof SafeString) {
            base = base.toString();
        }
        if (base instanceof Namespace ns) {
            return ns.containsKey(name) ? ns.get(name) : null;
        }
        if (base instanceof Map<?, ?> m) {
            if (DICT_ATTRS.contains(name)) {
                return new BoundMethod(m, name);
            }
            return mapGet(m, name);
        }
        if (base instanceof String s) {
            return STR_ATTRS.contains(name) ? new BoundMethod(s, name) : null;
        }
        if (base instanceof List<?> l) {
            return LIST_ATTRS.contains(name) ? new BoundMethod(l, name) : null;
        }
        if (base instanceof Number || base instanceof Boolean || base == Py.NONE || base instanceof BoundMethod) {
            return null;
        }
        if (base instanceof ForLoop loop) {
            return switch (name) {
                case "index" -> (long) loop.getIndex();
                case "index0" -> (long) loop.getIndex0();
                case "revindex" -> (long) loop.getRevindex();
                case "revindex0" -> (long) loop.getRevindex0();
                case "first" -> loop.isFirst();
                case "last" -> loop.isLast();
                case "length" -> (long) loop.getLength();
                case "depth" -> (long) loop.getDepth();
                case "depth0" -> (long) loop.getDepth0();
                case "cycle" -> new BoundMethod(loop, name);
                default ->
                    throw new PyError(
                            "NotImplementedError", "loop." + name + " is not supported by align4j's template engine");
            };
        }
        // other engine objects (macros, caller): let Jinjava resolve
        if (context == null) {
            throw new PyError("TypeError", "cannot read attribute '" + name + "' of a " + Py.typeName(base));
        }
        context.setPropertyResolved(false);
        return context.getELResolver().getValue(context, base, name);
    }

    static Object mapGet(Map<?, ?> m, Object key) {
        if (key instanceof String && m.containsKey(key)) {
            Object v = m.get(key);
            return v == null ? Py.NONE : v;
        }
        if (!(key instanceof String)) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (Py.eq(e.getKey(), key)) {
                    return e.getValue() == null ? Py.NONE : e.getValue();
                }
            }
        }
        return null;
    }

    /** jinja2's {@code environment.getitem(obj, key)}: item first, then attribute; else undefined. */
    static Object getItem(Object base, Object key, ELContext context) {
        if (base instanceof SafeString) {
            base = base.toString();
        }
        key = OpsUnwrap.unwrap(key);
        if (key == null) {
            throw PyError.undefined("an undefined value cannot be used as an index or key");
        }
        if (base instanceof Map<?, ?> m && !(base instanceof Namespace)) {
            Object v = mapGet(m, key);
            if (v == null && key instanceof String s) {
                return getAttr(base, s, context);
            }
            return v;
        }
        if (base instanceof List<?> l) {
            if (key instanceof String s) {
                return getAttr(base, s, context);
            }
            int i = Py.index(key, l.size());
            if (i == -2) {
                throw new PyError("TypeError", "list indices must be integers or slices, not " + Py.typeName(key));
            }
            return i < 0 ? null : l.get(i);
        }
        if (base instanceof String s) {
            if (key instanceof String k) {
                return getAttr(base, k, context);
            }
            int[] cps = Py.cps(s);
            int i = Py.index(key, cps.length);
            if (i == -2) {
                throw new PyError("TypeError", "string indices must be integers, not " + Py.typeName(key));
            }
            return i < 0 ? null : new String(cps, i, 1);
        }
        if (key instanceof String k) {
            return getAttr(base, k, context);
        }
        return null;
    }

    static String describe(AstNode n) {
        String s = n.toString();
        return s.startsWith("'") || s.startsWith("\"") ? s : "'" + s + "'";
    }

    /** {@code prefix.name}. */
    static final class Dot extends AstDot {

        Dot(AstNode prefix, String name) {
            super(prefix, name, false);
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object base = prefix.eval(b, c);
            if (base == null) {
                throw PyError.undefined(describe(prefix) + " is undefined (reading its attribute '" + property + "')");
            }
            return getAttr(base, property, c);
        }

        String name() {
            return property;
        }

        @Override
        public String toString() {
            return prefix + "." + property;
        }

        AstNode target() {
            return prefix;
        }
    }

    /** {@code prefix[key]}. */
    static final class Bracket extends AstBracket {

        Bracket(AstNode prefix, AstNode key) {
            super(prefix, key, false, true);
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object base = prefix.eval(b, c);
            if (base == null) {
                throw PyError.undefined(describe(prefix) + " is undefined (indexing it)");
            }
            return getItem(base, property.eval(b, c), c);
        }

        @Override
        public String toString() {
            return prefix + "[" + property + "]";
        }
    }

    /** {@code prefix[start:stop:step]}. */
    static final class Slice extends AstRightValue {

        private final AstNode prefix;
        private final AstNode start;
        private final AstNode stop;
        private final AstNode step;

        Slice(AstNode prefix, AstNode start, AstNode stop, AstNode step) {
            this.prefix = prefix;
            this.start = start;
            this.stop = stop;
            this.step = step;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object base = OpsUnwrap.unwrap(prefix.eval(b, c));
            if (base == null) {
                throw PyError.undefined(describe(prefix) + " is undefined (slicing it)");
            }
            return RenderBudget.built(Py.slice(
                    base,
                    start == null ? null : OpsUnwrap.unwrap(start.eval(b, c)),
                    stop == null ? null : OpsUnwrap.unwrap(stop.eval(b, c)),
                    step == null ? null : OpsUnwrap.unwrap(step.eval(b, c))));
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(prefix).append("[:]");
        }

        @Override
        public int getCardinality() {
            return 1;
        }

        @Override
        public AstNode getChild(int i) {
            return prefix;
        }

        @Override
        public String toString() {
            return prefix + "[:]";
        }
    }

    /** {@code target.name(args)}. */
    static final class MethodCall extends AstMethod {

        private final Dot dot;
        private final AstParameters params;

        MethodCall(Dot dot, AstParameters params) {
            super(dot, params);
            this.dot = dot;
            this.params = params;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object base = dot.target().eval(b, c);
            if (base == null) {
                throw PyError.undefined(
                        describe(dot.target()) + " is undefined (calling its method '" + dot.name() + "')");
            }
            base = OpsUnwrap.unwrap(base);
            Object[] args = evalParams(params, b, c);
            Object result = callMethod(base, dot.name(), args, c);
            return result == base ? result : RenderBudget.built(result);
        }

        @Override
        public String toString() {
            return dot + "(...)";
        }
    }

    static Object callMethod(Object base, String name, Object[] args, ELContext c) {
        if (base instanceof ForLoop loop) {
            if (name.equals("cycle")) {
                List<Object> pos = positional(args);
                if (pos.isEmpty()) {
                    throw new PyError("TypeError", "no items for cycling given");
                }
                return pos.get(loop.getIndex0() % pos.size());
            }
            throw new PyError("TypeError", "'LoopContext' object has no method '" + name + "'");
        }
        if (isPyValue(base)) {
            if (base instanceof Number || base instanceof Boolean || base == Py.NONE) {
                throw PyError.noAttribute(base, name);
            }
            return PyMethods.invoke(base, name, args);
        }
        if (base instanceof Namespace ns) {
            Object v = ns.get(name);
            if (v instanceof MacroFunction m) {
                return callMacro(m, args);
            }
            throw PyError.noAttribute(base, name);
        }
        throw new PyError("TypeError", "calling '" + name + "' on a " + Py.typeName(base) + " object is not supported");
    }

    /**
     * Calls a macro, counted against the render's macro depth limit: Jinjava's own recursion limit
     * applies only to calls its parser builds, and PyParser builds its own.
     */
    static Object callMacro(MacroFunction m, Object[] args) {
        RenderBudget.enterMacro(m.getName());
        try {
            return RenderBudget.built(m.evaluate(args));
        } catch (ELException e) {
            throw e;
        } catch (RuntimeException e) {
            throw asPyError(e);
        } finally {
            RenderBudget.exitMacro();
        }
    }

    /**
     * An error from a macro's body, as a PyError: Jinjava runs the message of any other exception
     * that leaves an expression through String.format, which fails on a '%' in it (found by
     * ChatTemplateFuzzTest: a stray {@code {%if%}} in a macro).
     */
    private static PyError asPyError(RuntimeException e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof PyError p) {
                return p;
            }
        }
        String type = e instanceof TemplateSyntaxException ? "TemplateSyntaxError" : "TemplateError";
        return new PyError(type, e.getMessage() == null ? e.toString() : e.getMessage());
    }

    /** {@code name(args)}: a global function or a macro. */
    static final class Call extends AstRightValue {

        private final String name;
        private final AstParameters params;

        Call(String name, AstParameters params) {
            this.name = name;
            this.params = params;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            JinjavaInterpreter interp = interpreter();
            Object[] args = evalParams(params, b, c);
            MacroFunction macro = interp.getContext().getGlobalMacro(name);
            if (macro != null) {
                return callMacro(macro, args);
            }
            Object local = interp.getContext().get(name);
            if (local instanceof MacroFunction m) {
                return callMacro(m, args);
            }
            if (local instanceof BoundMethod bm) {
                return RenderBudget.built(callMethod(bm.self(), bm.name(), args, c));
            }
            if (local != null && !(local instanceof PyGlobals.Global)) {
                throw new PyError("TypeError", "'" + Py.typeName(local) + "' object is not callable");
            }
            return RenderBudget.built(PyGlobals.call(name, positional(args), named(args)));
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(name).append("(...)");
        }

        @Override
        public int getCardinality() {
            return params.getCardinality();
        }

        @Override
        public AstNode getChild(int i) {
            return params.getChild(i);
        }

        @Override
        public String toString() {
            return name + "(...)";
        }
    }

    /** Calling the value of an expression, e.g. {@code d.items()} through a looked-up BoundMethod. */
    static final class ValueCall extends AstRightValue {

        private final AstNode target;
        private final AstParameters params;

        ValueCall(AstNode target, AstParameters params) {
            this.target = target;
            this.params = params;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object f = target.eval(b, c);
            Object[] args = evalParams(params, b, c);
            if (f instanceof BoundMethod bm) {
                return RenderBudget.built(callMethod(bm.self(), bm.name(), args, c));
            }
            if (f instanceof MacroFunction m) {
                return callMacro(m, args);
            }
            if (f == null) {
                throw PyError.undefined(describe(target) + " is undefined (calling it)");
            }
            throw new PyError("TypeError", "'" + Py.typeName(f) + "' object is not callable");
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(target).append("(...)");
        }

        @Override
        public int getCardinality() {
            return 1;
        }

        @Override
        public AstNode getChild(int i) {
            return target;
        }

        @Override
        public String toString() {
            return target + "(...)";
        }
    }

    // ------------------------------------------------------------------ filters and tests

    static final class Filter extends AstRightValue {

        private final AstNode input;
        private final String name;
        private final AstParameters params;

        Filter(AstNode input, String name, AstParameters params) {
            this.input = input;
            this.name = name;
            this.params = params;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object v = OpsUnwrap.unwrap(input.eval(b, c));
            Object[] args = evalParams(params, b, c);
            Object result = PyFilters.apply(name, v, positional(args), named(args));
            return result == v ? result : RenderBudget.built(result);
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(input).append('|').append(name);
        }

        @Override
        public int getCardinality() {
            return 1;
        }

        @Override
        public AstNode getChild(int i) {
            return input;
        }

        @Override
        public String toString() {
            return input + "|" + name;
        }
    }

    static final class Test extends AstRightValue {

        private final AstNode input;
        private final String name;
        private final boolean negated;
        private final AstParameters params;

        Test(AstNode input, String name, boolean negated, AstParameters params) {
            this.input = input;
            this.name = name;
            this.negated = negated;
            this.params = params;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object v = input.eval(b, c);
            Object[] args = evalParams(params, b, c);
            boolean r = PyTests.test(name, v, positional(args), named(args));
            return negated != r;
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(input).append(" is ").append(name);
        }

        @Override
        public int getCardinality() {
            return 1;
        }

        @Override
        public AstNode getChild(int i) {
            return input;
        }

        @Override
        public String toString() {
            return input + " is " + (negated ? "not " : "") + name;
        }
    }

    // ------------------------------------------------------------------ operators

    static final class Unary extends AstRightValue {

        private final String op;
        private final AstNode child;

        Unary(String op, AstNode child) {
            this.op = op;
            this.child = child;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object v = OpsUnwrap.unwrap(child.eval(b, c));
            switch (op) {
                case "not" -> {
                    return !Py.truthy(v);
                }
                case "-" -> {
                    if (v instanceof Boolean || Py.isInt(v)) {
                        return Py.normInt(Py.bigInt(v).negate());
                    }
                    if (Py.isFloat(v)) {
                        return -((Number) v).doubleValue();
                    }
                }
                default -> {
                    if (v instanceof Boolean || Py.isInt(v)) {
                        return Py.normInt(Py.bigInt(v));
                    }
                    if (Py.isFloat(v)) {
                        return ((Number) v).doubleValue();
                    }
                }
            }
            if (v == null) {
                throw PyError.undefined("an undefined value is used with unary '" + op + "'");
            }
            throw new PyError("TypeError", "bad operand type for unary " + op + ": '" + Py.typeName(v) + "'");
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(op).append(' ').append(child);
        }

        @Override
        public int getCardinality() {
            return 1;
        }

        @Override
        public AstNode getChild(int i) {
            return child;
        }

        @Override
        public String toString() {
            return op + " " + child;
        }
    }

    static final class Binary extends AstRightValue {

        private final AstNode left;
        private final AstNode right;
        private final AstBinary.Operator op;

        Binary(AstNode left, AstNode right, AstBinary.Operator op) {
            this.left = left;
            this.right = right;
            this.op = op;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            return op.eval(b, c, left, right);
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(left).append(' ').append(op).append(' ').append(right);
        }

        @Override
        public int getCardinality() {
            return 2;
        }

        @Override
        public AstNode getChild(int i) {
            return i == 0 ? left : right;
        }

        @Override
        public String toString() {
            return left + " " + op + " " + right;
        }
    }

    /**
     * A chain {@code a ~ b ~ c}: one node however long, as jinja2's Concat, so that a long chain
     * does not count against the expression depth limit. Operands are evaluated and checked left
     * to right, as the nested {@code (a ~ b) ~ c} would be.
     */
    static final class Concat extends AstRightValue {

        private final List<AstNode> parts;

        Concat(List<AstNode> parts) {
            this.parts = parts;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            List<String> strings = new ArrayList<>(parts.size());
            Object first = PyOps.unwrap(parts.get(0).eval(b, c));
            long total = 0;
            for (int i = 1; i < parts.size(); i++) {
                Object next = PyOps.unwrap(parts.get(i).eval(b, c));
                if (i == 1) {
                    strings.add(operand(first, 0));
                    total += strings.get(0).length();
                }
                String s = operand(next, i);
                total = RenderBudget.size(total + s.length(), "the '~' operator");
                strings.add(s);
            }
            return RenderBudget.built(String.join("", strings));
        }

        private String operand(Object v, int i) {
            if (v == null) {
                throw PyError.undefined(describe(parts.get(i)) + " is undefined (used with '~')");
            }
            return Py.str(v);
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(this);
        }

        @Override
        public int getCardinality() {
            return parts.size();
        }

        @Override
        public AstNode getChild(int i) {
            return parts.get(i);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (AstNode p : parts) {
                sb.append(sb.isEmpty() ? "" : " ~ ").append(p);
            }
            return sb.toString();
        }
    }

    /** A comparison chain {@code a < b <= c}. */
    static final class Compare extends AstRightValue {

        private final List<AstNode> operands;
        private final List<PyOps.Strict> ops;

        Compare(List<AstNode> operands, List<PyOps.Strict> ops) {
            this.operands = operands;
            this.ops = ops;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            Object left = PyOps.unwrap(operands.get(0).eval(b, c));
            for (int i = 0; i < ops.size(); i++) {
                Object right = PyOps.unwrap(operands.get(i + 1).eval(b, c));
                if (!Boolean.TRUE.equals(ops.get(i).apply(left, right))) {
                    return false;
                }
                left = right;
            }
            return true;
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(this);
        }

        @Override
        public int getCardinality() {
            return operands.size();
        }

        @Override
        public AstNode getChild(int i) {
            return operands.get(i);
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder().append(operands.get(0));
            for (int i = 0; i < ops.size(); i++) {
                sb.append(' ').append(ops.get(i)).append(' ').append(operands.get(i + 1));
            }
            return sb.toString();
        }
    }

    /** {@code a if cond else b}; a missing else gives undefined. */
    static final class Cond extends AstRightValue {

        private final AstNode cond;
        private final AstNode yes;
        private final AstNode no;

        Cond(AstNode cond, AstNode yes, AstNode no) {
            this.cond = cond;
            this.yes = yes;
            this.no = no;
        }

        @Override
        public Object eval(Bindings b, ELContext c) {
            if (Py.truthy(cond.eval(b, c))) {
                return yes.eval(b, c);
            }
            return no == null ? null : no.eval(b, c);
        }

        @Override
        public void appendStructure(StringBuilder sb, Bindings bindings) {
            sb.append(this);
        }

        @Override
        public int getCardinality() {
            return 3;
        }

        @Override
        public AstNode getChild(int i) {
            return i == 0 ? cond : i == 1 ? yes : no;
        }

        @Override
        public String toString() {
            return yes + " if " + cond + " else " + no;
        }
    }
}
