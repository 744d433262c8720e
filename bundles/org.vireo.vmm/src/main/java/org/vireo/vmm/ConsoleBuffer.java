package org.vireo.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM's serial output: the last {@code capacity} bytes kept for whoever asks later, and every byte passed to the
 * attached streams. An attached stream that fails is detached, so a gone terminal never stalls the guest.
 */
final class ConsoleBuffer extends OutputStream {
    static final int DEFAULT_CAPACITY = 64 * 1024;

    private final byte[] ring;
    private long written;                                  // guarded by this
    private final List<OutputStream> attached = new ArrayList<>(); // guarded by this

    ConsoleBuffer(int capacity) { ring = new byte[capacity]; }

    @Override
    public synchronized void write(int b) {
        ring[(int) (written++ % ring.length)] = (byte) b;
        for (int i = attached.size() - 1; i >= 0; i--) {
            try {
                attached.get(i).write(b);
            } catch (IOException | RuntimeException e) {
                attached.remove(i);
            }
        }
    }

    @Override
    public synchronized void flush() {
        for (int i = attached.size() - 1; i >= 0; i--) {
            try {
                attached.get(i).flush();
            } catch (IOException | RuntimeException e) {
                attached.remove(i);
            }
        }
    }

    /** The buffered bytes, oldest first. */
    synchronized byte[] snapshot() {
        int n = (int) Math.min(written, ring.length);
        byte[] out = new byte[n];
        int start = (int) ((written - n) % ring.length);
        int first = Math.min(n, ring.length - start);
        System.arraycopy(ring, start, out, 0, first);
        System.arraycopy(ring, 0, out, first, n - first);
        return out;
    }

    /** Writes the buffered bytes to {@code out}, then passes it every new byte until {@link #detach}. */
    synchronized void attach(OutputStream out) throws IOException {
        out.write(snapshot());
        out.flush();
        attached.add(out);
    }

    synchronized void detach(OutputStream out) { attached.remove(out); }
}
