// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.engine.Tensors;
import org.align4j.model.Checkpoints;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.trainer.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data parallel as a user runs it: {@code ./align4j sft|dpo --nproc_per_node 2 --per_device_train_batch_size B}
 * (torchrun's semantics: the launcher starts two workers on Gloo) trains as one worker with 2B rows per micro-batch.
 *
 * <p>The bounds: the first step's metrics are computed before any update, from the same rows; only the order of float
 * additions differs (two partial sums added by the all-reduce instead of one), so they agree to float32 rounding
 * (relative 1e-5); counts (num_tokens, epoch) are exact. AdamW's first update moves each element by lr·m̂/(√v̂+ε) with
 * m̂ = g and √v̂ = |g|, i.e. by at most lr, so the weights after one step differ by at most 2·lr per element (where a
 * gradient is float noise its sign may differ), and by far less where the gradient is not noise.
 */
class DataParallelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TINY =
            Golden.resourceDir("golden/llama-tiny").toAbsolutePath().toString();
    private static final double LR = 1e-3;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The length reward scoring from the first character, so that the samples of one prompt score apart: advantages and
     * pairs are not all 0 (the default target, 400 characters, scores every short sample 0).
     */
    static final List<String> SCORED_LENGTH =
            List.of("--reward_funcs", "length", "--length_target_chars", "0", "--length_penalty_per_char", "0.1");

    /**
     * {@code ./align4j [--nproc_per_node N --master_port <free>] args...} with one thread a process in the single
     * process too, as each of 2 workers has on 2 cores: the same kernels give the same floats; it must succeed.
     */
    private static void job(Path tmp, int workers, List<String> args) throws Exception {
        List<String> all = new ArrayList<>();
        if (workers > 1) all.addAll(List.of("--nproc_per_node", "" + workers, "--master_port", "" + freePort()));
        all.addAll(args);
        CliProcess.Result r = CliProcess.run(tmp, Map.of("OMP_NUM_THREADS", "1"), all);
        assertEquals(0, r.exitCode(), String.join(" ", all) + ":\n" + r.output());
    }

    private static Path data(Path tmp, boolean pairs) throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 16; i++)
            rows.add(JSON.writeValueAsString(
                    pairs
                            ? Map.of("prompt", i + "+" + i + "=", "chosen", "" + 2 * i, "rejected", "" + (2 * i + 1))
                            : Map.of("prompt", i + "+" + i + "=", "completion", "" + 2 * i)));
        Path f = tmp.resolve(pairs ? "pairs.jsonl" : "pc.jsonl");
        Files.write(f, rows);
        return f;
    }

    private static void run(Path tmp, String command, Path data, Path out, int workers, int perDevice, String... extra)
            throws Exception {
        List<String> args = new ArrayList<>(List.of(
                command,
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "1",
                "--learning_rate",
                "" + LR,
                "--per_device_train_batch_size",
                "" + perDevice,
                "--logging_steps",
                "1",
                "--save_steps",
                "0"));
        args.addAll(List.of(extra));
        job(tmp, workers, args);
    }

    /** A run's final model: the folder's weights, or the tiny base with the folder's LoRA adapter. */
    private static Transformer load(Path dir) throws Exception {
        if (!Files.exists(dir.resolve("adapter_config.json"))) return Checkpoints.load(dir);
        Transformer m = Checkpoints.load(Path.of(TINY));
        org.align4j.model.Lora.loadAdapter(m, dir);
        return m;
    }

    private static void assertSameRun(Path one, Path two) throws Exception {
        List<JsonNode> a = MetricsLog.read(one), b = MetricsLog.read(two);
        assertEquals(a.size(), b.size(), "rank 0 alone writes metrics.jsonl: " + b);
        assertSameRow(a.get(0), b.get(0));
        assertSameWeights(one, two);
    }

    /** Every metric of two logged rows, to float32 rounding (relative 1e-5); num_tokens exactly. */
    private static void assertSameRow(JsonNode x, JsonNode y) {
        List<String> keys = new ArrayList<>();
        x.fieldNames().forEachRemaining(keys::add);
        List<String> keysB = new ArrayList<>();
        y.fieldNames().forEachRemaining(keysB::add);
        assertEquals(keys, keysB, "every logged metric");
        for (String k : keys) {
            double u = x.get(k).asDouble(), v = y.get(k).asDouble();
            if (Double.isNaN(u)) assertTrue(Double.isNaN(v), k + " in " + x + " and " + y);
            else assertEquals(u, v, 1e-5 * Math.max(1, Math.abs(u)), k + " in " + x + " and " + y);
        }
        assertEquals(x.get("num_tokens").asLong(), y.get("num_tokens").asLong());
    }

    /** The trainable weights of two final models, within the bound in the class comment. */
    private static void assertSameWeights(Path one, Path two) throws Exception {
        try (Transformer m1 = load(one);
                Transformer m2 = load(two)) {
            int far = 0, total = 0;
            for (var e : m1.trainableParameters().entrySet()) {
                float[] p = Tensors.toFloats(e.getValue()),
                        q = Tensors.toFloats(m2.trainableParameters().get(e.getKey()));
                for (int i = 0; i < p.length; i++) {
                    double d = Math.abs(p[i] - q[i]);
                    assertTrue(d <= 2 * LR + 1e-6, e.getKey() + "[" + i + "] differs by " + d);
                    if (d > 1e-6) far++;
                    total++;
                }
            }
            assertTrue(far < total / 1000 + 1, far + " of " + total + " weights differ by more than 1e-6");
            assertTrue(total > 0, "no trainable weight compared");
        }
    }

    @Test
    void twoWorkersOfBatchFourTrainSftAsOneWorkerOfEight(@TempDir Path tmp) throws Exception {
        Path data = data(tmp, false);
        run(tmp, "sft", data, tmp.resolve("one"), 1, 8);
        run(tmp, "sft", data, tmp.resolve("two"), 2, 4);
        assertSameRun(tmp.resolve("one"), tmp.resolve("two"));
    }

    /**
     * LoRA and gradient checkpointing unchanged: the adapters are the trainable parameters the workers start equal
     * (rank 0's broadcast) and all-reduce (lora_dropout 0: each worker's dropout masks come from its own stream, as
     * with DDP, so with dropout the runs agree in distribution, not bit for bit).
     */
    @Test
    void twoWorkersTrainSftWithLoraAndGradientCheckpointingAsOneWorker(@TempDir Path tmp) throws Exception {
        Path data = data(tmp, false);
        String[] lora = {"--use_peft", "true", "--lora_dropout", "0", "--gradient_checkpointing", "true"};
        run(tmp, "sft", data, tmp.resolve("one"), 1, 8, lora);
        run(tmp, "sft", data, tmp.resolve("two"), 2, 4, lora);
        assertTrue(Files.exists(tmp.resolve("two/adapter_model.safetensors")), "an adapter folder");
        assertSameRun(tmp.resolve("one"), tmp.resolve("two"));
    }

    @Test
    void twoWorkersOfBatchFourTrainDpoAsOneWorkerOfEight(@TempDir Path tmp) throws Exception {
        Path data = data(tmp, true);
        run(tmp, "dpo", data, tmp.resolve("one"), 1, 8);
        run(tmp, "dpo", data, tmp.resolve("two"), 2, 4);
        assertSameRun(tmp.resolve("one"), tmp.resolve("two"));
    }

    /** One step of an online method ({@code grpo}, {@code rloo}, ...) on 4 completions per micro-batch. */
    private static void online(
            Path tmp, String command, Path prompts, Path out, int workers, int accumulation, String... extra)
            throws Exception {
        List<String> args = new ArrayList<>(List.of(
                command,
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                prompts.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "1",
                "--learning_rate",
                "" + LR,
                "--num_generations",
                "4",
                "--per_device_train_batch_size",
                "4",
                "--gradient_accumulation_steps",
                "" + accumulation,
                command.equals("online_dpo") ? "--max_new_tokens" : "--max_completion_length",
                "6",
                "--logging_steps",
                "1",
                "--save_steps",
                "0"));
        args.addAll(SCORED_LENGTH);
        args.addAll(List.of(extra));
        job(tmp, workers, args);
    }

    /**
     * GRPO: every worker samples the whole generation batch (same seed, same weights) and trains on its share of the
     * micro-batches, so 2 workers x 1 micro-batch of 4 completions is 1 worker x 2 micro-batches of 4 (the same
     * partition, so even TRL's per-micro-batch metric means agree).
     */
    @Test
    void twoWorkersTrainGrpoAsOneWorkerAccumulatingTwoMicroBatches(@TempDir Path tmp) throws Exception {
        twoWorkersTrainAsOneWorkerAccumulatingTwoMicroBatches(tmp, "grpo");
    }

    /**
     * RLOO, as GRPO: every worker samples the generation batch; each prices (pi_old, pi_ref: beta is 0.05 by default)
     * and trains its share of the micro-batches, and the per-rollout KL sums are added across workers before the
     * leave-one-out advantages. The reference is the tiny model after one SFT step, so the KL is not 0 from the start.
     */
    @Test
    void twoWorkersTrainRlooAsOneWorkerAccumulatingTwoMicroBatches(@TempDir Path tmp) throws Exception {
        twoWorkersTrainAsOneWorkerAccumulatingTwoMicroBatches(tmp, "rloo");
    }

    /**
     * Online DPO shards the sampling: worker r samples, scores and pairs micro-batches r, r + 2, ... with each
     * micro-batch's own seed; the pair count, the sampling metrics and the completions rows are gathered, so 2 workers
     * x 1 micro-batch sample, log and update as 1 worker x 2 (best_vs_worst of 4 samples; the completions.jsonl rows,
     * pair indices included, are the same).
     */
    @Test
    void twoWorkersTrainOnlineDpoAsOneWorkerAccumulatingTwoMicroBatches(@TempDir Path tmp) throws Exception {
        twoWorkersTrainAsOneWorkerAccumulatingTwoMicroBatches(
                tmp, "online_dpo", "--pairing", "best_vs_worst", "--log_completions", "true");
        List<JsonNode> one = MetricsLog.read(tmp.resolve("one"), "completions.jsonl"),
                two = MetricsLog.read(tmp.resolve("two"), "completions.jsonl");
        assertEquals(16 * 2, one.size(), "2 micro-batches of 4 prompts x 4 samples");
        assertEquals(one, two);
        assertTrue(one.stream().anyMatch(r -> r.get("pair").isInt()), "some prompt paired");
    }

    /**
     * Resume under data parallelism, as a user restarts a job: grpo on 2 workers with num_iterations 2 saves
     * checkpoint-1 between the step that samples a generation batch and the step that reuses it; a new 2-worker job
     * resumed from that checkpoint restores the batch and its pi_old on every worker and logs step 2 and saves the
     * model as the uninterrupted job did.
     */
    @Test
    void twoWorkersResumeGrpoMidGenerationBatchAsTheUninterruptedJob(@TempDir Path tmp) throws Exception {
        Path q = prompts(tmp);
        String[] twoSteps = {"--max_steps", "2", "--save_steps", "1", "--num_iterations", "2"};
        online(tmp, "grpo", q, tmp.resolve("whole"), 2, 1, twoSteps);
        List<String> resumed = new ArrayList<>(List.of(twoSteps));
        resumed.addAll(List.of(
                "--resume_from_checkpoint", tmp.resolve("whole/checkpoint-1").toString()));
        online(tmp, "grpo", q, tmp.resolve("resumed"), 2, 1, resumed.toArray(String[]::new));
        List<JsonNode> whole = MetricsLog.read(tmp.resolve("whole")), again = MetricsLog.read(tmp.resolve("resumed"));
        assertEquals(2, whole.get(1).get("step").asInt());
        assertEquals(2, again.getLast().get("step").asInt(), "the resumed job logs step 2: " + again);
        assertSameRow(whole.get(1), again.getLast());
        assertSameWeights(tmp.resolve("whole"), tmp.resolve("resumed"));
    }

    /**
     * Rejection sampling: worker r samples and scores generation batches r, r + 2, ... (each with its own seed); every
     * worker gets all of them, keeps the same best samples and fine-tunes on them data-parallel, so 2 workers x 4 rows
     * give the samples, round metrics and SFT of 1 worker x 8 rows; rank 0 alone writes.
     */
    @Test
    void twoWorkersRunRjsAsOneWorkerOfTwiceTheBatch(@TempDir Path tmp) throws Exception {
        Path q = prompts(tmp);
        rjs(tmp, q, tmp.resolve("one"), 1, 8);
        rjs(tmp, q, tmp.resolve("two"), 2, 4);
        for (String file : List.of("rjs_rounds.jsonl", "round-1/samples.jsonl", "round-1/selected.jsonl")) {
            String one = Files.readString(tmp.resolve("one").resolve(file)),
                    two = Files.readString(tmp.resolve("two").resolve(file));
            if (file.equals("rjs_rounds.jsonl")) { // the SFT losses may differ in float32 rounding
                JsonNode a = JSON.readTree(one), b = JSON.readTree(two);
                assertEquals(
                        a.get("sft_first_loss").asDouble(),
                        b.get("sft_first_loss").asDouble(),
                        1e-5,
                        file);
                ((com.fasterxml.jackson.databind.node.ObjectNode) a).remove(List.of("sft_first_loss", "sft_last_loss"));
                ((com.fasterxml.jackson.databind.node.ObjectNode) b).remove(List.of("sft_first_loss", "sft_last_loss"));
                assertEquals(a, b, file);
            } else {
                assertEquals(one, two, file);
            }
        }
        assertEquals(
                16, Files.readAllLines(tmp.resolve("two/round-1/samples.jsonl")).size(), "8 prompts x 2 samples");
        assertSameRun(tmp.resolve("one"), tmp.resolve("two"));
    }

    /**
     * APO end to end (base reward model, one round: the APO reward model on human + gold-vs-sample pairs, then rjs
     * alignment against it): every stage data-parallel, rank 0 writing and the others loading what it saved after a
     * barrier, so 2 workers x half the batches give the round metrics and the policy of 1 worker.
     */
    @Test
    void twoWorkersRunApoAsOneWorkerOfTwiceTheBatch(@TempDir Path tmp) throws Exception {
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 12; i++)
            rows.append(String.format(
                    "{\"chosen\": \"Q: %d+1= A: %d\", \"rejected\": \"Q: %d+1= A: %d\"}%n", i, i + 1, i, i + 3));
        Path data = Files.writeString(tmp.resolve("pairs.jsonl"), rows.toString());
        apo(tmp, data, tmp.resolve("one"), 1, 4);
        apo(tmp, data, tmp.resolve("two"), 2, 2);
        List<String> one = Files.readAllLines(tmp.resolve("one/apo/rounds.jsonl")),
                two = Files.readAllLines(tmp.resolve("two/apo/rounds.jsonl"));
        assertEquals(2, two.size(), "round 0 and round 1, written once");
        for (int r = 0; r < one.size(); r++) {
            JsonNode a = JSON.readTree(one.get(r)), b = JSON.readTree(two.get(r));
            List<String> keys = new ArrayList<>();
            a.fieldNames().forEachRemaining(keys::add);
            for (String k : keys)
                assertEquals(
                        a.get(k).asDouble(),
                        b.get(k).asDouble(),
                        1e-4 * Math.max(1, Math.abs(a.get(k).asDouble())),
                        "round " + r + " " + k + ": " + a + " vs " + b);
        }
        assertSameRun(tmp.resolve("one/apo/round-1/policy"), tmp.resolve("two/apo/round-1/policy"));
    }

    private static void apo(Path tmp, Path data, Path out, int workers, int perDevice) throws Exception {
        List<String> args = new ArrayList<>(List.of(
                "apo",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                data.toString(),
                "--eval_dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--baseline",
                "false",
                "--apo_rounds",
                "1",
                "--align_method",
                "rjs",
                "--max_completion_length",
                "6",
                "--rm_max_steps",
                "2",
                "--rm_learning_rate",
                "" + LR,
                "--rm_per_device_train_batch_size",
                "" + perDevice,
                "--align_learning_rates",
                "" + LR,
                "--max_steps",
                "1",
                "--max_gold_queries",
                "4",
                "--max_queries",
                "4",
                "--per_device_train_batch_size",
                "" + perDevice));
        job(tmp, workers, args);
    }

    private static Path prompts(Path tmp) throws Exception {
        Path q = tmp.resolve("q.jsonl");
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) rows.add(JSON.writeValueAsString(Map.of("prompt", i + "+" + i + "=")));
        Files.write(q, rows);
        return q;
    }

    /** One rjs round on 8 prompts: 2 generation batches of 4 prompts x 2 samples, then one SFT step on the best. */
    private static void rjs(Path tmp, Path prompts, Path out, int workers, int perDevice) throws Exception {
        List<String> args = new ArrayList<>(List.of(
                "rjs",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                prompts.toString(),
                "--output_dir",
                out.toString(),
                "--num_generations",
                "2",
                "--generation_batch_size",
                "8",
                "--max_completion_length",
                "6",
                "--per_device_train_batch_size",
                "" + perDevice,
                "--max_steps",
                "1",
                "--learning_rate",
                "" + LR,
                "--logging_steps",
                "1",
                "--save_steps",
                "0"));
        args.addAll(SCORED_LENGTH);
        job(tmp, workers, args);
    }

    private static void twoWorkersTrainAsOneWorkerAccumulatingTwoMicroBatches(Path tmp, String command, String... extra)
            throws Exception {
        Path q = prompts(tmp);
        Path ref = tmp.resolve("ref");
        run(tmp, "sft", data(tmp, false), ref, 1, 8);
        List<String> withRef = new ArrayList<>(List.of("--ref_model_name_or_path", ref.toString()));
        withRef.addAll(List.of(extra));
        online(tmp, command, q, tmp.resolve("one"), 1, 2, withRef.toArray(String[]::new));
        online(tmp, command, q, tmp.resolve("two"), 2, 1, withRef.toArray(String[]::new));
        assertSameRun(tmp.resolve("one"), tmp.resolve("two"));
    }

    @Test
    void aCommandThatIsNotDataParallelRefusesNamingWhatIs(@TempDir Path tmp) throws Exception {
        // generate would run twice, each writing the same file: refused before anything is read or written
        CliProcess.Result r = onTwoWorkers(
                tmp,
                "generate",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                tmp.resolve("prompts.jsonl").toString(),
                "--output_file",
                tmp.resolve("out.jsonl").toString());
        assertTrue(r.exitCode() != 0, r.output());
        assertTrue(r.output().contains("generate does not run data-parallel yet"), r.output());
        assertTrue(r.output().contains("online_dpo, rjs, apo, which do"), r.output());
        assertTrue(!Files.exists(tmp.resolve("out.jsonl")), "nothing written");
    }

    /**
     * {@code bench --mode dpo} on two workers (how the README's "Scaling out" figure is measured): rank 0 alone
     * prints the job's step (4 pairs, 2 per worker), with the share of it spent in collectives; the first loss is
     * ln 2 (reference = policy) as on one worker.
     */
    @Test
    void benchDpoOnTwoWorkersReportsTheJobStepOnceWithItsCollectiveShare(@TempDir Path tmp) throws Exception {
        CliProcess.Result r = onTwoWorkers(
                tmp,
                "bench",
                "--mode",
                "dpo",
                "--size",
                "llama-tiny",
                "--batch",
                "4",
                "--seq",
                "12",
                "--iters",
                "2",
                "--warmup",
                "1");
        assertEquals(0, r.exitCode(), r.output());
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.output().split("\n")) {
            int json = line.indexOf('{');
            if (json >= 0 && line.contains("\"mode\"")) lines.add(JSON.readTree(line.substring(json)));
        }
        assertEquals(1, lines.size(), "rank 0 alone reports:\n" + r.output());
        JsonNode b = lines.getFirst();
        assertEquals(2, b.get("workers").asInt());
        assertEquals(4, b.get("pairs").asInt());
        assertEquals(
                org.align4j.dist.Launcher.threadsPerWorker(2, System.getenv()),
                b.get("threads").asInt(),
                "the launcher gives each of 2 workers half of the cores");
        double share = b.get("collective_share").asDouble();
        assertTrue(share > 0 && share < 1, "collective share " + share);
        assertEquals(Math.log(2), b.get("first_loss").asDouble(), 1e-6);
    }

    /** {@code ./align4j --nproc_per_node 2 --master_port <free> <command...>} in {@code tmp}. */
    private static CliProcess.Result onTwoWorkers(Path tmp, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("--nproc_per_node", "2", "--master_port", "" + freePort()));
        args.addAll(List.of(command));
        return CliProcess.run(tmp, Map.of(), args);
    }

    /** sft on two workers, one row each per micro-batch, saving every 2 steps. */
    private static List<String> twoWorkerSft(Path data, Path out, int maxSteps) throws Exception {
        return List.of(
                "--nproc_per_node",
                "2",
                "--master_port",
                "" + freePort(),
                "sft",
                "--model_name_or_path",
                TINY,
                "--dataset_name",
                data.toString(),
                "--output_dir",
                out.toString(),
                "--max_steps",
                "" + maxSteps,
                "--per_device_train_batch_size",
                "1",
                "--save_steps",
                "2",
                "--logging_steps",
                "1");
    }

    /**
     * A worker killed mid-run (SIGKILL, as the OOM killer does): the launcher stops the other worker and returns
     * non-zero naming a rank, no worker outlives it, and the newest checkpoint on disk loads and resumes.
     */
    @Test
    void aKilledWorkerStopsTheJobAndTheLastCheckpointResumes(@TempDir Path tmp) throws Exception {
        Path data = data(tmp, false), out = tmp.resolve("out");
        List<String> args = twoWorkerSft(data, out, 100_000);
        CliProcess.Started job = CliProcess.start(tmp, Map.of(), args);
        try {
            long until = System.nanoTime() + 300_000_000_000L;
            while (!Files.isDirectory(out.resolve("checkpoint-2"))
                    && job.process().isAlive())
                if (System.nanoTime() > until) throw new AssertionError("no checkpoint-2 in 300 s:\n" + job.output());
                else Thread.sleep(200);
            assertTrue(job.process().isAlive(), "the job ended before it was killed:\n" + job.output());
            List<ProcessHandle> workers = job.process().children().toList();
            assertEquals(2, workers.size(), "the launcher runs two workers");
            workers.get(1).destroyForcibly();
            assertTrue(job.process().waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "the launcher returns");
            String output = job.output();
            assertTrue(job.process().exitValue() != 0, output);
            assertTrue(output.contains("rank"), "names a rank:\n" + output);
            for (ProcessHandle w : workers) {
                w.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertTrue(!w.isAlive(), "a worker outlived its launcher");
            }
        } finally {
            job.process().descendants().forEach(ProcessHandle::destroyForcibly);
            job.process().destroyForcibly();
        }
        // the newest complete checkpoint resumes (same world size) to a finished run
        List<String> resume = new ArrayList<>(twoWorkerSft(data, out, 4));
        resume.addAll(
                List.of("--resume_from_checkpoint", out.resolve("checkpoint-2").toString()));
        CliProcess.Result r = CliProcess.run(tmp, Map.of(), resume);
        assertEquals(0, r.exitCode(), r.output());
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.parameters().size() > 0);
        }
    }
}
