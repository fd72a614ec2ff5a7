// SPDX-License-Identifier: Apache-2.0
import java.util.*;
import org.align4j.data.PreferencePair;
import org.align4j.engine.Tensors;
import org.align4j.loss.DpoLoss;
import org.align4j.loss.PairLogps;
import org.align4j.model.*;
import org.align4j.trainer.*;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;

/**
 * The phases of one DPO step as DpoTrainer.microBatch + AdamW.clipStepAndZero run them, rebuilt
 * from public API and timed apart (llama-25m, 4 pairs of 128 + 128 tokens, identical reference);
 * the "TRL metrics" phase is the detached block of CompletionBatch.fromHidden written out. Prints
 * each iteration's total and the median of iterations 2-4 per phase; tools/bench/dpo_phases.py
 * is the PyTorch side.
 *
 *   java --enable-native-access=ALL-UNNAMED -cp "target/align4j.jar:target/lib/*" tools/bench/DpoPhases.java
 */
public class DpoPhases {
    public static void main(String[] a) throws Exception {
        org.align4j.engine.NativeEnv.configure();
        ModelConfig c = ModelPresets.named("llama-25m");
        Transformer policy = ModelPresets.randomInit(c, 0), ref = ModelPresets.randomInit(c, 0);
        Random rng = new Random(0);
        List<PreferencePair> mb = new ArrayList<>();
        for (int i = 0; i < 4; i++) mb.add(new PreferencePair(ids(rng, 128), ids(rng, 128), ids(rng, 128)));
        policy.requiresGrad(true);
        org.align4j.trainer.AdamW opt = org.align4j.trainer.AdamW.withDefaults(policy.trainableParameters(), 0);
        String[] names = {
            "batch",
            "ref logps (no grad)",
            "policy forward (hidden)",
            "logits+tokenLogps+logps",
            "TRL metrics (detached)",
            "loss",
            "backward",
            "clip+AdamW+zero"
        };
        double[][] ms = new double[names.length][4];
        for (int it = 0; it < 4; it++) {
            try (PointerScope s = new PointerScope()) {
                long t = System.nanoTime();
                int p = 0;
                CompletionBatch.Inputs in = CompletionBatch.pairs(mb, 0);
                t = lap(ms, p++, it, t);
                Tensor refLp = CompletionBatch.referenceLogps(ref, in);
                t = lap(ms, p++, it, t);
                Tensor hidden = policy.forward(in.ids(), in.attention(), null);
                t = lap(ms, p++, it, t);
                int tl = in.length();
                Tensor logits = policy.logits(hidden.narrow(1, 0, tl - 1));
                Tensor tok = LogProbs.tokenLogps(logits, in.ids().narrow(1, 1, tl - 1));
                Tensor logps = Tensors.sum(tok.mul(in.completionMask()), 1);
                logps.sum().item_double();
                t = lap(ms, p++, it, t);
                try (NoGradGuard g = new NoGradGuard()) { // the detached block of CompletionBatch.fromHidden
                    Tensor mask = in.completionMask(), d = logits.detach();
                    Tensor lse = d.logsumexp(new long[] {-1}, true);
                    Tensors.sum(Tensors.mean(d, -1).mul(mask), 1).sum().item_double();
                    Tensor entropy = lse.squeeze(-1)
                            .sub(Tensors.sum(
                                    torch.softmax(d, -1, new ScalarTypeOptional())
                                            .mul(d),
                                    -1));
                    Tensors.sum(entropy.mul(mask), 1).sum().item_double();
                    Tensors.sum(
                                    d.argmax(new LongOptional(-1), false)
                                            .eq(in.ids().narrow(1, 1, tl - 1))
                                            .to(torch.ScalarType.Float)
                                            .mul(mask),
                                    1)
                            .sum()
                            .item_double();
                }
                t = lap(ms, p++, it, t);
                PairLogps lp = new PairLogps(
                        logps.narrow(0, 0, 4), logps.narrow(0, 4, 4), refLp.narrow(0, 0, 4), refLp.narrow(0, 4, 4));
                Tensor loss =
                        DpoLoss.perPair(lp, DpoLoss.Config.defaults()).sum().div(Tensors.scalar(4.0));
                loss.item_double();
                t = lap(ms, p++, it, t);
                loss.backward();
                t = lap(ms, p++, it, t);
                opt.clipStepAndZero(policy, 1.0, 1e-6);
                lap(ms, p++, it, t);
                double sum = 0;
                for (double[] x : ms) sum += x[it];
                System.out.printf("iteration %d total %.1f ms (microBatch part %.1f)%n", it, sum, sum - ms[7][it]);
            }
        }
        double total = 0;
        for (int i = 0; i < names.length; i++) {
            double[] v = Arrays.copyOfRange(ms[i], 1, 4);
            Arrays.sort(v);
            total += v[1];
            System.out.printf("%-28s %8.1f ms%n", names[i], v[1]);
        }
        System.out.printf("%-28s %8.1f ms%n", "sum of medians", total);
    }

    static long lap(double[][] ms, int p, int it, long t) {
        long n = System.nanoTime();
        ms[p][it] = (n - t) / 1e6;
        return n;
    }

    static long[] ids(Random r, int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = r.nextInt(16384);
        return v;
    }
}
