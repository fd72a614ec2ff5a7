package org.align4j.tokenizer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.align4j.tokenizer.jinja.JinjaEngine;
import org.align4j.tokenizer.jinja.JinjaException;
import org.align4j.tokenizer.jinja.RenderLimits;

/**
 * A Hugging Face chat template (jinja2), rendered exactly as transformers'
 * {@code apply_chat_template} renders it.
 *
 * <p>The engine is HubSpot's Jinjava with a Python-semantics layer ({@link JinjaEngine}): jinja2's
 * expression grammar, Python's string/list/dict methods and operators, jinja2's filters and tests,
 * transformers' {@code tojson} ({@code json.dumps(ensure_ascii=False)}), {@code raise_exception}
 * and {@code strftime_now}, trim_blocks and lstrip_blocks, loop controls and the
 * {@code {% generation %}} tag. A template the engine cannot render exactly fails with a
 * {@link ChatTemplateException} naming the problem; it never renders a different prompt. One
 * deliberate difference from jinja2: printing an undefined value (for example a message without
 * {@code content}) is an error instead of an empty string.
 *
 * <p>A render runs under {@link RenderLimits} (time, output size, nesting depth): a template that
 * loops, recurses or grows without end fails with a {@link ChatTemplateException} that names the
 * limit, which the data layer reports as an invalid row.
 *
 * <p>Map arguments keep their iteration order (use {@link LinkedHashMap} for the order
 * {@code tojson} prints); Java {@code null} is Python {@code None}.
 */
public final class ChatTemplate {

    /** Thrown when a template cannot be rendered; the message names the problem and line. */
    public static final class ChatTemplateException extends TokenizerException {

        private static final long serialVersionUID = 1L;

        ChatTemplateException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String source;
    private final String origin;
    private final RenderLimits limits; // null: RenderLimits.defaults() at each render

    /**
     * @param source the jinja2 template text
     * @param origin where it came from (a file name), used in error messages
     */
    public ChatTemplate(String source, String origin) {
        this(source, origin, null);
    }

    private ChatTemplate(String source, String origin, RenderLimits limits) {
        this.source = Objects.requireNonNull(source, "source");
        this.origin = origin == null ? "chat template" : origin;
        this.limits = limits;
    }

    public ChatTemplate(String source) {
        this(source, null);
    }

    public String source() {
        return source;
    }

    /** This template rendered under other limits than {@link RenderLimits#defaults()}. */
    public ChatTemplate withLimits(RenderLimits renderLimits) {
        return new ChatTemplate(source, origin, Objects.requireNonNull(renderLimits, "renderLimits"));
    }

    /** Renders with exactly these template variables. */
    public String render(Map<String, ?> variables) {
        try {
            return JinjaEngine.render(source, variables, limits == null ? RenderLimits.defaults() : limits);
        } catch (JinjaException e) {
            throw new ChatTemplateException(origin + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renders a conversation as transformers' {@code apply_chat_template(messages, tools=...,
     * add_generation_prompt=..., **kwargs)} does: the variables are {@code messages},
     * {@code tools} (None when absent), {@code documents} (None when absent), {@code
     * add_generation_prompt}, the tokenizer's special tokens, then {@code extraVars} (e.g.
     * {@code enable_thinking}); {@code tools} and {@code documents} may be given in extraVars.
     */
    public String apply(
            List<? extends Map<String, ?>> messages,
            boolean addGenerationPrompt,
            Map<String, ?> specialTokens,
            Map<String, ?> extraVars) {
        Objects.requireNonNull(messages, "messages");
        Map<String, Object> vars = new LinkedHashMap<>();
        Map<String, ?> extra = extraVars == null ? Map.of() : extraVars;
        if (extra.containsKey("messages") || extra.containsKey("add_generation_prompt")) {
            throw new IllegalArgumentException(
                    "extraVars must not set 'messages' or 'add_generation_prompt'; pass them as arguments");
        }
        vars.put("messages", messages);
        vars.put("tools", extra.get("tools"));
        vars.put("documents", extra.get("documents"));
        vars.put("add_generation_prompt", addGenerationPrompt);
        if (specialTokens != null) {
            vars.putAll(specialTokens);
        }
        for (Map.Entry<String, ?> e : extra.entrySet()) {
            if (!e.getKey().equals("tools") && !e.getKey().equals("documents")) {
                vars.put(e.getKey(), e.getValue());
            }
        }
        return render(vars);
    }
}
