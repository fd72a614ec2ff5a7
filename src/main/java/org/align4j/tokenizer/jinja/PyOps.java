package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.SafeString;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.javax.el.ELContext;

/** Jinja2 (Python) semantics for the binary operators, replacing the EL ones Jinjava ships. */
final class PyOps {

    private PyOps() {}

    /** An operator whose operands are both evaluated first. */
    abstract static class Strict implements AstBinary.Operator {

        private final String symbol;

        Strict(String symbol) {
            this.symbol = symbol;
        }

        @Override
        public Object eval(Bindings bindings, ELContext context, AstNode left, AstNode right) {
            Object a = unwrap(left.eval(bindings, context));
            Object b = unwrap(right.eval(bindings, context));
            if ((a == null || b == null) && undefinedIsError()) {
                AstNode which = a == null ? left : right;
                throw PyError.undefined(PyAst.describe(which) + " is undefined (used with '" + symbol + "')");
            }
            return apply(a, b);
        }

        /** Arithmetic on undefined raises in jinja2; comparisons and membership do not. */
        boolean undefinedIsError() {
            return switch (symbol) {
                case "==", "!=", "in", "not in" -> false;
                default -> true;
            };
        }

        abstract Object apply(Object a, Object b);

        @Override
        public String toString() {
            return symbol;
        }

        PyError unsupported(Object a, Object b) {
            if (a == null || b == null) {
                return PyError.undefined("an undefined value is used with the '" + symbol + "' operator");
            }
            return new PyError(
                    "TypeError",
                    "unsupported operand type(s) for " + symbol + ": '" + Py.typeName(a) + "' and '" + Py.typeName(b)
                            + "'");
        }
    }

    static Object unwrap(Object v) {
        return v instanceof SafeString s ? s.toString() : v;
    }

    private static boolean intLike(Object v) {
        return Py.isInt(v) || v instanceof Boolean;
    }

    static BigInteger floorToInt(double d) {
        return new BigDecimal(Math.floor(d)).toBigInteger();
    }

    static BigInteger truncToInt(double d) {
        return new BigDecimal(d).setScale(0, RoundingMode.DOWN).toBigInteger();
    }

    static final AstBinary.Operator ADD = new Strict("+") {
        @Override
        Object apply(Object a, Object b) {
            if (intLike(a) && intLike(b)) {
                return Py.normInt(intResult(Py.bigInt(a).add(Py.bigInt(b)), "+"));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Py.toDouble(a) + Py.toDouble(b);
            }
            if (a instanceof String sa && b instanceof String sb) {
                RenderBudget.size((long) sa.length() + sb.length(), "the '+' operator");
                return RenderBudget.built(sa + sb);
            }
            if (a instanceof List<?> la && b instanceof List<?> lb) {
                List<Object> out =
                        new ArrayList<>(RenderBudget.items((long) la.size() + lb.size(), "the '+' operator"));
                out.addAll(la);
                out.addAll(lb);
                return RenderBudget.built(out);
            }
            if (a instanceof String || a instanceof List) {
                String t = Py.typeName(a);
                throw new PyError(
                        "TypeError", "can only concatenate " + t + " (not \"" + Py.typeName(b) + "\") to " + t);
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator SUB = new Strict("-") {
        @Override
        Object apply(Object a, Object b) {
            if (intLike(a) && intLike(b)) {
                return Py.normInt(intResult(Py.bigInt(a).subtract(Py.bigInt(b)), "-"));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Py.toDouble(a) - Py.toDouble(b);
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator MUL = new Strict("*") {
        @Override
        Object apply(Object a, Object b) {
            if (intLike(a) && intLike(b)) {
                BigInteger x = Py.bigInt(a);
                BigInteger y = Py.bigInt(b);
                RenderBudget.intBits((long) x.bitLength() + y.bitLength(), "*");
                return Py.normInt(x.multiply(y));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Py.toDouble(a) * Py.toDouble(b);
            }
            if (a instanceof String s && intLike(b) || b instanceof String && intLike(a)) {
                String str = a instanceof String x ? x : (String) b;
                BigInteger count = Py.bigInt(a instanceof String ? b : a);
                int n = RenderBudget.repeat(
                        str.length(), count, "the '*' operator (a str repeated " + count + " times)", false);
                return RenderBudget.built(str.repeat(n));
            }
            if (a instanceof List<?> && intLike(b) || b instanceof List<?> && intLike(a)) {
                List<?> list = a instanceof List<?> x ? x : (List<?>) b;
                BigInteger count = Py.bigInt(a instanceof List<?> ? b : a);
                int n = RenderBudget.repeat(
                        list.size(), count, "the '*' operator (a list repeated " + count + " times)", true);
                List<Object> out = new ArrayList<>(n * list.size());
                for (int i = 0; i < n; i++) {
                    out.addAll(list);
                }
                return RenderBudget.built(list instanceof PyTuple ? new PyTuple(out) : out);
            }
            throw unsupported(a, b);
        }
    };

    /** An integer result, refused when it is larger than the render allows. */
    private static BigInteger intResult(BigInteger r, String op) {
        RenderBudget.intBits(r.bitLength(), op);
        return r;
    }

    /** {@code base ** exp} for exp >= 0, refused before computing a result the render does not allow. */
    static BigInteger power(BigInteger base, BigInteger exp) {
        if (exp.signum() == 0) {
            return BigInteger.ONE;
        }
        if (base.abs().compareTo(BigInteger.ONE) <= 0) {
            // 0, 1 and -1 stay small whatever the exponent
            return base.signum() < 0 && !exp.testBit(0) ? BigInteger.ONE : base;
        }
        // the result has between (bits - 1) * exp + 1 and bits * exp bits
        long bits = base.abs().bitLength();
        BigInteger low = BigInteger.valueOf(bits - 1).multiply(exp);
        RenderBudget.intBits(low.bitLength() < 63 ? low.longValue() : Long.MAX_VALUE, "**");
        return intResult(base.pow(exp.intValueExact()), "**");
    }

    static final AstBinary.Operator DIV = new Strict("/") {
        @Override
        Object apply(Object a, Object b) {
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                double y = Py.toDouble(b);
                if (y == 0.0) {
                    throw new PyError("ZeroDivisionError", "division by zero");
                }
                if (intLike(a)
                        && intLike(b)
                        && (Py.bigInt(a).bitLength() > 53 || Py.bigInt(b).bitLength() > 53)) {
                    return new BigDecimal(Py.bigInt(a))
                            .divide(new BigDecimal(Py.bigInt(b)), new java.math.MathContext(60))
                            .doubleValue();
                }
                return Py.toDouble(a) / y;
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator FLOORDIV = new Strict("//") {
        @Override
        Object apply(Object a, Object b) {
            if (intLike(a) && intLike(b)) {
                BigInteger y = Py.bigInt(b);
                if (y.signum() == 0) {
                    throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
                }
                BigInteger[] qr = Py.bigInt(a).divideAndRemainder(y);
                BigInteger q = qr[0];
                if (qr[1].signum() != 0 && (qr[1].signum() != y.signum())) {
                    q = q.subtract(BigInteger.ONE);
                }
                return Py.normInt(q);
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                double y = Py.toDouble(b);
                if (y == 0.0) {
                    throw new PyError("ZeroDivisionError", "float floor division by zero");
                }
                return Math.floor(Py.toDouble(a) / y);
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator MOD = new Strict("%") {
        @Override
        Object apply(Object a, Object b) {
            if (a instanceof String s) {
                return PyFormat.percent(s, b);
            }
            if (intLike(a) && intLike(b)) {
                BigInteger y = Py.bigInt(b);
                if (y.signum() == 0) {
                    throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
                }
                BigInteger r = Py.bigInt(a).mod(y.abs());
                if (y.signum() < 0 && r.signum() != 0) {
                    r = r.add(y);
                }
                return Py.normInt(r);
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                double x = Py.toDouble(a);
                double y = Py.toDouble(b);
                if (y == 0.0) {
                    throw new PyError("ZeroDivisionError", "float modulo");
                }
                double r = x % y;
                if (r != 0 && ((r < 0) != (y < 0))) {
                    r += y;
                }
                return r;
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator POW = new Strict("**") {
        @Override
        Object apply(Object a, Object b) {
            if (intLike(a) && intLike(b) && Py.bigInt(b).signum() >= 0) {
                return Py.normInt(power(Py.bigInt(a), Py.bigInt(b)));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Math.pow(Py.toDouble(a), Py.toDouble(b));
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator EQ = new Strict("==") {
        @Override
        Object apply(Object a, Object b) {
            return Py.eq(a, b);
        }
    };

    static final AstBinary.Operator NE = new Strict("!=") {
        @Override
        Object apply(Object a, Object b) {
            return !Py.eq(a, b);
        }
    };

    static final AstBinary.Operator LT = new Strict("<") {
        @Override
        Object apply(Object a, Object b) {
            return Py.compare(a, b, "<") == -1;
        }
    };

    static final AstBinary.Operator LE = new Strict("<=") {
        @Override
        Object apply(Object a, Object b) {
            int c = Py.compare(a, b, "<=");
            return c == -1 || c == 0;
        }
    };

    static final AstBinary.Operator GT = new Strict(">") {
        @Override
        Object apply(Object a, Object b) {
            return Py.compare(a, b, ">") == 1;
        }
    };

    static final AstBinary.Operator GE = new Strict(">=") {
        @Override
        Object apply(Object a, Object b) {
            int c = Py.compare(a, b, ">=");
            return c == 1 || c == 0;
        }
    };

    static final AstBinary.Operator IN = new Strict("in") {
        @Override
        Object apply(Object a, Object b) {
            return Py.contains(b, a);
        }
    };

    static final AstBinary.Operator NOT_IN = new Strict("not in") {
        @Override
        Object apply(Object a, Object b) {
            return !Py.contains(b, a);
        }
    };

    /** Python's {@code a and b}: returns a when falsy, else b (b evaluated only then). */
    static final AstBinary.Operator AND = new AstBinary.Operator() {
        @Override
        public Object eval(Bindings bindings, ELContext context, AstNode left, AstNode right) {
            Object a = left.eval(bindings, context);
            return Py.truthy(a) ? right.eval(bindings, context) : a;
        }

        @Override
        public String toString() {
            return "and";
        }
    };

    /** Python's {@code a or b}: returns a when truthy, else b. */
    static final AstBinary.Operator OR = new AstBinary.Operator() {
        @Override
        public Object eval(Bindings bindings, ELContext context, AstNode left, AstNode right) {
            Object a = left.eval(bindings, context);
            return Py.truthy(a) ? a : right.eval(bindings, context);
        }

        @Override
        public String toString() {
            return "or";
        }
    };

    static boolean isCollection(Object o) {
        return o instanceof Collection;
    }
}
