package org.vireo.shell.api;

/** The VM, machine or device named in a request does not exist. */
public class NotFoundException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message) {
        super(message);
    }
}
