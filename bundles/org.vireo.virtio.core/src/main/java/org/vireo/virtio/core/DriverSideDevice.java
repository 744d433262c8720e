package org.vireo.virtio.core;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.ring.QueueDriver;

/**
 * What every transport's driver side keeps the same way: its queues, the negotiated features, the bound driver and
 * config-change handler, interrupt dispatch to the queues, the generation-checked 64-bit config read, and queue
 * teardown. Subclasses speak their transport's registers ({@link #disableQueue}, config and generation reads).
 */
public abstract class DriverSideDevice implements VirtioDriverDevice, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DriverSideDevice.class.getName());

    protected final String name;
    protected final GuestMemory memory;
    protected final GuestAllocator allocator;
    /** The driver's queues by index. */
    protected final Map<Integer, QueueDriver> queues = new ConcurrentHashMap<>();
    /** Serialises select-then-access register sequences (queue select, feature selects). */
    protected final Object registers = new Object();
    protected volatile long negotiated;
    private volatile VirtioDriver boundDriver;
    private volatile Runnable configChangeHandler;

    protected DriverSideDevice(String name, GuestMemory memory, GuestAllocator allocator) {
        this.name = name;
        this.memory = memory;
        this.allocator = allocator;
    }

    /**
     * Disables queue {@code index} on the device (called holding {@link #registers}); returns whether the device let
     * go of it. A queue the device still owns keeps its ring: freeing live memory would hand it to someone else.
     */
    protected abstract boolean disableQueue(int index);

    /** Unplug: reset the device, release interrupts, free the rings. Throws nothing checked. */
    @Override
    public abstract void close();

    /** Runs one queue's callback, containing a driver's failure so the other queues still get theirs. */
    protected final void interruptQueue(QueueDriver q) {
        try {
            q.interrupt();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, name + ": queue " + q.index() + " callback failed", e);
        }
    }

    protected final void interruptAllQueues() {
        for (QueueDriver q : queues.values()) interruptQueue(q);
    }

    protected final void configChanged() {
        Runnable h = configChangeHandler;
        if (h != null) h.run();
    }

    /** Frees every queue's ring; for unplug, after the device was reset. */
    protected final void releaseQueues() {
        synchronized (registers) {
            for (QueueDriver q : queues.values()) q.release();
            queues.clear();
        }
    }

    @Override public String name() { return name; }

    @Override public GuestMemory memory() { return memory; }

    @Override public GuestAllocator allocator() { return allocator; }

    @Override public long negotiatedFeatures() { return negotiated; }

    @Override
    public long readConfig64(int offset) {
        long value = 0;
        for (int attempt = 0; attempt < 1000; attempt++) {
            int before = configGeneration();
            value = (readConfig(offset, 4) & 0xffff_ffffL) | (readConfig(offset + 4, 4) & 0xffff_ffffL) << 32;
            if (configGeneration() == before) break;
        }
        return value;
    }

    @Override
    public void deleteQueues() {
        synchronized (registers) {
            for (Integer index : queues.keySet().toArray(Integer[]::new)) {
                QueueDriver q = queues.remove(index);
                if (q == null) continue;
                if (!disableQueue(index)) {
                    LOG.log(System.Logger.Level.WARNING, name + ": queue " + index + " did not disable; its ring is not freed");
                    continue;
                }
                q.release();
            }
        }
    }

    @Override public VirtioDriver boundDriver() { return boundDriver; }

    @Override public void setBoundDriver(VirtioDriver driver) { boundDriver = driver; }

    @Override public void setConfigChangeHandler(Runnable handler) { configChangeHandler = handler; }

    @Override public String toString() { return name; }
}
