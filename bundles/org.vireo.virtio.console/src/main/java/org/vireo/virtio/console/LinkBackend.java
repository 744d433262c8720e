package org.vireo.virtio.console;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.vireo.virtio.console.link.HostConsoleLink;

/**
 * Backend "link:NAME": an in-JVM byte stream whose host end is this object, registered as a {@link HostConsoleLink}
 * service. Host input goes to the device on the host caller's thread; guest output waits here for the host.
 */
public final class LinkBackend implements ConsoleBackend, HostConsoleLink {
    /** Guest output kept for a host that is not reading; beyond this the oldest bytes are dropped. */
    public static final int MAX_BUFFERED = 1 << 20;

    private final String linkName;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ByteQueue toHost = new ByteQueue(MAX_BUFFERED);
    private volatile Consumer<byte[]> input;
    private volatile boolean closed;

    public LinkBackend(String linkName) { this.linkName = linkName; }

    public String linkName() { return linkName; }

    /** Guest output bytes dropped because the host did not read them in time. */
    public long droppedToHost() {
        lock.lock();
        try {
            return toHost.dropped();
        } finally {
            lock.unlock();
        }
    }

    @Override public void start(Consumer<byte[]> input) { this.input = input; }

    @Override
    public void write(byte[] data, int off, int len) {
        lock.lock();
        try {
            if (closed) return;
            toHost.add(data, off, len);
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void sendToGuest(byte[] data) {
        Consumer<byte[]> in = input;
        if (closed || in == null || data.length == 0) return;
        in.accept(data.clone());
    }

    @Override
    public int receiveFromGuest(byte[] buf, int off, int len, long timeout, TimeUnit unit) throws InterruptedException {
        java.util.Objects.checkFromIndexSize(off, len, buf.length);
        if (len == 0) return 0;
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (toHost.isEmpty()) {
                if (closed || nanos <= 0) return 0;
                nanos = arrived.awaitNanos(nanos);
            }
            return toHost.poll(buf, off, len);
        } finally {
            lock.unlock();
        }
    }

    @Override public String describe() { return "link:" + linkName; }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            input = null;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
