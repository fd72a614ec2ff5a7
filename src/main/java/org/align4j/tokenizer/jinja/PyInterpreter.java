package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;
import jinjava.javax.el.ELException;

/**
 * Prints values as Python's {@code str()} does; printing an undefined value is an error. Checks the
 * block nesting of each parsed template against the render's limit.
 */
final class PyInterpreter extends JinjavaInterpreter {

    PyInterpreter(Jinjava application, Context context, JinjavaConfig config) {
        super(application, context, config);
    }

    PyInterpreter(JinjavaInterpreter orig) {
        super(orig);
    }

    /** Parses as Jinjava does, then refuses blocks nested deeper than the render's limit. */
    @Override
    public Node parse(String template) {
        Node root;
        try {
            root = super.parse(template);
        } catch (InterpretException | ELException e) {
            throw e; // Jinjava's own syntax errors, with their messages
        } catch (RuntimeException e) {
            // Jinjava 2.8.4's tokenizer fails with an index error on some overlapping delimiters,
            // e.g. {%call''}}{{%} (found by ChatTemplateFuzzTest); jinja2 rejects those too
            throw new PyError(
                    "TemplateSyntaxError",
                    "the template cannot be split into tags (" + e.getClass().getSimpleName()
                            + " in Jinjava's tokenizer): look for a '{{', '{%' or '{#' whose closing delimiter"
                            + " overlaps another tag");
        }
        RenderBudget.blockDepth(root);
        return root;
    }

    @Override
    public String getAsString(Object object) {
        if (object == null) {
            throw new PrintedUndefined();
        }
        return Py.str(object);
    }

    /** Printing an undefined value: an error here (jinja2 prints an empty string). */
    static final class PrintedUndefined extends PyError {

        private static final long serialVersionUID = 1L;

        PrintedUndefined() {
            super(
                    "UndefinedError",
                    "the template printed an undefined value (a missing variable, key or attribute); "
                            + "jinja2 would print an empty string, align4j refuses to drop it silently");
        }
    }

    static final class Factory implements InterpreterFactory {

        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
            return new PyInterpreter(orig);
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig config) {
            return new PyInterpreter(application, context, config);
        }
    }
}
