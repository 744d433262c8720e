package org.vireo.kvm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongUnaryOperator;
import org.vireo.bus.IoHandler;

/** An I/O window that records every access and answers reads from a function of the offset. */
final class Recorder implements IoHandler {
    record Access(boolean write, long offset, int size, long value) {}

    private final List<Access> accesses = new ArrayList<>();
    private final LongUnaryOperator reads;
    private volatile Runnable onWrite = () -> { };

    Recorder() { this(offset -> 0); }

    Recorder(LongUnaryOperator reads) { this.reads = reads; }

    /** Runs after each recorded write (on the vCPU thread). */
    Recorder onWrite(Runnable action) {
        this.onWrite = action;
        return this;
    }

    @Override
    public synchronized long read(long offset, int size) {
        long v = reads.applyAsLong(offset);
        if (size < 8) v &= (1L << (size * 8)) - 1; // what the guest sees
        accesses.add(new Access(false, offset, size, v));
        return v;
    }

    @Override
    public void write(long offset, int size, long value) {
        synchronized (this) {
            accesses.add(new Access(true, offset, size, value));
        }
        onWrite.run();
    }

    synchronized List<Access> accesses() { return List.copyOf(accesses); }

    synchronized List<Access> writes() { return accesses.stream().filter(Access::write).toList(); }

    synchronized List<Access> reads() { return accesses.stream().filter(a -> !a.write()).toList(); }

    /** The low bytes of every write, as text: what a guest printed to a one-byte port. */
    synchronized String text() {
        StringBuilder sb = new StringBuilder();
        for (Access a : accesses) if (a.write()) sb.append((char) (a.value() & 0xFF));
        return sb.toString();
    }
}
