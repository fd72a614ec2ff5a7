/**
 * Tokenizers and chat templates read from a Hugging Face model directory.
 *
 * <ul>
 *   <li>{@link org.align4j.tokenizer.Tokenizer}: {@code tokenizer.json} (run by the Rust
 *       tokenizers library through DJL), {@code tokenizer_config.json} (special tokens, chat
 *       templates), and optionally {@code chat_template.jinja} and {@code generation_config.json};
 *   <li>{@link org.align4j.tokenizer.ChatTemplate}: a chat template rendered as transformers'
 *       {@code apply_chat_template} renders it, by the engine in
 *       {@link org.align4j.tokenizer.jinja};
 *   <li>{@link org.align4j.tokenizer.TokenizerException}: a tokenizer directory or template that
 *       cannot be used; the message names the file and the fix. A template that cannot render a
 *       row ({@link org.align4j.tokenizer.ChatTemplate.ChatTemplateException}, including one
 *       that hits a render limit) is one of these, which the data layer reports as an invalid
 *       row naming the row's file and line.
 * </ul>
 */
package org.align4j.tokenizer;
