package org.align4j.tokenizer.jinja;

/**
 * An error raised while rendering, named after the Python exception jinja2 would raise
 * ({@code UndefinedError}, {@code TypeError}, {@code SecurityError}, ...).
 */
public class PyError extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private final String pythonType;

    public PyError(String pythonType, String message) {
        super(pythonType + ": " + message);
        this.pythonType = pythonType;
    }

    public String pythonType() {
        return pythonType;
    }

    static PyError undefined(String message) {
        return new PyError("UndefinedError", message);
    }

    static PyError noAttribute(Object base, String name) {
        return new PyError("UndefinedError", "'" + Py.typeName(base) + "' object has no attribute '" + name + "'");
    }
}
