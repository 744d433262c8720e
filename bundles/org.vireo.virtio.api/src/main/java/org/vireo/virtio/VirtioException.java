package org.vireo.virtio;

/** A virtio protocol failure: a malformed ring, a refused feature set, a device that failed. */
public class VirtioException extends Exception {
    private static final long serialVersionUID = 1L;

    public VirtioException(String message) { super(message); }

    public VirtioException(String message, Throwable cause) { super(message, cause); }
}
