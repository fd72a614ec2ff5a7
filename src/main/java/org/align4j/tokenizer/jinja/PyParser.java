package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import java.util.ArrayList;
import java.util.List;
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
 */
final class PyParser extends ExtendedParser {

    PyParser(Builder context, String input) {
        super(context, input);
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
            v = new PyAst.Cond(cond, v, no);
        }
        return v;
    }

    private AstNode orExpr(boolean required) throws ScanException, ParseException {
        AstNode v = andExpr(required);
        if (v == null) {
            return null;
        }
        while (tok().getSymbol() == Symbol.OR && "or".equals(img())) {
            consumeToken();
            v = new PyAst.Binary(v, andExpr(true), PyOps.OR);
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
            v = new PyAst.Binary(v, notExpr(true), PyOps.AND);
        }
        return v;
    }

    private AstNode notExpr(boolean required) throws ScanException, ParseException {
        if (isNot()) {
            consumeToken();
            return new PyAst.Unary("not", notExpr(true));
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
        return ops.isEmpty() ? v : new PyAst.Compare(operands, ops);
    }

    private AstNode math1(boolean required) throws ScanException, ParseException {
        AstNode v = concat(required);
        if (v == null) {
            return null;
        }
        while (true) {
            if (tok().getSymbol() == Symbol.PLUS || isExt("+")) {
                consumeToken();
                v = new PyAst.Binary(v, concat(true), PyOps.ADD);
            } else if (tok().getSymbol() == Symbol.MINUS) {
                consumeToken();
                v = new PyAst.Binary(v, concat(true), PyOps.SUB);
            } else {
                return v;
            }
        }
    }

    private AstNode concat(boolean required) throws ScanException, ParseException {
        AstNode v = math2(required);
        if (v == null) {
            return null;
        }
        while (isExt("~")) {
            consumeToken();
            v = new PyAst.Binary(v, math2(true), PyOps.CONCAT);
        }
        return v;
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
                v = new PyAst.Binary(v, pow(true), PyOps.MUL);
            } else if (s == Symbol.DIV && "/".equals(img())) {
                consumeToken();
                v = new PyAst.Binary(v, pow(true), PyOps.DIV);
            } else if (isExt("//")) {
                consumeToken();
                v = new PyAst.Binary(v, pow(true), PyOps.FLOORDIV);
            } else if (s == Symbol.MOD && "%".equals(img())) {
                consumeToken();
                v = new PyAst.Binary(v, pow(true), PyOps.MOD);
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
            v = new PyAst.Binary(v, unaryExpr(true, true), PyOps.POW);
        }
        return v;
    }

    private AstNode unaryExpr(boolean required, boolean withFilter) throws ScanException, ParseException {
        AstNode v;
        if (tok().getSymbol() == Symbol.MINUS) {
            consumeToken();
            v = new PyAst.Unary("-", unaryExpr(true, false));
        } else if (tok().getSymbol() == Symbol.PLUS || isExt("+")) {
            consumeToken();
            v = new PyAst.Unary("+", unaryExpr(true, false));
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
                    return new PyAst.ListLit(items, true);
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
                return new PyAst.ListLit(items);
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
                    return new PyAst.DictLit(keys, values);
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
                            return new PyAst.Call(name, callArgs());
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
                    v = new PyAst.Bracket(
                            v,
                            new PyAst.Const(Py.toPython(new java.math.BigInteger(name.getImage())), name.getImage()));
                    continue;
                }
                if (name.getImage() == null
                        || name.getImage().isEmpty()
                        || !Character.isJavaIdentifierStart(name.getImage().charAt(0))) {
                    fail("an attribute name");
                }
                PyAst.Dot dot = new PyAst.Dot(v, name.getImage());
                if (tok().getSymbol() == Symbol.LPAREN) {
                    v = new PyAst.MethodCall(dot, callArgs());
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
                    v = new PyAst.Slice(v, start, stop, step);
                } else {
                    if (tok().getSymbol() == Symbol.COMMA) {
                        fail("']' (tuple subscripts are not supported)");
                    }
                    expect(Symbol.RBRACK);
                    v = new PyAst.Bracket(v, start);
                }
            } else if (s == Symbol.LPAREN) {
                v = new PyAst.ValueCall(v, callArgs());
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
                v = new PyAst.Filter(v, name, args);
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
                    args = new AstParameters(List.of(arg));
                } else {
                    args = new AstParameters(List.of());
                }
                v = new PyAst.Test(v, name, negated, args);
            } else if (tok().getSymbol() == Symbol.LPAREN) {
                v = new PyAst.ValueCall(v, callArgs());
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
                args.add(new AstNamedParameter(new AstIdentifier(name, 0), expr(true)));
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
        return new AstParameters(args);
    }
}
