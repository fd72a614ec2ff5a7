package org.align4j.tokenizer.jinja;

import jinjava.javax.el.ELException;

/**
 * An error raised while rendering, named after the Python exception jinja2 would raise
 * ({@code UndefinedError}, {@code TypeError}, {@code SecurityError}, ...).
 *
 * <p>An {@link ELException} because Jinjava records those with their message as it is; other
 * exceptions it runs through {@code String.format}, which garbles or loses a message holding a
 * {@code %} (found by fuzzing: {@code raise_exception('100% sure')} lost its text).
 */
public class PyError extends ELException {

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
