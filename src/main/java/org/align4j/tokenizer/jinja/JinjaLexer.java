package org.align4j.tokenizer.jinja;

/**
 * The whitespace rules of jinja2's lexer (jinja2/lexer.py) that Jinjava implements differently,
 * applied to the template source before Jinjava tokenizes it:
 *
 * <ul>
 *   <li>newline normalization ({@code \r\n}, {@code \r} to {@code \n}) and dropping one trailing
 *       newline (keep_trailing_newline=False);
 *   <li>lstrip_blocks: spaces and tabs before a {@code {%} or {@code {#} are removed only when
 *       nothing but whitespace precedes the tag on its line (Jinjava strips them even after text
 *       on the same line);
 *   <li>the {@code {%+} / {@code {#+} modifier that keeps that whitespace (unknown to Jinjava; the
 *       {@code +} is consumed here).
 * </ul>
 *
 * <p>Only whitespace in text between tags and the {@code +} markers are removed, exactly what
 * jinja2's lexer drops; tag contents are never changed. trim_blocks and the {@code -} modifiers
 * are left to Jinjava, whose behaviour matches jinja2's.
 */
final class JinjaLexer {

    private JinjaLexer() {}

    static String preprocess(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        StringBuilder out = new StringBuilder(s.length());
        int pos = 0;
        boolean lineStarting = true;
        int n = s.length();
        while (pos < n) {
            int start = findTagStart(s, pos);
            if (start < 0) {
                out.append(s, pos, n);
                break;
            }
            char kind = s.charAt(start + 1); // '{', '%' or '#'
            String text = s.substring(pos, start);
            char sign = start + 2 < n ? s.charAt(start + 2) : 0;
            if (sign != '-' && sign != '+' && kind != '{') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.length() && isAllSpace(text, lpos)) {
                    text = text.substring(0, lpos);
                }
            }
            out.append(text);
            out.append(s, start, start + 2);
            int bodyStart = start + 2;
            if (sign == '+') {
                if (kind == '{') {
                    throw new JinjaException("'{{+' is not valid jinja2 syntax", lineOf(s, start), null);
                }
                bodyStart++; // consume the '+': jinja2 keeps the whitespace, which we did
            }
            int end = findTagEnd(s, bodyStart, kind, start);
            String body = s.substring(bodyStart, end - 2);
            if (kind == '#' && body.equals("-")) {
                out.append("- #}"); // jinja2 reads {#-#} as {#- #}; Jinjava 2.8.4 fails on it
            } else {
                requireBody(body, kind, lineOf(s, start));
                out.append(s, bodyStart, end);
            }
            if (kind == '%' && isRawStart(s, bodyStart, end)) {
                int rawEnd = findEndRaw(s, end);
                out.append(s, end, rawEnd);
                end = rawEnd;
            }
            pos = end;
            // what jinja2's end-of-tag match consumed decides whether the next text starts a line
            lineStarting = pos < n && s.charAt(pos) == '\n' && kind != '{' || endsWithNewlineAfterMinus(s, pos, end);
        }
        return out.toString();
    }

    /**
     * jinja2 refuses a tag or print statement with nothing in it ({@code {%-%}}, {@code {{ }}});
     * Jinjava 2.8.4 fails on some of them with an index error (found by ChatTemplateFuzzTest).
     */
    private static void requireBody(String body, char kind, int line) {
        if (kind == '#') {
            return;
        }
        String b = body.startsWith("-") ? body.substring(1) : body;
        if (b.endsWith("-") || b.endsWith("+")) {
            b = b.substring(0, b.length() - 1);
        }
        if (b.isBlank()) {
            throw new JinjaException(
                    kind == '%'
                            ? "TemplateSyntaxError: tag name expected in an empty '{%" + body + "%}'"
                            : "TemplateSyntaxError: expected an expression in an empty '{{" + body + "}}'",
                    line,
                    null);
        }
    }

    /** The next "{{", "{%" or "{#" at or after pos, or -1. */
    private static int findTagStart(String s, int pos) {
        for (int i = pos; i + 1 < s.length(); i++) {
            if (s.charAt(i) == '{') {
                char c = s.charAt(i + 1);
                if (c == '{' || c == '%' || c == '#') {
                    return i;
                }
            }
        }
        return -1;
    }

    private static boolean isAllSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!isPySpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isPySpace(char c) {
        return PyMethods.isSpace(c);
    }

    /** Index just after the tag's closing delimiter ("}}", "%}" or "#}"), skipping strings. */
    private static int findTagEnd(String s, int from, char kind, int tagStart) {
        char close = kind == '{' ? '}' : kind;
        int i = from;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (kind != '#' && (c == '\'' || c == '"')) {
                int j = i + 1;
                while (j < n && s.charAt(j) != c) {
                    if (s.charAt(j) == '\\') {
                        j++;
                    }
                    j++;
                }
                i = j + 1;
                continue;
            }
            if (c == close && i + 1 < n && s.charAt(i + 1) == '}') {
                if (i > from && s.charAt(i - 1) == '+' && kind != '{') {
                    throw new JinjaException(
                            "the '+" + close
                                    + "}' modifier (keep the newline after a tag) is not supported by align4j's template engine",
                            lineOf(s, i),
                            null);
                }
                return i + 2;
            }
            i++;
        }
        throw new JinjaException("unclosed '{" + kind + "' tag", lineOf(s, tagStart), null);
    }

    private static boolean isRawStart(String s, int bodyStart, int end) {
        String body = s.substring(bodyStart, end - 2).strip();
        if (body.startsWith("-")) {
            body = body.substring(1).strip();
        }
        if (body.endsWith("-")) {
            body = body.substring(0, body.length() - 1).strip();
        }
        return body.equals("raw");
    }

    /** Index just after the matching "{% endraw %}" tag (its text is left to Jinjava). */
    private static int findEndRaw(String s, int from) {
        int i = from;
        while (true) {
            int t = s.indexOf("{%", i);
            if (t < 0) {
                throw new JinjaException("missing '{% endraw %}'", lineOf(s, from), null);
            }
            int e = s.indexOf("%}", t + 2);
            if (e < 0) {
                throw new JinjaException("missing '{% endraw %}'", lineOf(s, from), null);
            }
            String body = s.substring(t + 2, e).strip();
            if (body.startsWith("-") || body.startsWith("+")) {
                body = body.substring(1).strip();
            }
            if (body.endsWith("-")) {
                body = body.substring(0, body.length() - 1).strip();
            }
            if (body.equals("endraw")) {
                return t; // the endraw tag itself is handled as a normal tag by the main loop
            }
            i = e + 2;
        }
    }

    /** For "-%}" / "-}}" / "-#}": jinja2 consumed the following whitespace; did it end in "\n"? */
    private static boolean endsWithNewlineAfterMinus(String s, int pos, int end) {
        if (end < 3 || s.charAt(end - 3) != '-') {
            return false;
        }
        int i = pos;
        boolean lastNewline = false;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            lastNewline = s.charAt(i) == '\n';
            i++;
        }
        return lastNewline;
    }

    private static int lineOf(String s, int offset) {
        int line = 1;
        for (int i = 0; i < offset && i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }
}
