package org.vireo.kvm;

import org.vireo.virtio.rng.EntropySource;

/** Deterministic "entropy": 0x40, 0x41, ... so a test can check every byte a guest received. */
final class CountingSource implements EntropySource {
    private int next = 0x40;

    @Override
    public int read(byte[] buf, int off, int len) {
        for (int i = 0; i < len; i++) buf[off + i] = (byte) next++;
        return len;
    }

    @Override public String describe() { return "counting"; }

    @Override public void close() {}
}
