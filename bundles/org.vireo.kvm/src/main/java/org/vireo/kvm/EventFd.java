package org.vireo.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.vireo.kvm.internal.LibC;

/**
 * A Linux eventfd: a 64-bit counter that {@link #signal()} adds to and {@link #await} drains. KVM signals it from
 * the kernel (ioeventfd) or listens to it (irqfd). Non-blocking underneath; waits use poll(2).
 * {@link #close()} wakes any waiter and frees the descriptor only after waiters have left, so a descriptor number is
 * never reused under a thread still polling it.
 */
public class EventFd implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ReentrantReadWriteLock inUse = new ReentrantReadWriteLock();

    public EventFd() {
        this.fd = LibC.eventfd(LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
    }

    /** The descriptor, for handing to KVM. */
    public int fd() { return fd; }

    public boolean isClosed() { return closed.get(); }

    /** Adds one to the counter, waking a waiter. */
    public void signal() { add(1); }

    public void add(long value) {
        inUse.readLock().lock();
        try {
            if (closed.get()) throw new IllegalStateException("eventfd is closed");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(JAVA_LONG);
                buf.set(JAVA_LONG, 0, value);
                long r = LibC.write(fd, buf);
                if (r < 0) throw new KvmException("write eventfd", (int) -r);
            }
        } finally {
            inUse.readLock().unlock();
        }
    }

    /** Takes the counter without waiting: its value, or 0 when nothing was signalled (or the eventfd is closed). */
    public long poll() {
        inUse.readLock().lock();
        try {
            return closed.get() ? 0 : drain();
        } finally {
            inUse.readLock().unlock();
        }
    }

    /**
     * Waits up to {@code timeout} for a signal and takes the counter: how many signals arrived since the last take,
     * or 0 on timeout or when the eventfd was closed meanwhile. A negative timeout waits for ever.
     */
    public long await(long timeout, TimeUnit unit) {
        long deadline = timeout < 0 ? Long.MAX_VALUE : System.nanoTime() + unit.toNanos(timeout);
        inUse.readLock().lock();
        try {
            while (!closed.get()) {
                long n = drain();
                if (n > 0) return n;
                int millis;
                if (timeout < 0) {
                    millis = -1;
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return 0;
                    millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
                int r = LibC.pollIn(fd, millis);
                if (r < 0 && r != -LibC.EINTR) throw new KvmException("poll eventfd", -r);
            }
            return 0;
        } finally {
            inUse.readLock().unlock();
        }
    }

    private long drain() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_LONG);
            long r = LibC.read(fd, buf);
            if (r == -LibC.EAGAIN) return 0;
            if (r < 0) throw new KvmException("read eventfd", (int) -r);
            return buf.get(JAVA_LONG, 0);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        beforeClose();
        // Wake pollers, then wait for them to leave before the number can be reused.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(JAVA_LONG);
            buf.set(JAVA_LONG, 0, 1L);
            LibC.write(fd, buf);
        }
        inUse.writeLock().lock();
        try {
            LibC.close(fd);
        } finally {
            inUse.writeLock().unlock();
        }
    }

    /** Runs once before the descriptor is closed: subclasses detach it from KVM here. */
    protected void beforeClose() {}
}
