// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.DatasetException;
import org.align4j.engine.NativeEnv;

/** {@code ./align4j <command> [--config recipe.yaml] [--key value ...]} */
public final class Main {
    interface Command {
        void run(String[] args) throws Exception;
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
    static final Map<String, List<Options.Spec>> SPECS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", DemoCommand::run);
        SPECS.put("demo", DemoCommand.SPECS);
        COMMANDS.put("generate", GenerateCommand::run);
        SPECS.put("generate", GenerateCommand.SPECS);
        COMMANDS.put("logprobs", LogprobsCommand::run);
        SPECS.put("logprobs", LogprobsCommand.SPECS);
        COMMANDS.put("sft", SftCommand::run);
        SPECS.put("sft", SftCommand.SPECS);
        COMMANDS.put("reward", RewardCommand::run);
        SPECS.put("reward", RewardCommand.SPECS);
        COMMANDS.put("dpo", DpoCommand::run);
        SPECS.put("dpo", DpoCommand.SPECS);
        COMMANDS.put("cpo", CpoCommand::runCpo);
        SPECS.put("cpo", CpoCommand.CPO_SPECS);
        COMMANDS.put("orpo", CpoCommand::runOrpo);
        SPECS.put("orpo", CpoCommand.ORPO_SPECS);
        COMMANDS.put("kto", KtoCommand::run);
        SPECS.put("kto", KtoCommand.SPECS);
        COMMANDS.put("grpo", GrpoCommand::run);
        SPECS.put("grpo", GrpoCommand.SPECS);
        COMMANDS.put("rjs", RjsCommand::run);
        SPECS.put("rjs", RjsCommand.SPECS);
        COMMANDS.put("online_dpo", OnlineDpoCommand::run);
        SPECS.put("online_dpo", OnlineDpoCommand.SPECS);
        COMMANDS.put("bench", BenchCommand::run);
        SPECS.put("bench", BenchCommand.SPECS);
        COMMANDS.put("apo", ApoCommand::run);
        SPECS.put("apo", ApoCommand.SPECS);
        COMMANDS.put("discriminator", DiscriminatorCommand::run);
        SPECS.put("discriminator", DiscriminatorCommand.SPECS);
    }

    private Main() {}

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
            System.out.println(Options.usage(args[0], SPECS.get(args[0])));
            return 0;
        }
        try {
            c.run(rest);
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
