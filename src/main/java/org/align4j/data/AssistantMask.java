// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * TRL's {@code assistant_only_loss} without {@code {% generation %}} tags: which tokens of a
 * rendered conversation the assistant wrote, found by rendering prefixes of the conversation and
 * comparing token ids (Qwen3's template, like most, has no generation tags; TRL swaps in its own
 * tagged copy, qwen3_training.jinja, for this purpose).
 *
 * <p>For assistant message {@code i} of a conversation rendered and tokenized as {@code ids}:
 * <ul>
 *   <li>start: the tokens of {@code messages[:i]} rendered with {@code add_generation_prompt=True}
 *       must be a prefix of {@code ids} (the template is prefix-preserving up to the turn; checked,
 *       else an error); the turn starts after them. The role header ({@code <|im_start|>assistant\n})
 *       is the generation prompt, so it is context, as at inference.
 *   <li>end: when {@code messages[:i+1]} renders to a prefix of {@code ids}, the turn ends where
 *       that rendering ends; text the template writes after the turn's last end-of-turn token
 *       (Qwen's newline after {@code <|im_end|>}) is left out, since generation stops at that
 *       token. When the prefix rendering differs (Qwen3 renders the last assistant turn with an
 *       empty {@code <think></think>} block and earlier ones without), the turn ends at its first
 *       end-of-turn token in {@code ids}.
 * </ul>
 * End-of-turn tokens are the tokenizer's stop ids (eos and generation_config's eos_token_id).
 * Everything the assistant writes in its turn is a target: for Qwen3 that includes the
 * {@code <think>\n\n</think>\n\n} block the template puts in the last turn, as TRL's
 * qwen3_training.jinja marks it.
 */
final class AssistantMask {
    private AssistantMask() {}

    /**
     * @param render renders messages with add_generation_prompt (true/false) to text
     * @param encode tokenizes rendered text (no special tokens added)
     * @param ids the whole conversation's ids (encode(render(messages, false)))
     * @param where the row, for errors
     * @return 1 on the assistant tokens of {@code ids}, 0 elsewhere
     */
    static float[] of(
            List<Map<String, Object>> messages,
            long[] ids,
            BiFunction<List<Map<String, Object>>, Boolean, String> render,
            Function<String, long[]> encode,
            int[] stopIds,
            String where) {
        float[] mask = new float[ids.length];
        int previousEnd = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).get("role"))) continue;
            if (i == 0)
                throw new DatasetException(
                        where
                                + ": messages[0] is an assistant turn; a conversation needs a user (or system) message before the first assistant turn");
            long[] before = encode.apply(render.apply(messages.subList(0, i), true));
            if (!startsWith(ids, before))
                throw new DatasetException(
                        where + ": the chat template is not prefix-preserving at messages[" + i
                                + "]: the conversation up to this "
                                + "assistant turn, rendered with add_generation_prompt, is not how the whole conversation starts, so its tokens cannot be "
                                + "located; use a training chat template (e.g. TRL's *_training.jinja) or set assistant_only_loss false");
            int start = before.length, end;
            long[] through = encode.apply(render.apply(messages.subList(0, i + 1), false));
            if (startsWith(ids, through) && through.length > start) {
                end = through.length;
                int lastStop = lastIndexOf(ids, start, end, stopIds);
                if (lastStop >= 0) end = lastStop + 1;
            } else {
                int firstStop = indexOf(ids, start, ids.length, stopIds);
                if (firstStop < 0)
                    throw new DatasetException(where + ": cannot find the end of assistant messages[" + i
                            + "]: the template renders it differently once "
                            + "later messages follow, and no end-of-turn token follows it");
                end = firstStop + 1;
            }
            if (start < previousEnd || end <= start)
                throw new DatasetException(where + ": assistant messages[" + i
                        + "] renders to no tokens of its own (tokens " + start + ".." + end + ")");
            java.util.Arrays.fill(mask, start, end, 1f);
            previousEnd = end;
        }
        return mask;
    }

    static boolean startsWith(long[] ids, long[] prefix) {
        if (prefix.length > ids.length) return false;
        for (int i = 0; i < prefix.length; i++) if (ids[i] != prefix[i]) return false;
        return true;
    }

    private static boolean isStop(long id, int[] stopIds) {
        for (int s : stopIds) if (s == id) return true;
        return false;
    }

    private static int indexOf(long[] ids, int from, int to, int[] stopIds) {
        for (int i = from; i < to; i++) if (isStop(ids[i], stopIds)) return i;
        return -1;
    }

    private static int lastIndexOf(long[] ids, int from, int to, int[] stopIds) {
        for (int i = to - 1; i >= from; i--) if (isStop(ids[i], stopIds)) return i;
        return -1;
    }
}
