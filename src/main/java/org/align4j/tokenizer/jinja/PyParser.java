package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstIdentifier;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;
import jinjava.de.odysseus.el.tree.impl.ast.AstString;

/**
 * Parses template expressions with jinja2's grammar and precedence (jinja2/parser.py):
 * conditional expressions, {@code or}/{@code and}/{@code not}, comparison chains with
 * {@code in}/{@code not in}, {@code + -}, {@code ~}, {@code * / // %}, {@code **}, unary signs,
 * postfix attribute/subscript/slice/call, filters and tests. Builds {@link PyAst} nodes that
 * evaluate with Python semantics. Replaces Jinjava's EL-based grammar, whose precedence differs
 * (e.g. {@code not x in y}) and which has no slice step.
 *
 * <p>Refuses an expression that nests deeper than the render's limit ({@link RenderLimits}): both
 * the recursion of this parser and the depth of the tree it builds (evaluating a tree recurses
 * once per level, so a long chain of {@code +} or of filters is as deep as nested brackets).
 */
final class PyParser extends ExtendedParser {

    /** Nesting depth of each node built so far; nodes not in the map (names, literals) are 1. */
    private final Map<AstNode, Integer> depths = new IdentityHashMap<>();

    /** Parse functions running inside each other: brackets and unary chains recurse here. */
    private int recursion;

    PyParser(Builder context, String input) {
        super(context, input);
    }

    // ------------------------------------------------------------------ nesting limits

    private int depth(AstNode n) {
        return n == null ? 0 : depths.getOrDefault(n, 1);
    }

    /** Records {@code n} one level above its deepest child, refusing what nests too deeply. */
    private <T extends AstNode> T nested(T n, AstNode... children) {
        List<AstNode> present = new ArrayList<>(children.length);
        for (AstNode c : children) {
            if (c != null) {
                present.add(c);
            }
        }
        return nested(n, present);
    }

    private <T extends AstNode> T nested(T n, List<? extends AstNode> children) {
        int d = 0;
        for (AstNode c : children) {
            d = Math.max(d, depth(c));
        }
        RenderBudget.expressionDepth(d + 1);
        depths.put(n, d + 1);
        return n;
    }

    /** Enters a parse function that may recurse; pair with {@link #leave()}. */
    private void enter() {
        RenderBudget.expressionDepth(++recursion);
    }

    private void leave() {
        recursion--;
    }

    @Override
    protected Scanner createScanner(String expression) {
        return new PyScanner(expression);
    }

    // ------------------------------------------------------------------ token helpers

    private Scanner.Token tok() {
        return getToken();
    }

    private String img() {
        return getToken().getImage();
    }

    private boolean isExt(String image) {
        return tok().getSymbol() == Symbol.EXTENSION && image.equals(img());
    }

    private boolean isName(String name) {
        return tok().getSymbol() == Symbol.IDENTIFIER && name.equals(img());
    }

    private boolean isIf() {
        return tok().getSymbol() == Symbol.QUESTION && "if".equals(img());
    }

    private boolean isElse() {
        return tok().getSymbol() == Symbol.COLON && "else".equals(img());
    }

    private boolean isColon() {
        return tok().getSymbol() == Symbol.COLON && ":".equals(img());
    }

    private boolean isNot() {
        return tok().getSymbol() == Symbol.NOT && "not".equals(img());
    }

    private boolean isDictEnd() {
        return isExt("}") || tok().getSymbol() == Symbol.END_EVAL && "}".equals(img());
    }

    private void expect(Symbol s) throws ScanException, ParseException {
        if (tok().getSymbol() != s) {
            fail(s);
        }
        consumeToken();
    }

    // ------------------------------------------------------------------ grammar

    @Override
    protected AstNode expr(boolean required) throws ScanException, ParseException {
        enter();
        try {
            AstNode v = orExpr(required);
            if (v == null) {
                return null;
            }
            while (isIf()) {
                consumeToken();
                AstNode cond = orExpr(true);
                AstNode no = null;
                if (isElse()) {
                    consumeToken();
                    no = expr(true);
                }
                v = nested(new PyAst.Cond(cond, v, no), cond, v, no);
            }
            return v;
        } finally {
            leave();
        }
    }

    private AstNode orExpr(boolean required) throws ScanException, ParseException {
        AstNode v = andExpr(required);
        if (v == null) {
            return null;
        }
        while (tok().getSymbol() == Symbol.OR && "or".equals(img())) {
            consumeToken();
            AstNode r = andExpr(true);
            v = nested(new PyAst.Binary(v, r, PyOps.OR), v, r);
        }
        return v;
    }

    private AstNode andExpr(boolean required) throws ScanException, ParseException {
        AstNode v = notExpr(required);
        if (v == null) {
            return null;
        }
        while (tok().getSymbol() == Symbol.AND && "and".equals(img())) {
            consumeToken();
            AstNode r = notExpr(true);
            v = nested(new PyAst.Binary(v, r, PyOps.AND), v, r);
        }
        return v;
    }

    private AstNode notExpr(boolean required) throws ScanException, ParseException {
        if (isNot()) {
            consumeToken();
            enter();
            try {
                AstNode operand = notExpr(true);
                return nested(new PyAst.Unary("not", operand), operand);
            } finally {
                leave();
            }
        }
        return compare(required);
    }

    private AstNode compare(boolean required) throws ScanException, ParseException {
        AstNode v = math1(required);
        if (v == null) {
            return null;
        }
        List<AstNode> operands = new ArrayList<>();
        List<PyOps.Strict> ops = new ArrayList<>();
        operands.add(v);
        while (true) {
            PyOps.Strict op = null;
            Symbol s = tok().getSymbol();
            String i = img();
            if (s == Symbol.EQ && i.equals("==")) {
                op = (PyOps.Strict) PyOps.EQ;
            } else if (s == Symbol.NE && i.equals("!=")) {
                op = (PyOps.Strict) PyOps.NE;
            } else if (s == Symbol.LT && i.equals("<")) {
                op = (PyOps.Strict) PyOps.LT;
            } else if (s == Symbol.LE && i.equals("<=")) {
                op = (PyOps.Strict) PyOps.LE;
            } else if (s == Symbol.GT && i.equals(">")) {
                op = (PyOps.Strict) PyOps.GT;
            } else if (s == Symbol.GE && i.equals(">=")) {
                op = (PyOps.Strict) PyOps.GE;
            } else if (isExt("in")) {
                op = (PyOps.Strict) PyOps.IN;
            } else if (isNot() && "in".equals(lookahead(0).getImage())) {
                consumeToken();
                op = (PyOps.Strict) PyOps.NOT_IN;
            }
            if (op == null) {
                break;
            }
            consumeToken();
            ops.add(op);
            operands.add(math1(true));
        }
        return ops.isEmpty() ? v : nested(new PyAst.Compare(operands, ops), operands);
    }

    private AstNode math1(boolean required) throws ScanException, ParseException {
        AstNode v = concat(required);
        if (v == null) {
            return null;
        }
        while (true) {
            if (tok().getSymbol() == Symbol.PLUS || isExt("+")) {
                consumeToken();
                AstNode r = concat(true);
                v = nested(new PyAst.Binary(v, r, PyOps.ADD), v, r);
            } else if (tok().getSymbol() == Symbol.MINUS) {
                consumeToken();
                AstNode r = concat(true);
                v = nested(new PyAst.Binary(v, r, PyOps.SUB), v, r);
            } else {
                return v;
            }
        }
    }

    private AstNode concat(boolean required) throws ScanException, ParseException {
        AstNode v = math2(required);
        if (v == null || !isExt("~")) {
            return v;
        }
        List<AstNode> parts = new ArrayList<>();
        parts.add(v);
        while (isExt("~")) {
            consumeToken();
            parts.add(math2(true));
        }
        return nested(new PyAst.Concat(parts), parts);
    }

    private AstNode math2(boolean required) throws ScanException, ParseException {
        AstNode v = pow(required);
        if (v == null) {
            return null;
        }
        while (true) {
            Symbol s = tok().getSymbol();
            if (s == Symbol.MUL) {
                consumeToken();
                AstNode r = pow(true);
                v = nested(new PyAst.Binary(v, r, PyOps.MUL), v, r);
            } else if (s == Symbol.DIV && "/".equals(img())) {
                consumeToken();
                AstNode r = pow(true);
                v = nested(new PyAst.Binary(v, r, PyOps.DIV), v, r);
            } else if (isExt("//")) {
                consumeToken();
                AstNode r = pow(true);
                v = nested(new PyAst.Binary(v, r, PyOps.FLOORDIV), v, r);
            } else if (s == Symbol.MOD && "%".equals(img())) {
                consumeToken();
                AstNode r = pow(true);
                v = nested(new PyAst.Binary(v, r, PyOps.MOD), v, r);
            } else {
                return v;
            }
        }
    }

    private AstNode pow(boolean required) throws ScanException, ParseException {
        AstNode v = unaryExpr(required, true);
        if (v == null) {
            return null;
        }
        while (isExt("**")) {
            consumeToken();
            AstNode r = unaryExpr(true, true);
            v = nested(new PyAst.Binary(v, r, PyOps.POW), v, r);
        }
        return v;
    }

    private AstNode unaryExpr(boolean required, boolean withFilter) throws ScanException, ParseException {
        AstNode v;
        if (tok().getSymbol() == Symbol.MINUS || tok().getSymbol() == Symbol.PLUS || isExt("+")) {
            String sign = tok().getSymbol() == Symbol.MINUS ? "-" : "+";
            consumeToken();
            enter();
            try {
                AstNode operand = unaryExpr(true, false);
                v = nested(new PyAst.Unary(sign, operand), operand);
            } finally {
                leave();
            }
        } else {
            v = primary();
            if (v == null) {
                if (required) {
                    fail("an expression");
                }
                return null;
            }
        }
        v = postfix(v);
        if (withFilter) {
            v = filterExpr(v);
        }
        return v;
    }

    private AstNode primary() throws ScanException, ParseException {
        Scanner.Token t = tok();
        switch (t.getSymbol()) {
            case TRUE -> {
                consumeToken();
                return new PyAst.Const(Boolean.TRUE, "True");
            }
            case FALSE -> {
                consumeToken();
                return new PyAst.Const(Boolean.FALSE, "False");
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder();
                while (tok().getSymbol() == Symbol.STRING) {
                    sb.append(consumeToken().getImage());
                }
                return new AstString(sb.toString());
            }
            case INTEGER -> {
                consumeToken();
                return new PyAst.Const(Py.toPython(new java.math.BigInteger(t.getImage())), t.getImage());
            }
            case FLOAT -> {
                consumeToken();
                return new PyAst.Const(Double.parseDouble(t.getImage()), t.getImage());
            }
            case LPAREN -> {
                consumeToken();
                if (tok().getSymbol() == Symbol.RPAREN) {
                    consumeToken();
                    return new PyAst.ListLit(List.of(), true);
                }
                AstNode first = expr(true);
                if (tok().getSymbol() == Symbol.COMMA) {
                    List<AstNode> items = new ArrayList<>();
                    items.add(first);
                    while (tok().getSymbol() == Symbol.COMMA) {
                        consumeToken();
                        if (tok().getSymbol() == Symbol.RPAREN) {
                            break;
                        }
                        items.add(expr(true));
                    }
                    expect(Symbol.RPAREN);
                    return nested(new PyAst.ListLit(items, true), items);
                }
                expect(Symbol.RPAREN);
                return first;
            }
            case LBRACK -> {
                consumeToken();
                List<AstNode> items = new ArrayList<>();
                while (tok().getSymbol() != Symbol.RBRACK) {
                    items.add(expr(true));
                    if (tok().getSymbol() == Symbol.COMMA) {
                        consumeToken();
                    } else {
                        break;
                    }
                }
                expect(Symbol.RBRACK);
                return nested(new PyAst.ListLit(items), items);
            }
            case EXTENSION -> {
                if (isExt("{")) {
                    consumeToken();
                    List<AstNode> keys = new ArrayList<>();
                    List<AstNode> values = new ArrayList<>();
                    while (!isDictEnd()) {
                        keys.add(expr(true));
                        if (!isColon()) {
                            fail(":");
                        }
                        consumeToken();
                        values.add(expr(true));
                        if (tok().getSymbol() == Symbol.COMMA) {
                            consumeToken();
                        } else {
                            break;
                        }
                    }
                    if (!isDictEnd()) {
                        fail("}");
                    }
                    consumeToken();
                    List<AstNode> all = new ArrayList<>(keys);
                    all.addAll(values);
                    return nested(new PyAst.DictLit(keys, values), all);
                }
                return null;
            }
            case IDENTIFIER, NULL, EMPTY, INSTANCEOF, DIV, MOD, EQ, NE, LT, GT, LE, GE -> {
                if (!Character.isJavaIdentifierStart(t.getImage().charAt(0))) {
                    return null;
                }
                String name = consumeToken().getImage();
                switch (name) {
                    case "none", "None" -> {
                        return new PyAst.Const(Py.NONE, "None");
                    }
                    case "true" -> {
                        return new PyAst.Const(Boolean.TRUE, "True");
                    }
                    case "false" -> {
                        return new PyAst.Const(Boolean.FALSE, "False");
                    }
                    default -> {
                        if (tok().getSymbol() == Symbol.LPAREN) {
                            AstParameters args = callArgs();
                            return nested(new PyAst.Call(name, args), args);
                        }
                        return identifier(name);
                    }
                }
            }
            default -> {
                return null;
            }
        }
    }

    private AstNode postfix(AstNode v) throws ScanException, ParseException {
        while (true) {
            Symbol s = tok().getSymbol();
            if (s == Symbol.DOT) {
                consumeToken();
                Scanner.Token name = consumeToken();
                if (name.getSymbol() == Symbol.INTEGER) {
                    v = nested(
                            new PyAst.Bracket(
                                    v,
                                    new PyAst.Const(
                                            Py.toPython(new java.math.BigInteger(name.getImage())), name.getImage())),
                            v);
                    continue;
                }
                if (name.getImage() == null
                        || name.getImage().isEmpty()
                        || !Character.isJavaIdentifierStart(name.getImage().charAt(0))) {
                    fail("an attribute name");
                }
                PyAst.Dot dot = nested(new PyAst.Dot(v, name.getImage()), v);
                if (tok().getSymbol() == Symbol.LPAREN) {
                    AstParameters args = callArgs();
                    v = nested(new PyAst.MethodCall(dot, args), dot, args);
                } else {
                    v = dot;
                }
            } else if (s == Symbol.LBRACK) {
                consumeToken();
                AstNode start = null;
                if (!isColon()) {
                    start = expr(true);
                }
                if (isColon()) {
                    consumeToken();
                    AstNode stop = null;
                    AstNode step = null;
                    if (!isColon() && tok().getSymbol() != Symbol.RBRACK) {
                        stop = expr(true);
                    }
                    if (isColon()) {
                        consumeToken();
                        if (tok().getSymbol() != Symbol.RBRACK) {
                            step = expr(true);
                        }
                    }
                    expect(Symbol.RBRACK);
                    v = nested(new PyAst.Slice(v, start, stop, step), v, start, stop, step);
                } else {
                    if (tok().getSymbol() == Symbol.COMMA) {
                        fail("']' (tuple subscripts are not supported)");
                    }
                    expect(Symbol.RBRACK);
                    v = nested(new PyAst.Bracket(v, start), v, start);
                }
            } else if (s == Symbol.LPAREN) {
                AstParameters args = callArgs();
                v = nested(new PyAst.ValueCall(v, args), v, args);
            } else {
                return v;
            }
        }
    }

    private AstNode filterExpr(AstNode v) throws ScanException, ParseException {
        while (true) {
            if (isExt("|")) {
                consumeToken();
                String name = dottedName("a filter name");
                AstParameters args = tok().getSymbol() == Symbol.LPAREN ? callArgs() : new AstParameters(List.of());
                v = nested(new PyAst.Filter(v, name, args), v, args);
            } else if (isName("is")) {
                consumeToken();
                boolean negated = false;
                if (isNot()) {
                    consumeToken();
                    negated = true;
                }
                String name = testName();
                AstParameters args;
                if (tok().getSymbol() == Symbol.LPAREN) {
                    args = callArgs();
                } else if (startsTestArg()) {
                    if (isName("is")) {
                        fail("a test argument (tests cannot be chained with 'is')");
                    }
                    AstNode arg = postfix(primary());
                    args = nested(new AstParameters(List.of(arg)), arg);
                } else {
                    args = new AstParameters(List.of());
                }
                v = nested(new PyAst.Test(v, name, negated, args), v, args);
            } else if (tok().getSymbol() == Symbol.LPAREN) {
                AstParameters args = callArgs();
                v = nested(new PyAst.ValueCall(v, args), v, args);
            } else {
                return v;
            }
        }
    }

    private boolean startsTestArg() {
        Symbol s = tok().getSymbol();
        return s == Symbol.IDENTIFIER
                || s == Symbol.STRING
                || s == Symbol.INTEGER
                || s == Symbol.FLOAT
                || s == Symbol.LPAREN
                || s == Symbol.LBRACK
                || isExt("{")
                || s == Symbol.TRUE
                || s == Symbol.FALSE
                || s == Symbol.NULL;
    }

    private String testName() throws ScanException, ParseException {
        Scanner.Token t = tok();
        switch (t.getSymbol()) {
            case IDENTIFIER, TRUE, FALSE, NULL, EQ, NE, LT, GT, LE, GE, EMPTY, DIV, MOD -> {
                if (Character.isJavaIdentifierStart(t.getImage().charAt(0))) {
                    return dottedName("a test name");
                }
            }
            case EXTENSION -> {
                if (isExt("in")) {
                    consumeToken();
                    return "in";
                }
            }
            default -> {}
        }
        fail("a test name");
        return null;
    }

    private String dottedName(String what) throws ScanException, ParseException {
        Scanner.Token t = consumeToken();
        String image = t.getImage();
        if (image == null || image.isEmpty() || !Character.isJavaIdentifierStart(image.charAt(0))) {
            fail(what);
        }
        StringBuilder sb = new StringBuilder(image);
        while (tok().getSymbol() == Symbol.DOT) {
            consumeToken();
            sb.append('.').append(consumeToken().getImage());
        }
        return sb.toString();
    }

    /** {@code (a, b, name=c)}. */
    private AstParameters callArgs() throws ScanException, ParseException {
        expect(Symbol.LPAREN);
        List<AstNode> args = new ArrayList<>();
        boolean sawKeyword = false;
        while (tok().getSymbol() != Symbol.RPAREN) {
            if (tok().getSymbol() == Symbol.IDENTIFIER
                    && lookahead(0).getSymbol() == Symbol.EXTENSION
                    && "=".equals(lookahead(0).getImage())) {
                String name = consumeToken().getImage();
                consumeToken(); // '='
                AstNode value = expr(true);
                AstNamedParameter named = new AstNamedParameter(new AstIdentifier(name, 0), value);
                depths.put(named, depth(value));
                args.add(named);
                sawKeyword = true;
            } else {
                if (sawKeyword) {
                    fail("a keyword argument (positional arguments cannot follow keyword arguments)");
                }
                args.add(expr(true));
            }
            if (tok().getSymbol() == Symbol.COMMA) {
                consumeToken();
            } else {
                break;
            }
        }
        expect(Symbol.RPAREN);
        AstParameters params = new AstParameters(args);
        int d = 0;
        for (AstNode a : args) {
            d = Math.max(d, depth(a));
        }
        depths.put(params, d); // the call node adds the level
        return params;
    }
}
