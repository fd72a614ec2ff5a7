package org.align4j.tokenizer;

/**
 * A tokenizer directory or chat template that align4j cannot use. The message names the file
 * involved and what to do about it.
 */
public class TokenizerException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
