package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ext.ExtendedScanner;
import jinjava.de.odysseus.el.tree.impl.Scanner;

/** Jinjava's expression scanner with Python's string-literal escapes. */
final class PyScanner extends ExtendedScanner {

    PyScanner(String input) {
        super(input);
    }

    @Override
    protected Scanner.Token nextString() throws Scanner.ScanException {
        builder.setLength(0);
        String in = getInput();
        char quote = in.charAt(getPosition());
        int i = getPosition() + 1;
        int l = in.length();
        while (i < l) {
            char c = in.charAt(i++);
            if (c == quote) {
                return token(Scanner.Symbol.STRING, builder.toString(), i - getPosition());
            }
            if (c != '\\') {
                builder.append(c);
                continue;
            }
            if (i == l) {
                break;
            }
            char e = in.charAt(i++);
            switch (e) {
                case '\n' -> {
                    // line continuation
                }
                case '\\', '\'', '"' -> builder.append(e);
                case 'a' -> builder.append('\u0007');
                case 'b' -> builder.append('\b');
                case 'f' -> builder.append('\f');
                case 'n' -> builder.append('\n');
                case 'r' -> builder.append('\r');
                case 't' -> builder.append('\t');
                case 'v' -> builder.append('\u000b');
                case 'x', 'u', 'U' -> {
                    int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + n > l) {
                        throw new Scanner.ScanException(getPosition(), "truncated \\" + e + " escape", "hex digits");
                    }
                    String hex = in.substring(i, i + n);
                    try {
                        builder.appendCodePoint(Integer.parseInt(hex, 16));
                    } catch (IllegalArgumentException ex) {
                        throw new Scanner.ScanException(getPosition(), "bad \\" + e + " escape", "hex digits");
                    }
                    i += n;
                }
                case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                    int v = e - '0';
                    int k = 1;
                    while (k < 3 && i < l && in.charAt(i) >= '0' && in.charAt(i) <= '7') {
                        v = v * 8 + (in.charAt(i++) - '0');
                        k++;
                    }
                    builder.appendCodePoint(v);
                }
                case 'N' ->
                    throw new Scanner.ScanException(
                            getPosition(), "\\N{...} escapes are not supported", "another escape");
                default -> builder.append('\\').append(e); // Python keeps unknown escapes verbatim
            }
        }
        throw new Scanner.ScanException(getPosition(), "unterminated string", String.valueOf(quote));
    }
}
