package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import jinjava.de.odysseus.el.tree.impl.Parser;

/** Builds expression trees with {@link PyParser}. */
final class PySyntaxBuilder extends ExtendedSyntaxBuilder {

    private static final long serialVersionUID = 1L;

    @Override
    protected Parser createParser(String expression) {
        return new PyParser(this, expression);
    }
}
