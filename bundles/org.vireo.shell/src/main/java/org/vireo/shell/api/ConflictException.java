package org.vireo.shell.api;

/** The request clashes with what exists: a VM or device of that name is already there. */
public class ConflictException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message) {
        super(message);
    }
}
