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
                return Py.normInt(Py.bigInt(a).add(Py.bigInt(b)));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Py.toDouble(a) + Py.toDouble(b);
            }
            if (a instanceof String sa && b instanceof String sb) {
                return sa + sb;
            }
            if (a instanceof List<?> la && b instanceof List<?> lb) {
                List<Object> out = new ArrayList<>(la);
                out.addAll(lb);
                return out;
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
                return Py.normInt(Py.bigInt(a).subtract(Py.bigInt(b)));
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
                return Py.normInt(Py.bigInt(a).multiply(Py.bigInt(b)));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Py.toDouble(a) * Py.toDouble(b);
            }
            if (a instanceof String s && intLike(b)) {
                return s.repeat((int) Math.max(0, Py.bigInt(b).longValue()));
            }
            if (b instanceof String s && intLike(a)) {
                return s.repeat((int) Math.max(0, Py.bigInt(a).longValue()));
            }
            if (a instanceof List<?> l && intLike(b) || b instanceof List<?> && intLike(a)) {
                List<?> list = a instanceof List<?> x ? x : (List<?>) b;
                long n = Py.bigInt(a instanceof List<?> ? b : a).longValue();
                List<Object> out = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    out.addAll(list);
                }
                return out;
            }
            throw unsupported(a, b);
        }
    };

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
                return Py.normInt(Py.bigInt(a).pow(Py.bigInt(b).intValueExact()));
            }
            if (Py.isNumeric(a) && Py.isNumeric(b)) {
                return Math.pow(Py.toDouble(a), Py.toDouble(b));
            }
            throw unsupported(a, b);
        }
    };

    static final AstBinary.Operator CONCAT = new Strict("~") {
        @Override
        Object apply(Object a, Object b) {
            return Py.str(a) + Py.str(b);
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
