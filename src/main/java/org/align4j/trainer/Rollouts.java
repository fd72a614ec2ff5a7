// SPDX-License-Identifier: Apache-2.0
package org.align4j.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.dist.Collective;
import org.align4j.dist.Distributed;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Transformer;
import org.align4j.reward.WeightedRewards;
import org.align4j.tokenizer.Tokenizer;

/**
 * The policy's own samples for online training (GRPO, rejection sampling, online DPO): G
 * completions per prompt from the batched KV-cached generator, each with the log-prob of every
 * sampled token (log softmax(logits / T) at that token) so the trainer can check its recomputed
 * log-probs against them.
 */
public final class Rollouts {
    private Rollouts() {}

    /** A prompt as ids, the text reward functions see, and its dataset row (reference answers and other columns). */
    public record Prompt(long[] ids, String text, JsonNode row) {}

    /**
     * One sampled completion.
     *
     * @param samplingLogps the log-prob of each completion token when it was sampled
     * @param terminated true when it ended on a stop id, false when max_completion_length cut it
     */
    public record Rollout(
            Prompt prompt, long[] completion, float[] samplingLogps, boolean terminated, String completionText) {}

    /**
     * {@code numGenerations} completions per prompt, prompt-major: rows g*G .. g*G+G-1 are the group of
     * prompt g (the groups GRPO's advantages are taken over). Stops at the tokenizer's stop ids
     * (EOS and generation_config's eos_token_id list).
     */
    public static List<Rollout> sample(
            Transformer policy, Tokenizer tok, List<Prompt> prompts, int numGenerations, SamplingParams params) {
        return sample(policy, tok, prompts, numGenerations, params, null);
    }

    /**
     * The same with each prompt's group sampled from its own generator, seeded by params.seed() and the prompt's index
     * in {@code prompts}, so that a group's samples do not depend on the others; with data-parallel workers, worker r
     * samples the r-th contiguous share of the prompts and every worker gets all the rollouts (gathered in order):
     * what one worker samples alone, at 1/N of the decoding each (up to the float rounding of a smaller batch).
     */
    public static List<Rollout> sampleSharded(
            Transformer policy, Tokenizer tok, List<Prompt> prompts, int numGenerations, SamplingParams params)
            throws java.io.IOException {
        Collective dist = Distributed.current();
        int n = prompts.size(),
                from = n * dist.rank() / dist.worldSize(),
                to = n * (dist.rank() + 1) / dist.worldSize();
        long[] seeds = new long[to - from];
        for (int i = from; i < to; i++) seeds[i - from] = groupSeed(params.seed(), i);
        List<Rollout> mine =
                from == to ? List.of() : sample(policy, tok, prompts.subList(from, to), numGenerations, params, seeds);
        if (dist.worldSize() == 1) return mine;
        List<Rollout> all = new ArrayList<>();
        for (String text : dist.allGatherText(JSON.writeValueAsString(toJson(mine))))
            for (Rollout r : fromJson(JSON.readTree(text))) // the prompt itself, not its copy through JSON
            all.add(new Rollout(
                    prompts.get(all.size() / numGenerations),
                    r.completion(),
                    r.samplingLogps(),
                    r.terminated(),
                    r.completionText()));
        return all;
    }

    /** The seed of the group of prompt {@code index} in a generation batch seeded {@code seed} (SplitMix64's step). */
    static long groupSeed(long seed, int index) {
        return seed + (index + 1) * 0x9E3779B97F4A7C15L;
    }

    /** {@code groupSeeds} null: one generator for the batch (params.seed()); else one per prompt's group. */
    private static List<Rollout> sample(
            Transformer policy,
            Tokenizer tok,
            List<Prompt> prompts,
            int numGenerations,
            SamplingParams params,
            long[] groupSeeds) {
        if (numGenerations < 1)
            throw new IllegalArgumentException("num_generations must be >= 1, got " + numGenerations);
        List<long[]> batch = new ArrayList<>();
        for (Prompt p : prompts) for (int g = 0; g < numGenerations; g++) batch.add(p.ids());
        Generator.Result r = groupSeeds == null
                ? Generator.generate(policy, batch, params, tok.stopTokenIds(), tok.padTokenId())
                : Generator.generate(policy, batch, params, tok.stopTokenIds(), tok.padTokenId(), groupSeeds);
        List<Rollout> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++)
            out.add(new Rollout(
                    prompts.get(i / numGenerations),
                    r.tokens()[i],
                    r.logps()[i],
                    r.stopped()[i],
                    tok.decode(r.tokens()[i], true)));
        return out;
    }

    /** The reward functions on rollouts: each sees the prompt text, the completion text and the prompt's dataset row. */
    public static WeightedRewards.Result score(WeightedRewards rewards, List<Rollouts.Rollout> rolls) {
        List<String> ptexts = new ArrayList<>(), ctexts = new ArrayList<>();
        List<JsonNode> rows = new ArrayList<>();
        for (Rollouts.Rollout r : rolls) {
            ptexts.add(r.prompt().text());
            ctexts.add(r.completionText());
            rows.add(r.prompt().row());
        }
        return rewards.score(ptexts, ctexts, rows);
    }

    /**
     * TRL's completions/* metrics over a generation round (trl/trainer/grpo_trainer.py:2232-2246): lengths of all
     * completions, the clipped (truncated) share, and mean / min / max over the terminated ones, which are all 0 when
     * none terminated (TRL measures a single 0 then).
     */
    public static Map<String, Double> lengthMetrics(List<Rollouts.Rollout> rolls) {
        double sum = 0, termSum = 0, min = Double.MAX_VALUE, max = 0, termMin = Double.MAX_VALUE, termMax = 0;
        int clipped = 0, terminated = 0;
        for (Rollouts.Rollout r : rolls) {
            int n = r.completion().length;
            sum += n;
            min = Math.min(min, n);
            max = Math.max(max, n);
            if (r.terminated()) {
                terminated++;
                termSum += n;
                termMin = Math.min(termMin, n);
                termMax = Math.max(termMax, n);
            } else {
                clipped++;
            }
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("completions/mean_length", sum / rolls.size());
        m.put("completions/min_length", min);
        m.put("completions/max_length", max);
        m.put("completions/clipped_ratio", (double) clipped / rolls.size());
        // no terminated completion: TRL takes the statistics of a single 0 (rloo_trainer.py:1317-1322)
        m.put("completions/mean_terminated_length", terminated == 0 ? 0.0 : termSum / terminated);
        m.put("completions/min_terminated_length", terminated == 0 ? 0.0 : termMin);
        m.put("completions/max_terminated_length", terminated == 0 ? 0.0 : termMax);
        return m;
    }

    /** The fixed columns of a completions.jsonl row; a reward function of one of these names is logged as rewards/NAME. */
    private static final java.util.Set<String> COMPLETION_COLUMNS =
            java.util.Set.of("step", "prompt", "completion", "reward", "advantage", "pair", "chosen");

    /**
     * log_completions' rows of a generation batch (without {@code step}, which the loop adds): {@code prompt}, {@code
     * completion} (the text the reward functions scored: the trained tokens decoded), each function's raw value under
     * its name ({@code perRollout[i][k]}, null where it gave no reward), the weighted total {@code reward} and, when
     * {@code advantages} is not null, the {@code advantage}. Mutable, so a method can add its own columns.
     */
    static List<Map<String, Object>> completionRows(
            List<Rollout> rolls, List<String> names, double[][] perRollout, double[] total, double[] advantages) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < rolls.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("prompt", rolls.get(i).prompt().text());
            row.put("completion", rolls.get(i).completionText());
            for (int k = 0; k < names.size(); k++) {
                String name = names.get(k);
                row.put(COMPLETION_COLUMNS.contains(name) ? "rewards/" + name : name, finite(perRollout[i][k]));
            }
            row.put("reward", finite(total[i]));
            if (advantages != null) row.put("advantage", finite(advantages[i]));
            rows.add(row);
        }
        return rows;
    }

    /** The scores of {@code res} per rollout: {@code [i][k]}, function k's value for rollout i. */
    static double[][] perRollout(WeightedRewards.Result res) {
        double[][] per = new double[res.total().length][res.names().size()];
        for (int k = 0; k < res.names().size(); k++)
            for (int i = 0; i < per.length; i++) per[i][k] = res.perFunction()[k][i];
        return per;
    }

    /** NaN (no reward) as JSON null. */
    private static Double finite(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /** Rollouts as JSON rows (a generation batch in flight, saved in a checkpoint); {@link #fromJson} reads them back. */
    static com.fasterxml.jackson.databind.node.ArrayNode toJson(List<Rollout> rolls) {
        var rows = JSON.createArrayNode();
        for (Rollout r : rolls) {
            var o = rows.addObject();
            o.set("prompt_ids", JSON.valueToTree(r.prompt().ids()));
            o.put("prompt", r.prompt().text());
            o.set("row", r.prompt().row());
            o.set("completion_ids", JSON.valueToTree(r.completion()));
            o.set("sampling_logps", JSON.valueToTree(r.samplingLogps()));
            o.put("terminated", r.terminated());
            o.put("completion", r.completionText());
        }
        return rows;
    }

    /** The rollouts {@link #toJson} wrote. */
    static List<Rollout> fromJson(JsonNode rows) throws java.io.IOException {
        List<Rollout> out = new ArrayList<>();
        for (JsonNode o : rows)
            out.add(new Rollout(
                    new Prompt(
                            JSON.treeToValue(o.get("prompt_ids"), long[].class),
                            o.path("prompt").asText(),
                            o.get("row")),
                    JSON.treeToValue(o.get("completion_ids"), long[].class),
                    JSON.treeToValue(o.get("sampling_logps"), float[].class),
                    o.path("terminated").asBoolean(),
                    o.path("completion").asText()));
        return out;
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
}
