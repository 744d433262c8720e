package org.vireo.x86.boot;

/** The kernel, initrd or command line cannot be booted as given; the message says why. */
public final class BootException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BootException(String message) { super(message); }

    public BootException(String message, Throwable cause) { super(message, cause); }
}
