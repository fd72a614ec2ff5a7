// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.engine.NativeEnv;
import org.align4j.trainer.ConsoleProgress;
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
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            System.out.println("usage: ./align4j <command> [--config recipe.yaml] [--key value ...]\ncommands: "
                    + String.join(", ", COMMANDS.keySet()) + "\n./align4j <command> --help lists a command's keys");
            return args.length == 0 ? 2 : 0;
        }
        Command c = COMMANDS.get(args[0]);
        if (c == null) {
            System.err.println(
                    "error: unknown command '" + args[0] + "'; commands: " + String.join(", ", COMMANDS.keySet()));
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (rest.length == 1 && rest[0].equals("--help")) {
            System.out.println(Options.usage(args[0], c.specs()));
            return 0;
        }
        try {
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
