// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import java.util.ArrayList;
import java.util.List;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.reward.FormatReward;
import org.align4j.reward.Gsm8kAnswerReward;
import org.align4j.reward.LengthReward;
import org.align4j.reward.RewardFunction;
import org.align4j.reward.WeightedRewards;

/**
 * The reward_funcs of the online commands (grpo, rjs, online_dpo): built-ins by name, weighted by
 * reward_weights (TRL's keys). A reward model from the {@code reward} command is used by the
 * commands that load one (reward_model_name_or_path).
 */
final class RewardFunctions {
    static final List<String> BUILT_INS = List.of("gsm8k_answer", "format", "length");

    private RewardFunctions() {}

    static List<Spec> specs() {
        return List.of(
                of("reward_funcs", Type.STRING, "gsm8k_answer", "comma-separated: " + String.join(", ", BUILT_INS)),
                of("reward_weights", Type.STRING, null, "one weight per reward function (default 1 each)"),
                of("length_target_chars", Type.INT, 400, "length reward: characters allowed before the penalty starts"),
                of("length_penalty_per_char", Type.DOUBLE, 0.001, "length reward: penalty per character beyond the target"));
    }

    static WeightedRewards weighted(String command, Options o) {
        List<RewardFunction> fns = new ArrayList<>();
        for (String name : o.strings("reward_funcs")) {
            fns.add(switch (name) {
                case "gsm8k_answer" -> new Gsm8kAnswerReward();
                case "format" -> FormatReward.gsm8kAnswerAtEnd();
                case "length" -> new LengthReward("length", o.integer("length_target_chars"), o.number("length_penalty_per_char"));
                default -> throw new CliException(command + ": unknown reward function '" + name + "' in reward_funcs; valid: " + BUILT_INS);
            });
        }
        if (fns.isEmpty()) throw new CliException(command + ": reward_funcs is empty; name at least one of " + BUILT_INS);
        List<Double> weights = o.has("reward_weights") ? o.doubles("reward_weights") : null;
        try {
            return new WeightedRewards(fns, weights);
        } catch (IllegalArgumentException e) {
            throw new CliException(command + ": " + e.getMessage());
        }
    }
}
