// SPDX-License-Identifier: Apache-2.0
/**
 * The Java API: one builder per method, the TRL way ({@code trainer = XxxTrainer(model, args, train_dataset);
 * trainer.train()}).
 *
 * <pre>{@code
 * TrainResult result = Dpo.builder()
 *         .model("Qwen/Qwen3-0.6B")                  // a model folder, a PEFT adapter folder, or a hub id in the HF cache
 *         .dataset(Path.of("pairs.jsonl"))            // TRL's shapes: .jsonl, .json, .parquet, a folder, or List<Map>
 *         .args(Dpo.args(Path.of("out")).maxSteps(100).build())
 *         .listener(TrainingListener.logs(row -> System.out.println(row)))
 *         .build()
 *         .train();                                   // out/ is a complete Hugging Face model folder
 * }</pre>
 *
 * <ul>
 *   <li>{@link org.align4j.api.Sft}, {@link org.align4j.api.Dpo}, {@link org.align4j.api.Grpo}, {@link
 *       org.align4j.api.Reward}: the trainers; each loads the model through {@link org.align4j.model.ModelSource} (so
 *       adapter folders and hub ids work), encodes the rows exactly as the command line does ({@link
 *       org.align4j.data.Encoder}, {@link org.align4j.data.Datasets}), trains, and leaves a complete Hugging Face
 *       folder in output_dir: weights (or a PEFT adapter), config, tokenizer files, generation_config.json,
 *       metrics.jsonl and training_args.json.
 *   <li>{@link org.align4j.api.TrainerBuilder}: the settings every method shares (model, data, {@link
 *       org.align4j.trainer.TrainingArgs}, LoRA, listeners).
 *   <li>Progress: {@link org.align4j.trainer.TrainingListener} hears every step and every logged row; by default the
 *       progress lines go to SLF4J ({@link org.align4j.trainer.ConsoleProgress#toLog()}), so they appear in the
 *       application's own logging; the library depends on slf4j-api only, the application picks the binding.
 * </ul>
 *
 * No set-up call is needed: the native environment libtorch must see ({@code OMP_WAIT_POLICY}, {@link
 * org.align4j.engine.NativeEnv}) is set on first use, before libtorch loads. Run the JVM with {@code
 * --enable-native-access=ALL-UNNAMED} so that align4j may call libc without a warning.
 */
package org.align4j.api;
