// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.align4j.data.JsonRows.Row;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.tokenizer.TokenizerException;

/**
 * Turns dataset rows into token ids the way TRL does, for every trainer.
 *
 * <p>Plain strings (DESIGN.md "Tokenization of plain strings follows TRL"): the prompt is encoded
 * as the tokenizer encodes it (BOS only if its post-processor adds one), the completion's ids
 * follow without special tokens, then EOS. Conversational rows (lists of {role, content}
 * messages) are rendered with the tokenizer's chat template and encoded without extra special
 * tokens (the template writes its own): the prompt with {@code add_generation_prompt=True}, and
 * a completion is the rendering of prompt + completion minus the rendered prompt (TRL's
 * sft_trainer / dpo_trainer), which ends with the template's end-of-turn text, so no EOS is added.
 * A row's optional {@code tools} and {@code chat_template_kwargs} reach the template, as in TRL.
 *
 * <p>Lengths are cut by {@link Truncation}; {@link #truncatedRows()} counts the rows it shortened.
 */
public final class Encoder {
    /**
     * SFT's loss-mask keys (TRL SFTConfig).
     *
     * @param datasetTextField the language-modeling text field ("text")
     * @param completionOnlyLoss prompt-completion rows: loss on the completion only (TRL's default for that shape)
     * @param assistantOnlyLoss conversational rows: loss on the assistant turns only (TRL default false: every token)
     */
    public record SftOptions(String datasetTextField, boolean completionOnlyLoss, boolean assistantOnlyLoss) {
        public static final SftOptions DEFAULTS = new SftOptions("text", true, false);
    }

    private final Tokenizer tok;
    private final Truncation truncation;
    private final SftOptions sft;
    private final AtomicInteger truncated = new AtomicInteger();

    public Encoder(Tokenizer tok, Truncation truncation) {
        this(tok, truncation, SftOptions.DEFAULTS);
    }

    public Encoder(Tokenizer tok, Truncation truncation, SftOptions sft) {
        this.tok = tok;
        this.truncation = truncation;
        this.sft = sft;
    }

    public Truncation truncation() {
        return truncation;
    }

    /** Rows that truncation shortened so far. */
    public int truncatedRows() {
        return truncated.get();
    }

    // ------------------------------------------------------------------ datasets

    /**
     * Encodes every row. With {@code skipInvalidRows} false the first invalid row throws its
     * {@link DatasetException} (naming file, line and field); with true invalid rows are left out,
     * counted and their messages kept, in row order. Lines the reader could not read (kept by
     * {@link Datasets#read(java.nio.file.Path, String, boolean)}) count as invalid rows. Only
     * dataset errors are skipped: a missing chat template or a bug still stops the run.
     */
    public static <T> Encoded<T> encodeAll(List<Row> rows, Function<Row, T> encode, boolean skipInvalidRows) {
        List<T> items = new ArrayList<>(rows.size());
        List<String> errors = new ArrayList<>();
        for (Row r : rows) {
            try {
                if (!r.readable()) throw new DatasetException(r.problem());
                items.add(encode.apply(r));
            } catch (DatasetException e) {
                if (!skipInvalidRows) throw e;
                errors.add(e.getMessage());
            }
        }
        return new Encoded<>(items, errors.size(), errors);
    }

    // ------------------------------------------------------------------ SFT

    /**
     * One SFT sequence with its loss mask:
     * <ul>
     *   <li>{@code text}: every token and the EOS (appended unless the text already ends with it);
     *   <li>{@code messages}: the rendered conversation; targets are every token, or with
     *       assistant_only_loss the assistant turns (see {@link AssistantMask});
     *   <li>prompt-completion: the completion (with completion_only_loss, the default), else every
     *       token; conversational rows with assistant_only_loss keep only assistant tokens of it.
     * </ul>
     * Then truncation: prompt and completion limits first (prompt-completion rows), then the
     * sequence to max_length. A row left without targets is invalid.
     */
    public Sequence sft(Row row) {
        DatasetShape shape = DatasetShape.detect(row, sft.datasetTextField());
        boolean[] cutParts = {false};
        Sequence s = switch (shape) {
            case LANGUAGE_MODELING -> row.has("messages") ? conversation(row) : text(row);
            case PROMPT_COMPLETION -> promptCompletion(row, cutParts);
            default ->
                throw new DatasetException(row.where() + ": SFT needs language modeling ('" + sft.datasetTextField()
                        + "' or 'messages') or prompt-completion rows; this row is "
                        + shape.name().toLowerCase().replace('_', ' ')
                        + " (fields " + row.fieldNames() + ")");
        };
        Sequence cut = truncation.sequence(s);
        if (cut != s || cutParts[0]) truncated.incrementAndGet();
        if (cut.targets() == 0)
            throw new DatasetException(row.where() + ": no loss tokens are left"
                    + (cut != s || cutParts[0]
                            ? " after truncation (max_length " + truncation.maxLength() + ", truncation_mode "
                                    + truncation.truncationMode() + ")"
                            : "")
                    + "; the row would train nothing (raise max_length, fix the row, or pass --skip_invalid_rows true"
                    + " to count and skip such rows)");
        return cut;
    }

    private Sequence text(Row row) {
        String field = sft.datasetTextField();
        if (sft.assistantOnlyLoss())
            throw new DatasetException(
                    row.where() + ": assistant_only_loss needs conversational rows ('messages'); this row has plain '"
                            + field + "'");
        long[] ids = tok.encode(row.text(field));
        if (ids.length == 0 || ids[ids.length - 1] != tok.eosTokenId()) ids = append(ids, tok.eosTokenId());
        if (ids.length < 2) throw new DatasetException(row.where() + ": field '" + field + "' is empty");
        return Sequence.allTargets(ids);
    }

    private Sequence conversation(Row row) {
        List<Map<String, Object>> messages = Messages.of(row, "messages");
        long[] ids = tok.encodeNoSpecial(render(row, messages, false));
        if (ids.length < 2) throw new DatasetException(row.where() + ": 'messages' renders to fewer than 2 tokens");
        if (!sft.assistantOnlyLoss()) return Sequence.allTargets(ids);
        return new Sequence(ids, assistantMask(row, messages, ids));
    }

    /** Prompt then completion, each cut to its own limit first ({@code cutParts[0]} says whether one was). */
    private Sequence promptCompletion(Row row, boolean[] cutParts) {
        long[] fullPrompt = promptIds(row), fullCompletion = completionIds(row);
        float[] assistant = null; // over fullPrompt + fullCompletion
        if (sft.assistantOnlyLoss()) {
            if (!DatasetShape.isConversational(row))
                throw new DatasetException(
                        row.where()
                                + ": assistant_only_loss needs conversational rows; 'prompt' and 'completion' are plain strings");
            List<Map<String, Object>> all = new ArrayList<>(Messages.of(row, "prompt"));
            all.addAll(Messages.of(row, "completion"));
            long[] whole = tok.encodeNoSpecial(render(row, all, false));
            if (!Arrays.equals(
                    whole, Sequence.promptCompletion(fullPrompt, fullCompletion).inputIds()))
                throw new DatasetException(
                        row.where()
                                + ": the conversation tokenizes differently as a whole than as prompt + completion; cannot apply assistant_only_loss");
            assistant = assistantMask(row, all, whole);
        }
        long[] prompt = truncation.prompt(fullPrompt), completion = truncation.completion(fullCompletion);
        cutParts[0] = prompt != fullPrompt || completion != fullCompletion;
        Sequence s = Sequence.promptCompletion(prompt, completion);
        float[] mask = sft.completionOnlyLoss()
                ? s.targetMask()
                : Sequence.allTargets(s.inputIds()).targetMask();
        if (assistant != null) {
            int dropped = fullPrompt.length - prompt.length; // left-truncated prompt tokens
            for (int i = 0; i < mask.length; i++) mask[i] *= assistant[i + dropped];
        }
        return new Sequence(s.inputIds(), mask);
    }

    private float[] assistantMask(Row row, List<Map<String, Object>> messages, long[] ids) {
        float[] mask = AssistantMask.of(
                messages, ids, (m, gen) -> render(row, m, gen), tok::encodeNoSpecial, tok.stopTokenIds(), row.where());
        boolean any = false;
        for (float m : mask) any |= m != 0;
        if (!any)
            throw new DatasetException(
                    row.where() + ": assistant_only_loss is set but the conversation has no assistant message");
        return mask;
    }

    // ------------------------------------------------------------------ preference

    /**
     * A preference row: explicit {@code prompt} + {@code chosen} + {@code rejected}, or chosen and
     * rejected alone with the prompt taken from their shared start (TRL's extract_prompt). Plain
     * completions end with EOS; conversational ones are template differences. Then truncation
     * (prompt end kept, completion starts kept, max_length by the longer completion).
     */
    public PreferencePair preference(Row row) {
        if (!row.has("chosen") || !row.has("rejected"))
            throw new DatasetException(row.where()
                    + ": a preference row needs 'chosen' and 'rejected' (and optionally 'prompt'); the row has "
                    + row.fieldNames());
        JsonNode prompt, chosen, rejected;
        // TRL's maybe_extract_prompt: a string prompt beside conversational chosen/rejected (ultrafeedback_binarized)
        // is a copy; the prompt is the messages chosen and rejected share
        boolean implicit = row.has("prompt")
                && row.require("prompt").isTextual()
                && row.require("chosen").isArray()
                && row.require("rejected").isArray();
        if (row.has("prompt") && !implicit) {
            prompt = row.require("prompt");
            chosen = row.require("chosen");
            rejected = row.require("rejected");
        } else {
            Messages.Split s;
            try {
                s = Messages.extractPrompt(row);
            } catch (DatasetException e) {
                if (!implicit) throw e;
                throw new DatasetException(row.where() + ": a string 'prompt' beside conversational 'chosen' and"
                        + " 'rejected' is read as TRL reads it (maybe_extract_prompt): the prompt is the messages"
                        + " chosen and rejected share, and these share none; give 'prompt' as a message list too");
            }
            prompt = s.prompt();
            chosen = s.chosen();
            rejected = s.rejected();
        }
        long[] p = promptIds(row, prompt);
        long[] c = completionIds(row, prompt, chosen, "chosen"), r = completionIds(row, prompt, rejected, "rejected");
        long[][] cut = cut(row, p, c, r);
        return new PreferencePair(cut[0], cut[1], cut[2]);
    }

    /** An unpaired preference row (KTO): prompt, completion and a boolean {@code label}. */
    public UnpairedExample unpaired(Row row) {
        JsonNode label = row.require("label");
        if (!label.isBoolean())
            throw new DatasetException(
                    row.where() + ": field 'label' must be true or false, found " + JsonRows.typeName(label));
        long[][] cut = cut(row, promptIds(row), completionIds(row));
        return new UnpairedExample(cut[0], cut[1], label.asBoolean());
    }

    /** A prompt-only row (GRPO and other online methods): the prompt ids, cut to max_prompt_length keeping the end. */
    public long[] prompt(Row row) {
        long[] ids = promptIds(row), cut = truncation.prompt(ids);
        if (cut != ids) truncated.incrementAndGet();
        return cut;
    }

    private long[][] cut(Row row, long[] prompt, long[]... completions) {
        long[][] out;
        try {
            out = truncation.promptAndCompletions(prompt, completions);
        } catch (IllegalArgumentException e) {
            throw new DatasetException(row.where() + ": " + e.getMessage());
        }
        boolean changed = out[0].length != prompt.length;
        for (int i = 0; i < completions.length; i++) changed |= out[i + 1].length != completions[i].length;
        if (changed) truncated.incrementAndGet();
        return out;
    }

    // ------------------------------------------------------------------ prompt and completion ids (no truncation)

    /** The row's {@code prompt} as ids: plain text encoded as the tokenizer does, messages rendered with the generation prompt. */
    public long[] promptIds(Row row) {
        return promptIds(row, row.require("prompt"));
    }

    /** The row's {@code completion} as ids: plain text + EOS, or the template's rendering of it after the prompt. */
    public long[] completionIds(Row row) {
        return completionIds(row, row.require("prompt"), row.require("completion"), "completion");
    }

    private long[] promptIds(Row row, JsonNode prompt) {
        if (prompt.isTextual()) return tok.encode(prompt.asText());
        if (prompt.isArray()) return tok.encodeNoSpecial(render(row, Messages.of(prompt, row, "prompt"), true));
        throw new DatasetException(
                row.where() + ": field 'prompt' must be a string or a list of {role, content} messages, found "
                        + JsonRows.typeName(prompt));
    }

    private long[] completionIds(Row row, JsonNode prompt, JsonNode completion, String field) {
        if (prompt.isTextual() && completion.isTextual())
            return append(tok.encodeNoSpecial(completion.asText()), tok.eosTokenId());
        if (prompt.isArray() && completion.isArray()) {
            List<Map<String, Object>> p = Messages.of(prompt, row, "prompt"), all = new ArrayList<>(p);
            all.addAll(Messages.of(completion, row, field));
            String promptText = render(row, p, true), fullText = render(row, all, false);
            if (!fullText.startsWith(promptText))
                throw new DatasetException(row.where() + ": the chat template renders prompt + " + field
                        + " so that it does not start with the rendered prompt "
                        + "(with the generation prompt); cannot split off the " + field);
            long[] ids = tok.encodeNoSpecial(fullText.substring(promptText.length()));
            if (ids.length == 0) throw new DatasetException(row.where() + ": '" + field + "' renders to no tokens");
            return ids;
        }
        if (!prompt.isTextual() && !prompt.isArray())
            throw new DatasetException(
                    row.where() + ": field 'prompt' must be a string or a list of {role, content} messages, found "
                            + JsonRows.typeName(prompt));
        throw new DatasetException(
                row.where() + ": 'prompt' and '" + field + "' must both be strings or both be message lists (found "
                        + JsonRows.typeName(prompt) + " and " + JsonRows.typeName(completion) + ")");
    }

    private String render(Row row, List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        if (!tok.hasChatTemplate())
            tok.chatTemplate(false); // throws the tokenizer's "no chat template" error: a setup problem, not a bad row
        try {
            return tok.applyChatTemplate(messages, addGenerationPrompt, Messages.templateVars(row));
        } catch (TokenizerException e) {
            throw new DatasetException(row.where() + ": the chat template cannot render this row: " + e.getMessage());
        }
    }

    private static long[] append(long[] ids, long id) {
        long[] out = Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = id;
        return out;
    }
}
