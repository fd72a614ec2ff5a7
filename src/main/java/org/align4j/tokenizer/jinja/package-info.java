/**
 * The chat-template engine: jinja2 as Hugging Face transformers runs it
 * ({@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with the
 * loopcontrols and generation extensions), built over HubSpot's Jinjava.
 *
 * <p>Why a layer beside Jinjava: Jinjava is a Jinja-like engine for Java values, not jinja2. Its
 * expression language has a different grammar and precedence (EL's, e.g. {@code not x in y}),
 * no slice steps, Java truthiness ("false" is false), Java methods on values, and whitespace
 * rules that differ from jinja2's lexer. A chat template rendered by Jinjava alone can produce a
 * different prompt from the one the model was trained on, silently. This package keeps Jinjava
 * for the template structure (tags, macros, loops, scopes) and replaces what decides the text:
 *
 * <ul>
 *   <li>{@link org.align4j.tokenizer.jinja.JinjaLexer}: jinja2's source normalization and
 *       lstrip_blocks rule;
 *   <li>{@link org.align4j.tokenizer.jinja.PyParser} and {@link org.align4j.tokenizer.jinja.PyAst}:
 *       jinja2's expression grammar, evaluated with Python semantics;
 *   <li>{@link org.align4j.tokenizer.jinja.Py}, {@link org.align4j.tokenizer.jinja.PyOps},
 *       {@link org.align4j.tokenizer.jinja.PyMethods}, {@link org.align4j.tokenizer.jinja.PyFilters},
 *       {@link org.align4j.tokenizer.jinja.PyTests}, {@link org.align4j.tokenizer.jinja.PyGlobals}:
 *       Python's values, operators, str/list/dict methods, jinja2's filters, tests and globals;
 *   <li>{@link org.align4j.tokenizer.jinja.PyJson}: transformers' {@code tojson}
 *       ({@code json.dumps(ensure_ascii=False)}, byte for byte);
 *   <li>{@link org.align4j.tokenizer.jinja.PyTags}: if/for/set with Python truthiness and
 *       jinja2's assignment and loop rules, and transformers' {@code generation} tag.
 * </ul>
 *
 * <p>It is also the sandbox. A template reaches only Python-like values: no Java method, class,
 * file or include is reachable (unknown attributes are undefined, mutating methods raise
 * SecurityError as in jinja2's immutable sandbox), and every render runs under
 * {@link org.align4j.tokenizer.jinja.RenderLimits} (time, output size, macro recursion, block and
 * expression nesting) on a render thread with a deep stack, so a hostile template fails with a
 * template error instead of hanging or crashing the run. Where the result would differ from
 * jinja2's, the engine raises an error rather than render something else.
 *
 * <p>Entry point: {@link org.align4j.tokenizer.jinja.JinjaEngine#render}; callers normally use
 * {@link org.align4j.tokenizer.ChatTemplate}.
 */
package org.align4j.tokenizer.jinja;
