package org.vireo.virtio.rng;

import java.io.IOException;

/** Where a virtio-rng device's bytes come from. */
public interface EntropySource extends AutoCloseable {
    /** Reads up to {@code len} bytes into {@code buf[off..]}; returns how many (0 once a finite source is exhausted). */
    int read(byte[] buf, int off, int len) throws IOException;

    String describe();

    @Override
    void close();
}
