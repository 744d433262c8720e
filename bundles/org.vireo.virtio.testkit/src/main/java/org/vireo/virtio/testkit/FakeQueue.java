package org.vireo.virtio.testkit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;

/**
 * A virtqueue without a ring: chains go straight to a Java device model on kick, used buffers come back through
 * the callback on a separate "interrupt" executor, as a transport would deliver them. For driver unit tests.
 */
public final class FakeQueue implements Virtqueue {
    /** What the device does with one chain: the bytes written, or -1 to keep it (never used). */
    public interface Model {
        int process(Chain chain);
    }

    public record Chain(List<GuestRange> out, List<GuestRange> in, Object token, int descriptors) {}

    private final int index;
    private final int size;
    private final boolean indirect;
    private final Executor device;
    private final Executor interrupts;
    private final VirtqueueCallback callback;
    private volatile Model model;
    private int free;
    private List<Chain> added = new ArrayList<>();
    private final ArrayDeque<UsedBuffer> used = new ArrayDeque<>();
    private final ArrayDeque<Chain> held = new ArrayDeque<>();
    private final ArrayDeque<Chain> outstanding = new ArrayDeque<>();
    private boolean stopped;
    /** The longest chain added, and the kicks so far (read after the device thread is idle). */
    public int maxChainLength;
    public int kicks;

    /**
     * @param indirect  whether a chain of several buffers takes one descriptor (VIRTIO_F_INDIRECT_DESC)
     * @param device    where {@code model} runs on each kick
     * @param interrupts where {@code callback} runs after used buffers were added
     */
    public FakeQueue(int index, int size, boolean indirect, Executor device, Executor interrupts, VirtqueueCallback callback, Model model) {
        this.index = index;
        this.size = size;
        this.indirect = indirect;
        this.device = device;
        this.interrupts = interrupts;
        this.callback = callback;
        this.model = model;
        this.free = size;
    }

    public void setModel(Model model) {
        this.model = model;
    }

    /** After reset the device touches nothing. */
    public synchronized void stop() {
        stopped = true;
    }

    /** Chains the model kept (returned -1 for). */
    public synchronized int heldCount() {
        return held.size();
    }

    /** Chains added and not yet used. */
    public synchronized List<Chain> outstanding() {
        return List.copyOf(outstanding);
    }

    @Override public int index() { return index; }
    @Override public int size() { return size; }
    @Override public synchronized int freeCount() { return free; }

    @Override
    public synchronized boolean addBuf(List<GuestRange> out, List<GuestRange> in, Object token) {
        int n = out.size() + in.size();
        int need = indirect && n > 1 ? 1 : n;
        if (n == 0 || n > size || need > free || stopped) return false;
        free -= need;
        maxChainLength = Math.max(maxChainLength, n);
        Chain c = new Chain(List.copyOf(out), List.copyOf(in), token, need);
        added.add(c);
        outstanding.add(c);
        return true;
    }

    @Override
    public void kick() {
        List<Chain> batch;
        synchronized (this) {
            kicks++;
            batch = added;
            added = new ArrayList<>();
        }
        run(device, () -> {
            for (Chain c : batch) {
                int written;
                synchronized (this) {
                    if (stopped) return;
                }
                written = model.process(c);
                synchronized (this) {
                    if (stopped) return;
                    if (written < 0) {
                        held.add(c);
                        continue;
                    }
                    complete(c, written);
                }
            }
            run(interrupts, () -> callback.buffersUsed(this));
        });
    }

    /** Work arriving after the test closed the device is dropped, as a dead device would. */
    private static void run(Executor executor, Runnable task) {
        try {
            executor.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shut down
        }
    }

    private void complete(Chain c, int written) {
        used.add(new UsedBuffer(c.token(), written));
        outstanding.remove(c);
        free += c.descriptors();
    }

    /**
     * The device uses the oldest held chain now (e.g. a frame arrives into a posted receive buffer): false if none.
     */
    public boolean completeHeld(Model writer) {
        synchronized (this) {
            Chain c = held.poll();
            if (c == null || stopped) return false;
            complete(c, writer.process(c));
        }
        run(interrupts, () -> callback.buffersUsed(this));
        return true;
    }

    @Override public synchronized UsedBuffer getBuf() { return used.poll(); }
    @Override public void disableCallbacks() {}
    @Override public synchronized boolean enableCallbacks() { return used.isEmpty(); }
    @Override public Object detachUnused() { return null; }
    @Override public boolean broken() { return false; }
}
