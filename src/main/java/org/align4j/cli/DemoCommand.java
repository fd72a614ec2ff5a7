// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.align4j.cli.Options.Spec.of;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.align4j.cli.Options.Spec;
import org.align4j.cli.Options.Type;
import org.align4j.data.Sequence;
import org.align4j.demo.ByteLevelTokenizerFiles;
import org.align4j.engine.Tensors;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.ModelConfig;
import org.align4j.model.ModelPresets;
import org.align4j.model.Transformer;
import org.align4j.tokenizer.Tokenizer;
import org.align4j.trainer.TrainingArgs;
import org.align4j.trainer.SftTrainer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code demo}: the end-to-end job on an embedded default, no files needed. It makes its own
 * task (two-number addition, "23+19=" -> "42"), trains a tiny llama-shaped model from scratch on
 * it (completion-only next-token loss, AdamW), saves it as a Hugging Face checkpoint with a
 * byte-level tokenizer, loads it back (checking the logits are bit-identical), then generates
 * (greedy and sampled) on held-out problems and scores correct against wrong answers with the
 * same log-prob code the {@code logprobs} command uses. The adversarial demo (issue 5) replaces it.
 */
final class DemoCommand {
    static final List<Spec> SPECS = List.of(
            of("output_dir", Type.PATH, Path.of("runs/demo"), "where the checkpoint and results.json go"),
            of("max_steps", Type.INT, 1500, "training steps"),
            of("per_device_train_batch_size", Type.INT, 64, "problems per step"),
            of("learning_rate", Type.DOUBLE, 3e-3, "AdamW peak learning rate (cosine decay, 5% warm-up)"),
            of("seed", Type.LONG, 42L, "seeds the task split, init, data order and sampling"),
            of("quick", Type.BOOLEAN, false, "short run (600 steps) to check the pipeline"),
            of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing output_dir"));

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_OPERAND = 50, HELD_OUT = 100;

    private DemoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("demo", SPECS, args);
        Path out = o.path("output_dir"), modelDir = out.resolve("model");
        if (Files.exists(modelDir) && !o.flag("overwrite_output_dir"))
            throw new CliException("output_dir " + out + " already holds a demo model; pass --overwrite_output_dir true or choose another --output_dir");
        int steps = o.flag("quick") ? 600 : o.integer("max_steps");
        long seed = o.longValue("seed");

        // the task: every a+b with a, b < 50, a fixed random 100 held out for evaluation
        List<int[]> problems = new ArrayList<>();
        for (int a = 0; a < MAX_OPERAND; a++) for (int b = 0; b < MAX_OPERAND; b++) problems.add(new int[] {a, b});
        java.util.Collections.shuffle(problems, new Random(seed));
        List<int[]> test = problems.subList(0, HELD_OUT), train = problems.subList(HELD_OUT, problems.size());

        ModelConfig config = ModelPresets.llama(320, 128, 384, 4, 4, 2, 64);
        System.out.printf("demo: task a+b (a, b < %d): %d training problems, %d held out; model %s%n",
                MAX_OPERAND, train.size(), test.size(), "llama 4x128");
        if (o.flag("overwrite_output_dir")) org.align4j.io.AtomicFiles.deleteRecursively(modelDir);
        Files.createDirectories(modelDir);
        ByteLevelTokenizerFiles.write(modelDir, true);
        try (Tokenizer tok = Tokenizer.load(modelDir); Transformer model = ModelPresets.randomInit(config, seed)) {
            System.out.printf("demo: %,d parameters, training %d steps on %d threads%n", model.numParameters(), steps, torch.get_num_threads());
            List<Sequence> examples = new ArrayList<>();
            for (int[] p : train) examples.add(example(tok, p));
            // cosine decay with 5% warm-up; the SFT run writes metrics.jsonl and the final HF checkpoint into modelDir
            TrainingArgs sft = TrainingArgs.defaults(modelDir).withSteps(steps, o.integer("per_device_train_batch_size"), 1, o.number("learning_rate"))
                    .withLogging(Math.max(1, steps / 10), 0).withSchedule("cosine", 0.05, 0.0);
            long t0 = System.nanoTime();
            org.align4j.trainer.TrainResult run = SftTrainer.train(model, examples, sft, tok.padTokenId(), o.resolved());
            double trainSeconds = (System.nanoTime() - t0) / 1e9;

            Map<String, Object> results = new LinkedHashMap<>();
            try (Transformer reloaded = Checkpoints.load(modelDir)) {
                results.put("reload_max_abs_logit_diff", maxLogitDiff(model, reloaded, tok));
                results.putAll(evaluate(reloaded, tok, test, seed));
            }
            results.put("train_steps", steps);
            results.put("train_seconds", Math.round(trainSeconds * 10) / 10.0);
            results.put("loss_first", run.logged().get(0).get("loss"));
            results.put("loss_last", run.logged().get(run.logged().size() - 1).get("loss"));
            results.put("checkpoint", modelDir.toString());
            Files.writeString(out.resolve("results.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results) + "\n");
            System.out.println();
            System.out.println("| metric | value |");
            System.out.println("|---|---|");
            for (var e : results.entrySet()) System.out.println("| " + e.getKey() + " | " + e.getValue() + " |");
            System.out.println("\ndemo: wrote " + out.resolve("results.json") + " and the HF checkpoint " + modelDir);
        }
    }

    /** "a+b=" is context, the answer and EOS are the targets (completion-only loss). */
    private static Sequence example(Tokenizer tok, int[] p) {
        return Sequence.promptCompletion(tok.encode(prompt(p)), withEos(tok.encodeNoSpecial(answer(p)), tok.eosTokenId()));
    }

    private static Map<String, Object> evaluate(Transformer model, Tokenizer tok, List<int[]> test, long seed) {
        List<long[]> prompts = new ArrayList<>();
        for (int[] p : test) prompts.add(tok.encode(prompt(p)));
        Map<String, Object> r = new LinkedHashMap<>();
        Generator.Result greedy = Generator.generate(model, prompts, SamplingParams.greedy(6), tok.stopTokenIds(), tok.padTokenId());
        Generator.Result sampled = Generator.generate(model, prompts, new SamplingParams(1.0, 0, 1.0, 6, seed), tok.stopTokenIds(), tok.padTokenId());
        r.put("heldout_accuracy_greedy", accuracy(greedy, tok, test));
        r.put("heldout_accuracy_sampled_t1", accuracy(sampled, tok, test));
        List<String> examples = new ArrayList<>();
        for (int i = 0; i < 5; i++) examples.add(prompt(test.get(i)) + tok.decode(greedy.tokens()[i], true));
        r.put("greedy_examples", examples);
        // score: the right answer against an off-by-one wrong answer, per held-out problem
        List<long[]> right = new ArrayList<>(), wrong = new ArrayList<>();
        for (int[] p : test) {
            right.add(withEos(tok.encodeNoSpecial(answer(p)), tok.eosTokenId()));
            wrong.add(withEos(tok.encodeNoSpecial(Integer.toString(p[0] + p[1] + 1)), tok.eosTokenId()));
        }
        float[][] lpRight = LogProbs.completionTokenLogps(model, prompts, right, tok.padTokenId());
        float[][] lpWrong = LogProbs.completionTokenLogps(model, prompts, wrong, tok.padTokenId());
        double meanRight = 0, meanWrong = 0;
        int prefer = 0;
        for (int i = 0; i < test.size(); i++) {
            double a = LogProbs.sum(lpRight[i]), w = LogProbs.sum(lpWrong[i]);
            meanRight += a / test.size();
            meanWrong += w / test.size();
            if (a > w) prefer++;
        }
        r.put("mean_logp_right_answer", Math.round(meanRight * 1000) / 1000.0);
        r.put("mean_logp_wrong_answer", Math.round(meanWrong * 1000) / 1000.0);
        r.put("frac_right_scored_above_wrong", prefer / (double) test.size());
        return r;
    }

    private static double accuracy(Generator.Result res, Tokenizer tok, List<int[]> test) {
        int ok = 0;
        for (int i = 0; i < test.size(); i++) if (tok.decode(res.tokens()[i], true).trim().equals(answer(test.get(i)))) ok++;
        return ok / (double) test.size();
    }

    private static double maxLogitDiff(Transformer a, Transformer b, Tokenizer tok) {
        try (PointerScope s = new PointerScope(); org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
            long[] ids = tok.encode("12+34=46");
            Tensor x = Tensors.longs(ids, 1, ids.length);
            Tensor la = a.logits(a.forward(x, null, null)), lb = b.logits(b.forward(x, null, null));
            return la.sub(lb).abs().max().item_float();
        }
    }

    static String prompt(int[] p) {
        return p[0] + "+" + p[1] + "=";
    }

    static String answer(int[] p) {
        return Integer.toString(p[0] + p[1]);
    }

    private static long[] withEos(long[] ids, long eos) {
        long[] r = Arrays.copyOf(ids, ids.length + 1);
        r[ids.length] = eos;
        return r;
    }
}
