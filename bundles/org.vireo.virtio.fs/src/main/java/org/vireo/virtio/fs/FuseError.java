package org.vireo.virtio.fs;

/** A request answered with an errno: thrown inside the server, never out of it. No stack trace (it is an answer). */
final class FuseError extends Exception {
    private static final long serialVersionUID = 1L;

    final int errno;

    FuseError(int errno, String why) {
        super(why, null, false, false);
        this.errno = errno;
    }

    FuseError(int errno) { this(errno, null); }
}
