// SPDX-License-Identifier: Apache-2.0
package org.align4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.List;
import org.align4j.data.JsonRows.Row;
import org.align4j.testing.Golden;
import org.align4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Preference encoding on real files with the real Qwen3 tokenizer. */
class RealPreferenceDataTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Tokenizer tok;

    @BeforeAll
    static void load() {
        tok = DataFixtures.qwen3Tokenizer();
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    private static String nfc(String s) {
        return Normalizer.normalize(s, Normalizer.Form.NFC); // the Qwen tokenizer's normalizer
    }

    @Test
    void hhRlhfPairsSplitIntoTheirSharedDialogueAndTwoEndings() {
        List<Row> rows = Datasets.read(Golden.shared("data/hh-rlhf-harmless/test.jsonl.gz"), "test");
        assertEquals(2312, rows.size());
        Encoder enc = new Encoder(tok, Truncation.none());
        for (Row r : rows) {
            assertEquals(DatasetShape.PREFERENCE, DatasetShape.detect(r));
            PreferencePair p = enc.preference(r);
            String prompt = tok.decode(p.prompt(), false);
            String[] rest = new String[2];
            for (int k = 0; k < 2; k++) {
                String side = k == 0 ? "chosen" : "rejected";
                long[] c = k == 0 ? p.chosen() : p.rejected();
                assertEquals(tok.eosTokenId(), c[c.length - 1], r.where() + " " + side + " ends with EOS");
                rest[k] = tok.decode(Arrays.copyOf(c, c.length - 1), false);
                assertEquals(
                        nfc(r.text(side)),
                        prompt + rest[k],
                        r.where() + ": prompt + " + side + " is the original text");
            }
            // the prompt is the whole shared start: the endings differ at once, or right after a shared space;
            // or, when one text is a prefix of the other, TRL's split leaves the shorter one its last character
            int skip = rest[0].startsWith(" ") && rest[1].startsWith(" ") ? 1 : 0;
            String shorter = rest[0].length() <= rest[1].length() ? rest[0] : rest[1],
                    longer = shorter == rest[0] ? rest[1] : rest[0];
            boolean prefixCase = shorter.codePointCount(0, shorter.length()) == 1 && longer.startsWith(shorter);
            assertTrue(
                    prefixCase
                            || rest[0].length() > skip
                                    && rest[1].length() > skip
                                    && rest[0].codePointAt(skip) != rest[1].codePointAt(skip),
                    r.where() + ": the endings '" + rest[0].substring(0, Math.min(20, rest[0].length())) + "' and '"
                            + rest[1].substring(0, Math.min(20, rest[1].length()))
                            + "' share a start the prompt left out");
        }
    }

    @Test
    void conversationalGsm8kPairsUseTheQwen3TemplatesCompletionText() throws Exception {
        Row r = Datasets.read(Golden.shared("data/gsm8k/test.jsonl"), "test").get(0);
        ObjectNode json = JSON.createObjectNode();
        json.putArray("prompt").addObject().put("role", "user").put("content", r.text("question"));
        json.putArray("chosen").addObject().put("role", "assistant").put("content", r.text("answer"));
        json.putArray("rejected").addObject().put("role", "assistant").put("content", "#### 0");
        PreferencePair p = new Encoder(tok, Truncation.none()).preference(new Row(json, r.file(), r.line()));
        assertEquals(
                "<|im_start|>user\n" + r.text("question") + "<|im_end|>\n<|im_start|>assistant\n",
                tok.decode(p.prompt(), false));
        assertEquals("<think>\n\n</think>\n\n" + r.text("answer") + "<|im_end|>\n", tok.decode(p.chosen(), false));
        assertEquals("<think>\n\n</think>\n\n#### 0<|im_end|>\n", tok.decode(p.rejected(), false));
    }
}
