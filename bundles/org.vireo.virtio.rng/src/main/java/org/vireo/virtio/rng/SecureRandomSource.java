package org.vireo.virtio.rng;

import java.security.SecureRandom;

/** Entropy from the JVM's {@link SecureRandom}. */
public final class SecureRandomSource implements EntropySource {
    private final SecureRandom random = new SecureRandom();

    @Override
    public int read(byte[] buf, int off, int len) {
        byte[] b = new byte[len];
        random.nextBytes(b);
        System.arraycopy(b, 0, buf, off, len);
        return len;
    }

    @Override public String describe() { return "securerandom"; }

    @Override public void close() {}
}
