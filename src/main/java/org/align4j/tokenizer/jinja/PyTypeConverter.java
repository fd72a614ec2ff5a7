package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.el.TruthyTypeConverter;

/** EL type coercions with Python truthiness. */
final class PyTypeConverter extends TruthyTypeConverter {

    private static final long serialVersionUID = 1L;

    @Override
    protected Boolean coerceToBoolean(Object value) {
        return Py.truthy(value);
    }
}
