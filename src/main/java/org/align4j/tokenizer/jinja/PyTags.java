package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.lib.tag.IfTag;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.util.List;

/** Tag overrides giving Jinjava's if/for tags Python semantics, and transformers' generation tag. */
final class PyTags {

    private PyTags() {}

    /** {@code if}/{@code elif} with Python truthiness (Jinjava treats the string "false" as false). */
    static final class If extends IfTag {

        private static final long serialVersionUID = 1L;

        @Override
        public boolean isPositiveIfElseNode(TagNode tagNode, JinjavaInterpreter interpreter) {
            Object v = interpreter.resolveELExpression(
                    tagNode.getHelpers(), tagNode.getLineNumber(), tagNode.getStartPosition());
            return Py.truthy(v);
        }
    }

    /**
     * {@code for} as jinja2 runs it: strings iterate by character, dicts by key, None is an error;
     * supports the loop filter ({@code for x in xs if cond}) and {@code {% else %}} (rendered when
     * no item was iterated), which Jinjava lacks.
     */
    static final class For extends ForTag {

        private static final long serialVersionUID = 1L;

        @Override
        public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
            String out = loop(tagNode, interpreter);
            RenderBudget.outputTooBig(interpreter); // Jinjava records an over-long loop output and goes on
            return out;
        }

        @SuppressWarnings("try") // the scope is entered for its side effect on the context
        private String loop(TagNode tagNode, JinjavaInterpreter interpreter) {
            org.apache.commons.lang3.tuple.Pair<List<String>, String> lv =
                    getLoopVarsAndExpression((com.hubspot.jinjava.tree.parse.TagToken) tagNode.getMaster());
            List<String> loopVars = lv.getLeft();
            String[] parts = splitLoopFilter(lv.getRight());
            if (parts[0].strip().endsWith(" recursive") || parts[0].strip().equals("recursive")) {
                throw new PyError(
                        "NotImplementedError", "recursive loops are not supported by align4j's template engine");
            }
            Object collection = interpreter.resolveELExpression(parts[0], tagNode.getLineNumber());
            List<Object> items = iterable(collection);
            if (parts[1] != null) {
                List<Object> kept = new java.util.ArrayList<>();
                for (Object item : items) {
                    RenderBudget.tick();
                    try (JinjavaInterpreter.InterpreterScopeClosable c = interpreter.enterScope()) {
                        bind(interpreter, loopVars, item);
                        if (Py.truthy(interpreter.resolveELExpression(parts[1], tagNode.getLineNumber()))) {
                            kept.add(item);
                        }
                    }
                }
                items = new Ticking(kept);
            }
            int elseAt = -1;
            int i = 0;
            for (Node child : tagNode.getChildren()) {
                if (child instanceof TagNode t && "else".equals(t.getName())) {
                    elseAt = i;
                    break;
                }
                i++;
            }
            if (elseAt < 0) {
                return super.renderForCollection(tagNode, interpreter, loopVars, items);
            }
            if (items.isEmpty()) {
                StringBuilder sb = new StringBuilder();
                for (Node child : tagNode.getChildren()
                        .subList(elseAt + 1, tagNode.getChildren().size())) {
                    sb.append(child.render(interpreter));
                }
                return sb.toString();
            }
            TagNode body = new TagNode(
                    this, (com.hubspot.jinjava.tree.parse.TagToken) tagNode.getMaster(), tagNode.getSymbols());
            body.setParent(tagNode.getParent());
            body.getChildren().addAll(tagNode.getChildren().subList(0, elseAt));
            return super.renderForCollection(body, interpreter, loopVars, items);
        }

        @Override
        public String renderForCollection(
                TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars, Object collection) {
            return super.renderForCollection(tagNode, interpreter, loopVars, iterable(collection));
        }

        private static List<Object> iterable(Object collection) {
            Object c = collection instanceof com.hubspot.jinjava.objects.SafeString s ? s.toString() : collection;
            if (c == Py.NONE || c instanceof Number || c instanceof Boolean) {
                throw new PyError("TypeError", "'" + Py.typeName(c) + "' object is not iterable");
            }
            return c instanceof Ticking t ? t : new Ticking(Py.iterate(c));
        }

        /**
         * The loop's items; each step of the loop counts against the render's time limit, so that
         * nested loops whose bodies do nothing else still stop at the deadline.
         */
        private static final class Ticking extends java.util.AbstractList<Object> {

            private final List<Object> items;

            Ticking(List<Object> items) {
                this.items = items;
            }

            @Override
            public Object get(int i) {
                RenderBudget.tick();
                return items.get(i);
            }

            @Override
            public int size() {
                return items.size();
            }
        }

        private static void bind(JinjavaInterpreter interpreter, List<String> vars, Object item) {
            if (vars.size() == 1) {
                interpreter.getContext().put(vars.get(0), item);
                return;
            }
            List<Object> values = Py.iterate(item);
            if (values.size() != vars.size()) {
                throw new PyError(
                        "ValueError",
                        "cannot unpack " + values.size() + " values into " + vars.size() + " loop variables");
            }
            for (int k = 0; k < vars.size(); k++) {
                interpreter.getContext().put(vars.get(k), values.get(k));
            }
        }

        /** Splits "xs if cond" at a top-level {@code if} (outside strings and brackets). */
        static String[] splitLoopFilter(String expr) {
            int depth = 0;
            char quote = 0;
            for (int i = 0; i < expr.length(); i++) {
                char c = expr.charAt(i);
                if (quote != 0) {
                    if (c == '\\') {
                        i++;
                    } else if (c == quote) {
                        quote = 0;
                    }
                    continue;
                }
                switch (c) {
                    case '\'', '"' -> quote = c;
                    case '(', '[', '{' -> depth++;
                    case ')', ']', '}' -> depth--;
                    default -> {
                        if (depth == 0
                                && c == 'i'
                                && expr.startsWith("if", i)
                                && i > 0
                                && Character.isWhitespace(expr.charAt(i - 1))
                                && i + 2 < expr.length()
                                && Character.isWhitespace(expr.charAt(i + 2))) {
                            return new String[] {expr.substring(0, i), expr.substring(i + 2)};
                        }
                    }
                }
            }
            return new String[] {expr, null};
        }
    }

    /**
     * {@code {% set target = expr %}} with jinja2's assignment rules: {@code a, b = expr} unpacks,
     * {@code x = 1, 2} assigns a tuple, {@code ns.attr = expr} requires a namespace. Block sets
     * ({@code {% set x %}...{% endset %}}) are Jinjava's.
     */
    static final class Set extends com.hubspot.jinjava.lib.tag.SetTag {

        private static final long serialVersionUID = 1L;

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            String helpers = tagNode.getHelpers();
            int eq = topLevelAssign(helpers);
            if (eq < 0) {
                return super.interpret(tagNode, interpreter); // block set
            }
            String target = helpers.substring(0, eq).strip();
            String expr = helpers.substring(eq + 1).strip();
            if (target.isEmpty() || expr.isEmpty()) {
                throw new PyError(
                        "TemplateSyntaxError",
                        "'set' needs a target and an expression: {% set " + helpers.strip() + " %}");
            }
            boolean tuple = hasTopLevelComma(expr);
            Object value = interpreter.resolveELExpression(tuple ? "(" + expr + ",)" : expr, tagNode.getLineNumber());
            List<String> targets = new java.util.ArrayList<>();
            for (String t : target.split(",")) {
                if (!t.isBlank()) {
                    targets.add(t.strip());
                }
            }
            if (targets.size() == 1 && !target.contains(",")) {
                assign(interpreter, targets.get(0), value);
                return "";
            }
            List<Object> values = Py.iterate(value);
            if (values.size() != targets.size()) {
                throw new PyError(
                        "ValueError", "cannot unpack " + values.size() + " values into " + targets.size() + " names");
            }
            for (int i = 0; i < targets.size(); i++) {
                assign(interpreter, targets.get(i), values.get(i));
            }
            return "";
        }

        private static void assign(JinjavaInterpreter interpreter, String target, Object value) {
            int dot = target.indexOf('.');
            if (dot < 0) {
                if (!target.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new PyError("TemplateSyntaxError", "cannot assign to '" + target + "'");
                }
                interpreter.getContext().put(target, value);
                return;
            }
            String base = target.substring(0, dot).strip();
            String attr = target.substring(dot + 1).strip();
            Object ns = interpreter.getContext().get(base);
            if (!(ns instanceof com.hubspot.jinjava.objects.Namespace namespace)) {
                throw new PyError(
                        "TemplateRuntimeError", "cannot assign attribute on non-namespace object ('" + base + "')");
            }
            if (!attr.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new PyError("TemplateSyntaxError", "cannot assign to '" + target + "'");
            }
            if (value == namespace) {
                // jinja2 allows the cycle, but Jinjava's PyMap refuses it (fuzz finding 5); name it as a template error
                throw new PyError(
                        "TemplateRuntimeError",
                        "a namespace cannot hold itself: {% set " + target + " = " + base + " %}");
            }
            namespace.put(attr, value);
        }

        /** Index of the assignment '=' (not part of ==, !=, <=, >= and outside strings), or -1. */
        private static int topLevelAssign(String s) {
            char quote = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) {
                    if (c == '\\') {
                        i++;
                    } else if (c == quote) {
                        quote = 0;
                    }
                    continue;
                }
                if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '=') {
                    char prev = i > 0 ? s.charAt(i - 1) : ' ';
                    char next = i + 1 < s.length() ? s.charAt(i + 1) : ' ';
                    if (next != '=' && prev != '=' && prev != '!' && prev != '<' && prev != '>') {
                        return i;
                    }
                    if (next == '=') {
                        i++;
                    }
                }
            }
            return -1;
        }

        private static boolean hasTopLevelComma(String s) {
            int depth = 0;
            char quote = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) {
                    if (c == '\\') {
                        i++;
                    } else if (c == quote) {
                        quote = 0;
                    }
                    continue;
                }
                switch (c) {
                    case '\'', '"' -> quote = c;
                    case '(', '[', '{' -> depth++;
                    case ')', ']', '}' -> depth--;
                    case ',' -> {
                        if (depth == 0) {
                            return true;
                        }
                    }
                    default -> {}
                }
            }
            return false;
        }
    }

    /** transformers' {@code {% generation %}...{% endgeneration %}}: renders its body unchanged. */
    static final class Generation implements Tag {

        private static final long serialVersionUID = 1L;

        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder sb = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                sb.append(child.render(interpreter));
            }
            return sb.toString();
        }
    }
}
