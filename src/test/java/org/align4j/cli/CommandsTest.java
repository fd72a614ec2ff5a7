// SPDX-License-Identifier: Apache-2.0
package org.align4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.data.DatasetException;
import org.align4j.generate.Generator;
import org.align4j.generate.SamplingParams;
import org.align4j.model.Checkpoints;
import org.align4j.model.LogProbs;
import org.align4j.model.Transformer;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generate and logprobs commands end to end on the tiny golden llama (HF folder with tokenizer). */
class CommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path model() {
        return Golden.resourceDir("golden/llama-tiny");
    }

    private static List<JsonNode> readJsonl(Path p) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(p)) rows.add(JSON.readTree(line));
        return rows;
    }

    @Test
    void generateWritesOneGreedyCompletionPerPromptInOrder(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("prompts.jsonl"), out = tmp.resolve("out.jsonl");
        Files.writeString(data, """
                {"prompt": "The capital of France is"}
                {"prompt": "1+1="}
                {"prompt": [{"role": "user", "content": "hi"}]}
                """);
        GenerateCommand.run(new String[] {
            "--model_name_or_path",
            model().toString(),
            "--dataset_name",
            data.toString(),
            "--output_file",
            out.toString(),
            "--max_new_tokens",
            "6",
            "--per_device_eval_batch_size",
            "2"
        });
        List<JsonNode> rows = readJsonl(out);
        assertEquals(3, rows.size());
        assertEquals("1+1=", rows.get(1).get("prompt").asText());
        assertTrue(rows.get(2).get("prompt").isArray(), "conversational prompt echoed as messages");
        // the same greedy decode done directly, one prompt at a time
        try (Tokenizer tok = Tokenizer.load(model());
                Transformer m = Checkpoints.load(model())) {
            for (int i = 0; i < 2; i++) {
                long[] ids = tok.encode(rows.get(i).get("prompt").asText());
                Generator.Result r = Generator.generate(
                        m, List.of(ids), SamplingParams.greedy(6), tok.stopTokenIds(), tok.padTokenId());
                assertEquals(
                        tok.decode(r.tokens()[0], true),
                        rows.get(i).get("completion").asText(),
                        "row " + i);
            }
        }
    }

    @Test
    void logprobsSumsCompletionTokensAndEos(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("rows.jsonl"), out = tmp.resolve("out.jsonl");
        Files.writeString(data, """
                {"prompt": "Hello", "completion": " world"}
                {"prompt": "a longer prompt here", "completion": "!"}
                """);
        LogprobsCommand.run(new String[] {
            "--model_name_or_path",
            model().toString(),
            "--dataset_name",
            data.toString(),
            "--output_file",
            out.toString()
        });
        List<JsonNode> rows = readJsonl(out);
        try (Tokenizer tok = Tokenizer.load(model());
                Transformer m = Checkpoints.load(model())) {
            String[][] pc = {{"Hello", " world"}, {"a longer prompt here", "!"}};
            for (int i = 0; i < 2; i++) {
                long[] c = tok.encodeNoSpecial(pc[i][1]);
                long[] withEos = java.util.Arrays.copyOf(c, c.length + 1);
                withEos[c.length] = tok.eosTokenId();
                float[][] lp = LogProbs.completionTokenLogps(
                        m, List.of(tok.encode(pc[i][0])), List.of(withEos), tok.padTokenId());
                assertEquals(c.length + 1, rows.get(i).get("num_tokens").asInt(), "EOS counted");
                assertEquals(LogProbs.sum(lp[0]), rows.get(i).get("logp").asDouble(), 1e-5);
            }
        }
    }

    @Test
    void existingOutputIsNeverClobberedSilently(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("rows.jsonl"), out = tmp.resolve("out.jsonl");
        Files.writeString(data, "{\"prompt\": \"x\", \"completion\": \"y\"}\n");
        Files.writeString(out, "precious\n");
        CliException e = assertThrows(
                CliException.class,
                () -> LogprobsCommand.run(new String[] {
                    "--model_name_or_path",
                    model().toString(),
                    "--dataset_name",
                    data.toString(),
                    "--output_file",
                    out.toString()
                }));
        assertTrue(
                e.getMessage().contains("already exists") && e.getMessage().contains("--overwrite_output"),
                e.getMessage());
        assertEquals("precious\n", Files.readString(out));
    }

    @Test
    void malformedRowNamesFileLineAndField(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("rows.jsonl");
        Files.writeString(data, "{\"prompt\": \"ok\", \"completion\": \"y\"}\n{\"prompt\": \"no completion\"}\n");
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> LogprobsCommand.run(new String[] {
                    "--model_name_or_path",
                    model().toString(),
                    "--dataset_name",
                    data.toString(),
                    "--output_file",
                    tmp.resolve("o.jsonl").toString()
                }));
        assertTrue(e.getMessage().contains("rows.jsonl:2") && e.getMessage().contains("'completion'"), e.getMessage());
        Files.writeString(data, "{\"prompt\": \"ok\"}\n{\"prompt\": oops}\n");
        e = assertThrows(
                DatasetException.class,
                () -> GenerateCommand.run(new String[] {
                    "--model_name_or_path",
                    model().toString(),
                    "--dataset_name",
                    data.toString(),
                    "--output_file",
                    tmp.resolve("o.jsonl").toString()
                }));
        assertTrue(
                e.getMessage().contains("rows.jsonl:2") && e.getMessage().contains("malformed JSON"), e.getMessage());
    }

    @Test
    void unknownAndIllTypedKeysAreNamedWithTheValidOnes(@TempDir Path tmp) throws Exception {
        CliException e = assertThrows(
                CliException.class,
                () -> Options.parse("generate", GenerateCommand.SPECS, new String[] {
                    "--model_name_or_path", "m", "--dataset_name", "d", "--output_file", "o", "--temprature", "0.7"
                }));
        assertTrue(
                e.getMessage().contains("1 unknown key(s)")
                        && e.getMessage().contains("'temprature'")
                        && e.getMessage().contains("did you mean 'temperature'"),
                e.getMessage());
        e = assertThrows(
                CliException.class,
                () -> Options.parse("generate", GenerateCommand.SPECS, new String[] {
                    "--model_name_or_path", "m", "--dataset_name", "d", "--output_file", "o", "--max_new_tokens=many"
                }));
        assertTrue(e.getMessage().contains("--max_new_tokens expects int"), e.getMessage());
        Path yaml = tmp.resolve("r.yaml");
        Files.writeString(
                yaml, "model_name_or_path: m\ndataset_name: d\noutput_file: o\ntemperature: 0.7\ntop_p: 0.9\n");
        Options o = Options.parse(
                "generate", GenerateCommand.SPECS, new String[] {"--config", yaml.toString(), "--top_p", "0.5"});
        assertEquals(0.7, o.number("temperature"));
        assertEquals(0.5, o.number("top_p"), "command line overrides the recipe");
        // a TRL key this tool does not use is accepted (with a warning); a key no TRL version knows names the recipe
        Files.writeString(yaml, "model_name_or_path: m\ndataset_name: d.jsonl\noutput_file: o.jsonl\nbeta: 0.1\n");
        Options.parse("generate", GenerateCommand.SPECS, new String[] {"--config", yaml.toString()});
        Files.writeString(yaml, "model_name_or_path: m\nbetta: 0.1\n");
        e = assertThrows(
                CliException.class,
                () -> Options.parse("generate", GenerateCommand.SPECS, new String[] {"--config", yaml.toString()}));
        assertTrue(e.getMessage().contains("'betta'") && e.getMessage().contains(yaml.toString()), e.getMessage());
    }

    @Test
    void aTokenizerLargerThanTheModelIsRefused(@TempDir Path tmp) throws Exception {
        // the real Qwen3 tokenizer (151k tokens) beside the tiny model (vocab 320)
        Path dir = tmp.resolve("mismatched");
        Files.createDirectories(dir);
        for (String f : new String[] {"config.json", "model.safetensors"})
            Files.copy(model().resolve(f), dir.resolve(f));
        for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"})
            Files.copy(Golden.shared("models/qwen3-tokenizer/" + f), dir.resolve(f));
        CliException e = assertThrows(CliException.class, () -> LoadedModel.load(dir, null));
        assertTrue(
                e.getMessage().contains("does not belong to this model")
                        && e.getMessage().contains("vocab_size is 320"),
                e.getMessage());
    }

    @Test
    void sftTrainsFromJsonlAndWritesALoadableModelWithItsTokenizer(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("sft.jsonl"), out = tmp.resolve("run");
        Files.writeString(data, """
                {"prompt": "1+1=", "completion": "2"}
                {"prompt": [{"role": "user", "content": "2+2="}], "completion": [{"role": "assistant", "content": "4"}]}
                {"text": "plain language-modeling text"}
                {"prompt": "3+4=", "completion": "7"}
                """);
        SftCommand.run(new String[] {
            "--model_name_or_path",
            model().toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            out.toString(),
            "--max_steps",
            "3",
            "--per_device_train_batch_size",
            "2",
            "--logging_steps",
            "1",
            "--learning_rate",
            "1e-3"
        });
        List<JsonNode> metrics = readJsonl(out.resolve("metrics.jsonl"));
        assertEquals(3, metrics.size());
        assertTrue(Double.isFinite(metrics.get(2).get("loss").asDouble()));
        assertTrue(Files.exists(out.resolve("tokenizer.json")) && Files.exists(out.resolve("training_args.json")));
        try (Transformer m = Checkpoints.load(out)) {
            assertTrue(m.numParameters() > 0);
        }
        Path peft = tmp.resolve("peft");
        SftCommand.run(new String[] {
            "--model_name_or_path",
            model().toString(),
            "--dataset_name",
            data.toString(),
            "--output_dir",
            peft.toString(),
            "--max_steps",
            "2",
            "--use_peft",
            "true",
            "--lora_target_modules",
            "q_proj,v_proj"
        });
        assertTrue(Files.exists(peft.resolve("adapter_config.json"))
                && Files.exists(peft.resolve("adapter_model.safetensors")));
    }

    @Test
    void sftNamesTheRowItCannotUse(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("bad.jsonl");
        Files.writeString(
                data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"question\": \"q\", \"answer\": \"a\"}\n");
        DatasetException e = assertThrows(
                DatasetException.class,
                () -> SftCommand.run(new String[] {
                    "--model_name_or_path",
                    model().toString(),
                    "--dataset_name",
                    data.toString(),
                    "--output_dir",
                    tmp.resolve("o").toString(),
                    "--max_steps",
                    "1"
                }));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("'text'"), e.getMessage());
    }
}
