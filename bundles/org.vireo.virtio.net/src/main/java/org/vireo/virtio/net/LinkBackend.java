package org.vireo.virtio.net;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.vireo.virtio.net.link.HostFrameLink;

/**
 * Backend "link:NAME": an in-JVM cable whose host end is this object, registered as a {@link HostFrameLink}
 * service. Frames from the host are handed to the device on the host caller's thread (the device queues them until
 * the guest posts receive buffers); frames from the guest wait in a bounded queue for the host to take them.
 */
public final class LinkBackend implements FrameBackend, HostFrameLink {
    /** Guest frames kept for a host that is not reading; beyond this the oldest are dropped. */
    public static final int MAX_QUEUED = 256;

    private final String linkName;
    private final ArrayDeque<byte[]> toHost = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final AtomicLong droppedToHost = new AtomicLong();
    private volatile Consumer<byte[]> receiver;
    private volatile boolean closed;

    public LinkBackend(String linkName) { this.linkName = linkName; }

    public String linkName() { return linkName; }

    /** Guest frames dropped because the host did not take them in time. */
    public long droppedToHost() { return droppedToHost.get(); }

    @Override
    public void start(Consumer<byte[]> receiver) { this.receiver = receiver; }

    @Override
    public void send(byte[] frame) {
        lock.lock();
        try {
            if (closed) return;
            if (toHost.size() >= MAX_QUEUED) {
                toHost.pollFirst();
                droppedToHost.incrementAndGet();
            }
            toHost.addLast(frame);
            arrived.signal();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void sendToGuest(byte[] frame) {
        Consumer<byte[]> r = receiver;
        if (closed || r == null) return;   // no device behind the link: the frame is lost, as on a cut cable
        r.accept(frame.clone());
    }

    @Override
    public byte[] receiveFromGuest(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (toHost.isEmpty()) {
                if (closed || nanos <= 0) return null;
                nanos = arrived.awaitNanos(nanos);
            }
            return toHost.pollFirst();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String describe() { return "link:" + linkName; }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            receiver = null;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
