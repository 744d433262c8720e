package org.vireo.vmm;

import java.io.InputStream;
import java.util.concurrent.LinkedBlockingQueue;

/** The keyboard of a VM run: bytes sent by attached consoles, read by the run's input thread; end of input when interrupted. */
final class KeyQueue extends InputStream {
    private final LinkedBlockingQueue<Integer> keys = new LinkedBlockingQueue<>(4096);

    void send(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (!keys.offer(bytes[i] & 0xff)) return; // nobody reads (the guest is not listening): drop the rest
        }
    }

    @Override
    public int read() {
        try {
            return keys.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
