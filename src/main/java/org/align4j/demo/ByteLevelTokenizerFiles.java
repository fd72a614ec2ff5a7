// SPDX-License-Identifier: Apache-2.0
package org.align4j.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.align4j.io.HfJson;

/**
 * Writes a minimal but real Hugging Face tokenizer ({@code tokenizer.json} +
 * {@code tokenizer_config.json}) for models the demo trains from scratch: GPT-2's byte-level
 * alphabet (256 tokens, ids 0..255, no merges) plus ChatML specials {@code <|endoftext|>}=256,
 * {@code <|im_start|>}=257, {@code <|im_end|>}=258. Any text round-trips; eos = {@code <|im_end|>}.
 * Same layout as tools/golden/make_goldens.py writes for the golden checkpoints.
 */
public final class ByteLevelTokenizerFiles {
    public static final int VOCAB = 259, PAD = 256, IM_START = 257, IM_END = 258;
    private static final String[] SPECIALS = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    private static final String CHAT_TEMPLATE = "{%- for message in messages %}"
            + "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
            + "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    private ByteLevelTokenizerFiles() {}

    public static void write(Path dir, boolean overwrite) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode tok = json.createObjectNode();
        tok.put("version", "1.0");
        tok.putNull("truncation");
        tok.putNull("padding");
        ArrayNode added = tok.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.length; i++) {
            ObjectNode a = added.addObject();
            a.put("id", PAD + i)
                    .put("content", SPECIALS[i])
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        tok.putNull("normalizer");
        tok.putObject("pre_tokenizer")
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", true)
                .put("use_regex", true);
        tok.putObject("post_processor")
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", false)
                .put("use_regex", true);
        tok.putObject("decoder")
                .put("type", "ByteLevel")
                .put("add_prefix_space", false)
                .put("trim_offsets", false)
                .put("use_regex", true);
        ObjectNode model = tok.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "")
                .put("end_of_word_suffix", "")
                .put("fuse_unk", false)
                .put("byte_fallback", false)
                .put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        String[] byteChars = bytesToUnicode();
        for (int b = 0; b < 256; b++) vocab.put(byteChars[b], b);
        for (int i = 0; i < SPECIALS.length; i++) vocab.put(SPECIALS[i], PAD + i);
        model.putArray("merges");
        HfJson.writeJson(dir.resolve("tokenizer.json"), tok, overwrite);

        ObjectNode cfg = json.createObjectNode();
        cfg.put("add_bos_token", false);
        cfg.putNull("bos_token");
        cfg.put("chat_template", CHAT_TEMPLATE);
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("eos_token", "<|im_end|>");
        cfg.put("model_max_length", 2048);
        cfg.put("pad_token", "<|endoftext|>");
        cfg.put("tokenizer_class", "Qwen2Tokenizer");
        cfg.putNull("unk_token");
        HfJson.writeJson(dir.resolve("tokenizer_config.json"), cfg, overwrite);
    }

    /** GPT-2's reversible byte -> printable character map (openai/gpt-2 encoder.py bytes_to_unicode). */
    static String[] bytesToUnicode() {
        String[] out = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (printable[b]) out[b] = String.valueOf((char) b);
            else out[b] = String.valueOf((char) (256 + n++));
        }
        return out;
    }
}
