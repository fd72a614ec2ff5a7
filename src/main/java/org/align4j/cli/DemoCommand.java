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
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
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
            of("quick", Type.BOOLEAN, false, "short run (300 steps) to check the pipeline"),
            of("overwrite_output_dir", Type.BOOLEAN, false, "replace an existing output_dir"));

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_OPERAND = 50, HELD_OUT = 100;

    private DemoCommand() {}

    static void run(String[] args) throws Exception {
        Options o = Options.parse("demo", SPECS, args);
        Path out = o.path("output_dir"), modelDir = out.resolve("model");
        if (Files.exists(modelDir) && !o.flag("overwrite_output_dir"))
            throw new CliException("output_dir " + out + " already holds a demo model; pass --overwrite_output_dir true or choose another --output_dir");
        int steps = o.flag("quick") ? 300 : o.integer("max_steps");
        long seed = o.longValue("seed");
        Files.createDirectories(modelDir);
        ByteLevelTokenizerFiles.write(modelDir, true);

        // the task: every a+b with a, b < 50, a fixed random 100 held out for evaluation
        List<int[]> problems = new ArrayList<>();
        for (int a = 0; a < MAX_OPERAND; a++) for (int b = 0; b < MAX_OPERAND; b++) problems.add(new int[] {a, b});
        java.util.Collections.shuffle(problems, new Random(seed));
        List<int[]> test = problems.subList(0, HELD_OUT), train = problems.subList(HELD_OUT, problems.size());

        ModelConfig config = ModelPresets.llama(320, 128, 384, 4, 4, 2, 64);
        System.out.printf("demo: task a+b (a, b < %d): %d training problems, %d held out; model %s%n",
                MAX_OPERAND, train.size(), test.size(), "llama 4x128");
        try (Tokenizer tok = Tokenizer.load(modelDir); Transformer model = ModelPresets.randomInit(config, seed)) {
            System.out.printf("demo: %,d parameters, training %d steps on %d threads%n", model.numParameters(), steps, torch.get_num_threads());
            long t0 = System.nanoTime();
            List<Double> losses = train(model, tok, train, steps, o.integer("per_device_train_batch_size"), o.number("learning_rate"), seed);
            double trainSeconds = (System.nanoTime() - t0) / 1e9;

            Checkpoints.save(model, modelDir, "float32", true);
            Map<String, Object> results = new LinkedHashMap<>();
            try (Transformer reloaded = Checkpoints.load(modelDir)) {
                results.put("reload_max_abs_logit_diff", maxLogitDiff(model, reloaded, tok));
                results.putAll(evaluate(reloaded, tok, test, seed));
            }
            results.put("train_steps", steps);
            results.put("train_seconds", Math.round(trainSeconds * 10) / 10.0);
            results.put("loss_first", losses.get(0));
            results.put("loss_last", losses.get(losses.size() - 1));
            results.put("checkpoint", modelDir.toString());
            Files.writeString(out.resolve("results.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results) + "\n");
            System.out.println();
            System.out.println("| metric | value |");
            System.out.println("|---|---|");
            for (var e : results.entrySet()) System.out.println("| " + e.getKey() + " | " + e.getValue() + " |");
            System.out.println("\ndemo: wrote " + out.resolve("results.json") + " and the HF checkpoint " + modelDir);
        }
    }

    private static List<Double> train(Transformer model, Tokenizer tok, List<int[]> train, int steps, int batch, double lr, long seed) {
        model.requiresGrad(true);
        TensorVector params = model.parameterVector();
        AdamWOptions opts = new AdamWOptions(lr);
        opts.weight_decay().put(0.0);
        List<Double> losses = new ArrayList<>();
        Random rng = new Random(seed + 1);
        try (AdamW opt = new AdamW(params, opts)) {
            for (int step = 0; step < steps; step++) {
                // cosine schedule with 5% linear warm-up
                int warm = Math.max(1, steps / 20);
                double f = step < warm ? (step + 1.0) / warm : 0.5 * (1 + Math.cos(Math.PI * (step - warm) / Math.max(1, steps - warm)));
                setLr(opt, lr * f);
                List<long[]> prompts = new ArrayList<>(), completions = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    int[] p = train.get(rng.nextInt(train.size()));
                    prompts.add(tok.encode(prompt(p)));
                    completions.add(withEos(tok.encodeNoSpecial(answer(p)), tok.eosTokenId()));
                }
                double loss = completionLossStep(model, prompts, completions, tok.padTokenId(), params, opt);
                losses.add(loss);
                if (step % Math.max(1, steps / 10) == 0 || step == steps - 1)
                    System.out.printf("demo: step %5d  loss %.4f  lr %.2e%n", step, loss, lr * f);
            }
        }
        model.requiresGrad(false);
        return losses;
    }

    /** Mean negative log-likelihood of the completion tokens (prompt and padding masked), one AdamW step. */
    private static double completionLossStep(Transformer model, List<long[]> prompts, List<long[]> completions, long pad, TensorVector params, AdamW opt) {
        int b = prompts.size(), t = 0;
        for (int r = 0; r < b; r++) t = Math.max(t, prompts.get(r).length + completions.get(r).length);
        long[] ids = new long[b * t], attn = new long[b * t];
        float[] lossMask = new float[b * (t - 1)];
        Arrays.fill(ids, pad);
        for (int r = 0; r < b; r++) {
            long[] p = prompts.get(r), c = completions.get(r);
            System.arraycopy(p, 0, ids, r * t, p.length);
            System.arraycopy(c, 0, ids, r * t + p.length, c.length);
            Arrays.fill(attn, r * t, r * t + p.length + c.length, 1L);
            Arrays.fill(lossMask, r * (t - 1) + p.length - 1, r * (t - 1) + p.length - 1 + c.length, 1f); // predicts completion tokens
        }
        try (PointerScope s = new PointerScope()) {
            Tensor idsT = Tensors.longs(ids, b, t), maskT = Tensors.longs(attn, b, t);
            Tensor logits = model.logits(model.forward(idsT, maskT, null).narrow(1, 0, t - 1)); // (B, T-1, V)
            Tensor lp = LogProbs.tokenLogps(logits, idsT.narrow(1, 1, t - 1)); // (B, T-1)
            Tensor m = Tensors.floats(lossMask, b, t - 1);
            Tensor loss = lp.mul(m).sum().neg().div(m.sum());
            opt.zero_grad();
            loss.backward();
            torch.clip_grad_norm_(params, 1.0, 2.0, false);
            opt.step();
            return loss.item_float();
        }
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

    private static void setLr(AdamW opt, double lr) {
        var groups = opt.param_groups();
        for (long i = 0; i < groups.size(); i++) groups.get(i).options().set_lr(lr);
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
