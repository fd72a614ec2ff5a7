package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.objects.collections.PyList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** Python's tuple: an immutable list that prints as {@code (a, b)} and never equals a list. */
final class PyTuple extends PyList {

    PyTuple(List<?> items) {
        super(Collections.unmodifiableList(new java.util.ArrayList<Object>(items)));
    }

    static PyTuple of(Object... items) {
        return new PyTuple(Arrays.asList(items));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PyTuple t && Py.eq(this, t);
    }

    @Override
    public int hashCode() {
        return toList().hashCode();
    }
}
