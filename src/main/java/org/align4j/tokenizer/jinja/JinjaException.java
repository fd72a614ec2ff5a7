package org.align4j.tokenizer.jinja;

/** A template that could not be rendered exactly: the message names the problem and the line. */
public class JinjaException extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private final int line;

    public JinjaException(String message, int line, Throwable cause) {
        super(line > 0 ? message + " (template line " + line + ")" : message, cause);
        this.line = line;
    }

    /** The 1-based template line, or -1 when unknown. */
    public int line() {
        return line;
    }
}
