// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.dist.Collective;
import org.align4j.dist.DistEnv;
import org.align4j.dist.DistException;
import org.align4j.dist.DistOptions;
import org.align4j.dist.Distributed;
import org.align4j.dist.LaunchArgs;
import org.align4j.dist.Launcher;
import org.align4j.dist.Worker;
import org.align4j.engine.NativeEnv;
import org.align4j.trainer.ConsoleProgress;
import org.align4j.trainer.TrainLoop;
import org.align4j.trainer.TrainingListeners;

/** {@code ./align4j <command> [--config recipe.yaml] [--key value ...]} */
public final class Main {
    /** A command: what runs it and the keys it accepts (for --help and recipe checks). */
    record Command(Runner run, List<Options.Spec> specs) {}

    interface Runner {
        void run(String[] args) throws Exception;
    }

    static {
        // the command line's SLF4J binding is slf4j-simple (pom.xml): set up here, before any class asks for a logger.
        // The library's notes read "INFO sft: resumed from ..." / "WARN grpo: ..." on stderr; other libraries (DJL,
        // Jinjava) only speak on errors (DJL warns about CUDA on every start). A -D on the command line still wins.
        setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "error");
        setIfAbsent("org.slf4j.simpleLogger.log.org.align4j", "info");
        setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
        setIfAbsent("org.slf4j.simpleLogger.showLogName", "false");
    }

    static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", new Command(DemoCommand::run, DemoCommand.SPECS));
        COMMANDS.put("generate", new Command(GenerateCommand::run, GenerateCommand.SPECS));
        COMMANDS.put("logprobs", new Command(LogprobsCommand::run, LogprobsCommand.SPECS));
        COMMANDS.put("sft", new Command(SftCommand::run, SftCommand.SPECS));
        COMMANDS.put("reward", new Command(RewardCommand::run, RewardCommand.SPECS));
        COMMANDS.put("dpo", new Command(DpoCommand::run, DpoCommand.SPECS));
        COMMANDS.put("cpo", new Command(CpoCommand::runCpo, CpoCommand.CPO_SPECS));
        COMMANDS.put("orpo", new Command(CpoCommand::runOrpo, CpoCommand.ORPO_SPECS));
        COMMANDS.put("kto", new Command(KtoCommand::run, KtoCommand.SPECS));
        COMMANDS.put("grpo", new Command(GrpoCommand::run, GrpoCommand.SPECS));
        COMMANDS.put("rloo", new Command(RlooCommand::run, RlooCommand.SPECS));
        COMMANDS.put("rjs", new Command(RjsCommand::run, RjsCommand.SPECS));
        COMMANDS.put("online_dpo", new Command(OnlineDpoCommand::run, OnlineDpoCommand.SPECS));
        COMMANDS.put("apo", new Command(ApoCommand::run, ApoCommand.SPECS));
        COMMANDS.put("discriminator", new Command(DiscriminatorCommand::run, DiscriminatorCommand.SPECS));
        COMMANDS.put("merge", new Command(MergeCommand::run, MergeCommand.SPECS));
        COMMANDS.put("bench", new Command(BenchCommand::run, BenchCommand.SPECS));
    }

    private Main() {}

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }

    public static void main(String[] args) {
        // before any libtorch class loads: libgomp reads OMP_WAIT_POLICY once (NativeEnv)
        NativeEnv.configure();
        System.exit(launchOrRun(args));
    }

    /**
     * torchrun's two roles: with --nproc_per_node / --nnodes (and no RANK set, i.e. not already a worker) start the
     * workers, each this same command line without the launcher options, and wait for them; a worker (RANK,
     * WORLD_SIZE, MASTER_ADDR, MASTER_PORT from our launcher, torchrun, Slurm or a PyTorchJob) joins the job's Gloo
     * group before its command runs; anything else runs as one process.
     */
    static int launchOrRun(String[] args) {
        LaunchArgs.Parsed parsed;
        try {
            parsed = LaunchArgs.parse(List.of(args));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        DistEnv env = DistEnv.fromEnvironment();
        if (parsed.launch().isPresent()) {
            if (env.distributed()) {
                System.err.println("error: --nproc_per_node in a worker that a launcher already started (RANK is set)");
                return 2;
            }
            List<String> child = new ArrayList<>();
            child.add(ProcessHandle.current().info().command().orElse("java"));
            child.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            child.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
            child.addAll(parsed.rest());
            try {
                return new Launcher(parsed.launch().get(), child).run().exitCode();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 130;
            } catch (RuntimeException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
        }
        // transformers' ddp_timeout (seconds, default 1800): how long a collective waits for the other workers
        List<String> rest = new ArrayList<>(List.of(args));
        DistOptions options = DistOptions.defaults();
        for (int i = 0; i < rest.size(); i++) {
            String a = rest.get(i);
            if (!a.equals("--ddp_timeout") && !a.startsWith("--ddp_timeout=")) continue;
            String value =
                    a.contains("=") ? a.substring(a.indexOf('=') + 1) : i + 1 < rest.size() ? rest.get(i + 1) : "";
            long seconds;
            try {
                seconds = Long.parseLong(value.strip());
            } catch (NumberFormatException e) {
                seconds = -1;
            }
            if (seconds < 1) {
                System.err.println("error: --ddp_timeout takes whole seconds >= 1, got '" + value + "'");
                return 2;
            }
            options = options.withTimeout(java.time.Duration.ofSeconds(seconds));
            rest.subList(i, a.contains("=") ? i + 1 : i + 2).clear();
            i--;
        }
        String[] commandArgs = rest.toArray(String[]::new);
        if (!env.distributed()) return run(commandArgs);
        try (Collective c = Worker.init(options)) {
            Distributed.install(c);
            return run(commandArgs);
        } catch (DistException e) {
            System.err.println("error: rank " + env.rank() + ": " + e.getMessage());
            return 1;
        }
    }

    static int run(String[] args) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println("usage: ./align4j <command> [--config recipe.yaml] [--key value ...]\ncommands: "
                    + String.join(", ", COMMANDS.keySet())
                    + "\n./align4j <command> --help lists a command's keys; ./align4j test runs the test suite");
            return args.length == 0 ? 2 : 0;
        }
        Command c = COMMANDS.get(args[0]);
        if (c == null) {
            System.err.println(
                    "error: unknown command '" + args[0] + "'; commands: " + String.join(", ", COMMANDS.keySet()));
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length == 1 && (rest[0].equals("--help") || rest[0].equals("-h"))) {
            System.out.println(Options.usage(args[0], c.specs()));
            return 0;
        }
        try {
            // a command that does not shard its work would run N times over, each writing the same files
            if (!args[0].equals("bench") && !TrainLoop.DATA_PARALLEL_COMMANDS.contains(args[0]))
                TrainLoop.requireOneWorker(args[0]);
            // training progress on stderr: plain lines, and a live bar between them on a terminal
            TrainingListeners.call(List.of(ConsoleProgress.toConsole()), () -> {
                c.run().run(rest);
                return null;
            });
            return 0;
        } catch (CliException | DatasetException | IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            e.printStackTrace();
            return 1;
        }
    }
}
