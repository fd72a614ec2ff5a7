// SPDX-License-Identifier: Apache-2.0
package org.align4j.api;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.align4j.data.Encoded;
import org.align4j.data.Encoder;
import org.align4j.data.JsonRows.Row;
import org.align4j.model.Lora;
import org.align4j.trainer.TrainingArgs;
import org.align4j.trainer.TrainingListener;
import org.align4j.trainer.TrainingListeners;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A builder's settings, checked and fixed: what a trainer of the api runs with. */
record Setup(
        String command,
        String model,
        String revision,
        DatasetSource train,
        DatasetSource eval,
        TrainingArgs args,
        int evalSteps,
        Lora.Config peft,
        boolean skipInvalidRows,
        List<TrainingListener> listeners) {
    private static final Logger LOG = LoggerFactory.getLogger(Setup.class);

    /** A call that may fail with an I/O error. */
    interface Body<T> {
        T call() throws IOException;
    }

    /** Runs {@code body} with this trainer's listeners hearing its runs. */
    <T> T run(Body<T> body) throws IOException {
        return TrainingListeners.call(listeners, body::call);
    }

    /** The training rows encoded by {@code encode} (invalid rows skipped and reported when asked). */
    <T> List<T> encodeTrain(Function<Row, T> encode) {
        return encode(train, "train", encode);
    }

    /** The evaluation rows encoded by {@code encode}; empty without an evaluation set. */
    <T> List<T> encodeEval(Function<Row, T> encode) {
        return eval == null ? List.of() : encode(eval, "eval", encode);
    }

    private <T> List<T> encode(DatasetSource source, String which, Function<Row, T> encode) {
        Encoded<T> e = Encoder.encodeAll(source.read(), encode, skipInvalidRows);
        if (e.skipped() > 0) LOG.warn("{}: {} {}", command, which, e.summary(3));
        LOG.info("{}: {} {} rows from {}", command, e.items().size(), which, describe(source));
        return e.items();
    }

    private static String describe(DatasetSource s) {
        return s.name() + (s.hasSplits() ? " (split " + s.split() + ")" : "");
    }

    /**
     * What training_args.json records, under the command line's keys: the model and data, then the training
     * arguments, LoRA, and the method's own keys ({@code own}).
     */
    Map<String, Object> config(Map<String, Object> own) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_name_or_path", model);
        if (revision != null) m.put("model_revision", revision);
        m.put("dataset_name", train.name());
        if (train.hasSplits()) m.put("dataset_train_split", train.split());
        if (eval != null) {
            m.put("eval_dataset_name", eval.name());
            if (eval.hasSplits()) m.put("dataset_test_split", eval.split());
            m.put("eval_steps", evalSteps);
        }
        m.putAll(args.asConfig());
        m.put("use_peft", peft != null);
        if (peft != null) {
            m.put("lora_r", peft.r());
            m.put("lora_alpha", peft.alpha());
            m.put("lora_dropout", peft.dropout());
            m.put("lora_target_modules", peft.targetModules());
        }
        m.putAll(own);
        m.put("skip_invalid_rows", skipInvalidRows);
        return m;
    }
}
