package org.align4j.tokenizer.jinja;

import com.hubspot.jinjava.util.HasObjectTruthValue;

/** Python's {@code None} inside templates (Java {@code null} stands for jinja2's Undefined). */
public enum PyNone implements HasObjectTruthValue {
    NONE;

    @Override
    public boolean getObjectTruthValue() {
        return false;
    }

    @Override
    public String toString() {
        return "None";
    }
}
