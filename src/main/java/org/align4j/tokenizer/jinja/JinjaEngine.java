package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.javax.el.ExpressionFactory;

/**
 * Renders jinja2 templates the way Hugging Face transformers renders chat templates, on HubSpot's
 * Jinjava engine with a Python-semantics layer.
 *
 * <p>transformers uses {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
 * extensions=[loopcontrols, generation])}. Jinjava supplies the template structure (tags,
 * whitespace control, trim/lstrip blocks, loops, macros, namespaces); this package replaces what
 * differs from jinja2: the expression grammar ({@link PyParser}), operators ({@link PyOps}),
 * attribute and method access ({@link PyAst}, {@link PyMethods}), filters, tests, globals,
 * printing of values, truthiness in {@code if}, iteration in {@code for}, and jinja2's source
 * normalization. Where the result would differ from jinja2 it raises an error rather than
 * rendering. One deliberate difference: printing an undefined value is an error (jinja2 prints
 * an empty string), so a missing message field never silently vanishes from a prompt.
 *
 * <p>Each render runs on a render thread ({@link RenderThreads}) under {@link RenderLimits}: time,
 * output size, macro recursion, block and expression nesting. A template that hits one fails with
 * a {@link JinjaException} naming the limit and the system property that changes it.
 */
public final class JinjaEngine {

    private static final class PyJinjava extends Jinjava {

        private final ExpressionFactory factory =
                new ExpressionFactoryImpl(new TreeStore(new PySyntaxBuilder(), new Cache(2000)), new PyTypeConverter());

        PyJinjava(JinjavaConfig config) {
            super(config);
            getGlobalContext().registerTag(new PyTags.If());
            getGlobalContext().registerTag(new PyTags.For());
            getGlobalContext().registerTag(new PyTags.Set());
            getGlobalContext().registerTag(new PyTags.Generation());
        }

        @Override
        public ExpressionFactory getExpressionFactory() {
            return factory;
        }

        @Override
        public ExpressionFactory getEagerExpressionFactory() {
            return factory;
        }
    }

    /** Tags Jinjava has that jinja2 (as transformers configures it) does not, or that load files. */
    private static final Set<String> DISABLED_TAGS =
            Set.of("cycle", "ifchanged", "print", "unless", "do", "include", "import", "from", "extends", "autoescape");

    private static final Jinjava JINJAVA = new PyJinjava(config(0));

    /** One Jinjava configuration per output limit (Jinjava checks it in its own string builders). */
    private static final Map<Long, JinjavaConfig> CONFIGS = new ConcurrentHashMap<>();

    private static JinjavaConfig config(long maxOutputChars) {
        Map<Context.Library, Set<String>> disabled = new HashMap<>();
        disabled.put(Context.Library.TAG, DISABLED_TAGS);
        return JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // applied by JinjaLexer with jinja2's rule
                .withKeepTrailingNewline(true) // jinja2's trailing-newline rule is applied to the source below
                .withNestedInterpretationEnabled(false) // never re-render text that came out of a variable
                .withFailOnUnknownTokens(false)
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(0) // macro calls go through PyAst, which counts them (RenderBudget)
                .withMaxOutputSize(maxOutputChars)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withIterateOverMapKeys(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withAllowAdjacentTextNodes(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .build())
                .withInterperterFactory(new PyInterpreter.Factory())
                .withDisabled(disabled)
                .build();
    }

    private JinjaEngine() {}

    /**
     * jinja2's lexer normalization: {@code \r\n} and {@code \r} become {@code \n}, and one trailing
     * newline is dropped (keep_trailing_newline=False).
     */
    public static String normalizeSource(String source) {
        return JinjaLexer.preprocess(source);
    }

    /**
     * Renders {@code source} with {@code variables} (converted with {@link Py#toPython}; a Java
     * null is Python None, an absent key is undefined) under the default {@link RenderLimits}.
     *
     * @throws JinjaException naming the problem and the template line
     */
    public static String render(String source, Map<String, ?> variables) {
        return render(source, variables, RenderLimits.defaults());
    }

    /** {@link #render(String, Map)} under {@code limits}. */
    public static String render(String source, Map<String, ?> variables, RenderLimits limits) {
        Map<String, Object> vars = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            vars.put(e.getKey(), Py.toPython(e.getValue()));
        }
        String prepared = normalizeSource(source);
        return RenderThreads.call(() -> RenderBudget.run(limits, () -> renderHere(prepared, vars, limits)), limits);
    }

    /** Renders on this thread, within the budget {@link RenderBudget#run} set up. */
    private static String renderHere(String prepared, Map<String, Object> vars, RenderLimits limits) {
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(
                    prepared, vars, CONFIGS.computeIfAbsent(limits.maxOutputChars(), JinjaEngine::config));
        } catch (RenderBudget.Exceeded e) {
            throw new JinjaException(e.getMessage(), e.line(), null);
        } catch (RuntimeException e) {
            throw new JinjaException(describe(e), -1, e);
        }
        List<TemplateError> errors = result.getErrors();
        if (!errors.isEmpty()) {
            for (TemplateError err : errors) {
                if (err.getException() instanceof OutputTooBigException) {
                    throw new JinjaException(
                            RenderBudget.outputLimit(limits, -1).getMessage(), -1, null);
                }
            }
            // the first error is the cause; later ones (e.g. printing the None a failed expression
            // left behind) are consequences. raise_exception() wins: it is the template's own message.
            TemplateError first = null;
            for (TemplateError err : errors) {
                if (pyError(err) instanceof PyGlobals.TemplateRaised) {
                    first = err;
                    break;
                }
            }
            if (first == null) {
                for (TemplateError err : errors) {
                    if (!(pyError(err) instanceof PyInterpreter.PrintedUndefined)) {
                        first = err;
                        break;
                    }
                }
            }
            if (first == null) {
                first = errors.get(0);
            }
            throw new JinjaException(message(first), first.getLineno(), first.getException());
        }
        return result.getOutput();
    }

    private static PyError pyError(TemplateError e) {
        Throwable c = e.getException();
        while (c != null) {
            if (c instanceof PyError p) {
                return p;
            }
            c = c.getCause();
        }
        return null;
    }

    private static String message(TemplateError e) {
        Throwable cause = e.getException();
        while (cause != null) {
            if (cause instanceof PyError) {
                return cause.getMessage();
            }
            cause = cause.getCause();
        }
        String m = e.getMessage();
        return m == null ? e.toString() : m;
    }

    private static String describe(Throwable e) {
        Throwable c = e;
        while (c != null) {
            if (c instanceof PyError) {
                return c.getMessage();
            }
            c = c.getCause();
        }
        return e.toString();
    }
}
