package org.vireo.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.VirtqueueCallback;

/**
 * The driver side of a split virtqueue: allocates its ring in guest memory and implements the seed's virtqueue ops
 * (add_buf, kick, get_buf, disable/enable callbacks, detach unused), behaving like Linux's split ring driver.
 * <p>
 * The free list, tokens, chain links and indirect tables are kept on the Java side, so a device that scribbles on
 * the descriptor table cannot corrupt them; what the device returns (used id and length) is validated, and an
 * impossible value marks the queue broken.
 * <p>
 * Ordering mirrors {@link SplitQueueDevice}: descriptors and avail entries are written, then
 * {@link VarHandle#releaseFence()}, then the avail idx; the used idx is read, then {@link VarHandle#acquireFence()},
 * then the used element; a {@link VarHandle#fullFence()} separates a store of our own index or event field from the
 * load of the device's suppression state (kick, enableCallbacks), so no notification or interrupt can be lost.
 * <p>
 * Thread-safe with one lock per queue; the callback and the notifier always run without it held.
 */
public final class SplitQueueDriver implements QueueDriver {
    private static final long NO_TABLE = -1;

    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final int index;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirect;
    private final Runnable notifier;
    private final long descAddr, availAddr, usedAddr;
    private final MemorySegment desc, avail, used;
    private final ReentrantLock lock = new ReentrantLock();

    // Guarded by lock. Indexed by descriptor number; the per-chain arrays by head.
    private final int[] nextFree;           // free list links, and the shadow of each chain's next fields
    private final Object[] tokens;          // non-null while a chain with this head is in flight
    private final int[] chainDescs;         // ring descriptors a chain occupies
    private final long[] indirectTable;     // guest address of a chain's indirect table, or NO_TABLE
    private final long[] inBytes;           // writable bytes of a chain: the most the device may report written
    private int freeHead;
    private int freeCount;
    private int availShadow;                // our avail idx, published by kick
    private int publishedAvail;             // avail idx at the last kick
    private int lastUsed;                   // next used entry to consume
    private boolean callbacksDisabled;
    private boolean released;
    private volatile boolean broken;
    private volatile VirtqueueCallback callback;

    /**
     * Allocates and zeroes the descriptor table, available and used rings from {@code allocator}.
     *
     * @param features the negotiated features (RING_EVENT_IDX, RING_INDIRECT_DESC)
     * @param notifier writes the transport's notify register for this queue
     */
    public SplitQueueDriver(GuestMemory memory, GuestAllocator allocator, int index, int size, long features, Runnable notifier) {
        if (!SplitRing.validSize(size)) throw new IllegalArgumentException("queue size must be a power of two up to 32768: " + size);
        this.memory = Objects.requireNonNull(memory);
        this.allocator = Objects.requireNonNull(allocator);
        this.notifier = Objects.requireNonNull(notifier);
        this.index = index;
        this.size = size;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
        this.indirect = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        long d = allocator.allocate(SplitRing.descTableSize(size), SplitRing.DESC_ALIGN);
        long a, u;
        try {
            a = allocator.allocate(SplitRing.availSize(size), SplitRing.AVAIL_ALIGN);
            try {
                u = allocator.allocate(SplitRing.usedSize(size), SplitRing.USED_ALIGN);
            } catch (RuntimeException e) {
                allocator.free(a);
                throw e;
            }
        } catch (RuntimeException e) {
            allocator.free(d);
            throw e;
        }
        this.descAddr = d;
        this.availAddr = a;
        this.usedAddr = u;
        this.desc = memory.slice(d, SplitRing.descTableSize(size));
        this.avail = memory.slice(a, SplitRing.availSize(size));
        this.used = memory.slice(u, SplitRing.usedSize(size));
        desc.fill((byte) 0);
        avail.fill((byte) 0);
        used.fill((byte) 0);
        VarHandle.releaseFence();       // the zeroed rings are visible before the transport hands out their addresses

        this.nextFree = new int[size];
        for (int i = 0; i < size; i++) nextFree[i] = i + 1;
        this.tokens = new Object[size];
        this.chainDescs = new int[size];
        this.indirectTable = new long[size];
        Arrays.fill(indirectTable, NO_TABLE);
        this.inBytes = new long[size];
        this.freeHead = 0;
        this.freeCount = size;
    }

    @Override public long descAddress() { return descAddr; }

    public long availAddress() { return availAddr; }

    public long usedAddress() { return usedAddr; }

    @Override public long driverAreaAddress() { return availAddr; }

    @Override public long deviceAreaAddress() { return usedAddr; }

    @Override
    public void setCallback(VirtqueueCallback callback) { this.callback = callback; }

    @Override
    public boolean interrupt() {
        VirtqueueCallback cb = callback;
        if (cb == null || !hasPending()) return false;
        cb.buffersUsed(this);       // without the lock: the callback calls getBuf, addBuf, kick
        return true;
    }

    @Override
    public boolean hasPending() {
        lock.lock();
        try {
            return !broken && !released && readUsedIdx() != lastUsed;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void release() {
        lock.lock();
        try {
            if (released) return;
            released = true;
            for (int i = 0; i < size; i++) {
                if (indirectTable[i] != NO_TABLE) {
                    allocator.free(indirectTable[i]);
                    indirectTable[i] = NO_TABLE;
                }
                tokens[i] = null;
            }
            allocator.free(descAddr);
            allocator.free(availAddr);
            allocator.free(usedAddr);
        } finally {
            lock.unlock();
        }
    }

    @Override public int index() { return index; }

    @Override public int size() { return size; }

    @Override
    public int freeCount() {
        lock.lock();
        try {
            return freeCount;
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException for no buffers at all, more than the queue size, a null token, or a range
     *         outside guest memory or longer than 2^32-1 bytes
     * @throws IllegalStateException when the queue is broken or released
     */
    @Override
    public boolean addBuf(List<GuestRange> out, List<GuestRange> in, Object token) {
        long writable = DriverBuffers.check(memory, size, out, in, token);
        int total = out.size() + in.size();
        lock.lock();
        try {
            ensureUsable();
            int head;
            long table = NO_TABLE;
            if (indirect && total > 1 && freeCount >= 1) table = tryAllocateTable(total);
            if (table != NO_TABLE) {
                MemorySegment t = memory.slice(table, (long) total * SplitRing.DESC_SIZE);
                writeChain(t, out, in, null);
                head = takeFree();
                writeDesc(desc, head, table, (long) total * SplitRing.DESC_SIZE, SplitRing.DESC_F_INDIRECT, 0);
                chainDescs[head] = 1;
            } else {
                if (freeCount < total) return false;
                head = freeHead;
                int last = writeChain(desc, out, in, nextFree);
                freeHead = nextFree[last];
                freeCount -= total;
                chainDescs[head] = total;
            }
            tokens[head] = token;
            indirectTable[head] = table;
            inBytes[head] = writable;
            Le.put16(avail, SplitRing.availEntry(availShadow & (size - 1)), head);
            availShadow = (availShadow + 1) & 0xffff;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private long tryAllocateTable(int total) {
        try {
            return allocator.allocate((long) total * SplitRing.DESC_SIZE, SplitRing.DESC_ALIGN);
        } catch (IllegalStateException outOfMemory) {
            return NO_TABLE;        // like Linux: fall back to direct descriptors
        }
    }

    /**
     * Writes out then in as linked descriptors. In the ring ({@code links} non-null) the descriptors come from the
     * free list, which {@code links} threads; in an indirect table they are 0..n-1. Returns the last one used.
     */
    private int writeChain(MemorySegment table, List<GuestRange> out, List<GuestRange> in, int[] links) {
        int total = out.size() + in.size();
        int i = links != null ? freeHead : 0;
        for (int k = 0; k < total; k++) {
            boolean readable = k < out.size();
            GuestRange r = readable ? out.get(k) : in.get(k - out.size());
            boolean more = k + 1 < total;
            int next = links != null ? links[i] : i + 1;
            int flags = (readable ? 0 : SplitRing.DESC_F_WRITE) | (more ? SplitRing.DESC_F_NEXT : 0);
            writeDesc(table, i, r.address(), r.length(), flags, more ? next : 0);
            if (!more) return i;
            i = next;
        }
        throw new AssertionError("unreachable");
    }

    private static void writeDesc(MemorySegment table, int i, long addr, long len, int flags, int next) {
        long at = (long) i * SplitRing.DESC_SIZE;
        Le.put64(table, at, addr);
        Le.put32(table, at + 8, (int) len);
        Le.put16(table, at + 12, flags);
        Le.put16(table, at + 14, next);
    }

    private int takeFree() {
        int head = freeHead;
        freeHead = nextFree[head];
        freeCount--;
        return head;
    }

    @Override
    public void kick() {
        boolean notify;
        lock.lock();
        try {
            if (released) throw new IllegalStateException("virtqueue " + index + " was released");
            if (broken) return;             // like Linux: a broken queue is never kicked
            int oldIdx = publishedAvail;
            int newIdx = availShadow;
            VarHandle.releaseFence();           // descriptors and avail entries before the idx that publishes them
            Le.put16(avail, SplitRing.AVAIL_IDX, newIdx);
            publishedAvail = newIdx;
            VarHandle.fullFence();              // the idx store before the load of the device's suppression state
            if (eventIdx) {
                notify = SplitRing.needEvent(Le.u16(used, SplitRing.availEventOffset(size)), newIdx, oldIdx);
            } else {
                notify = (Le.u16(used, 0) & SplitRing.USED_F_NO_NOTIFY) == 0;
            }
        } finally {
            lock.unlock();
        }
        if (notify) notifier.run();
    }

    @Override
    public UsedBuffer getBuf() {
        lock.lock();
        try {
            if (broken || released) return null;
            int usedIdx = readUsedIdx();
            if (usedIdx == lastUsed) return null;
            if (((usedIdx - lastUsed) & 0xffff) > size) {
                broken = true;      // the device claims more used entries than could be in flight
                return null;
            }
            long at = SplitRing.usedEntry(lastUsed & (size - 1));
            long id = Le.u32(used, at);
            long len = Le.u32(used, at + 4);
            if (id >= size || tokens[(int) id] == null || len > inBytes[(int) id]) {
                broken = true;
                return null;
            }
            int head = (int) id;
            Object token = tokens[head];
            detach(head);
            lastUsed = (lastUsed + 1) & 0xffff;
            if (eventIdx && !callbacksDisabled) {
                // Ask for an interrupt at the next used entry (Linux does the same on every get_buf). The full fence
                // keeps the next getBuf's used-idx load behind this store: otherwise the device could read the old
                // used_event and skip the interrupt while we read the old used idx and stop polling.
                Le.put16(avail, SplitRing.usedEventOffset(size), lastUsed);
                VarHandle.fullFence();
            }
            return new UsedBuffer(token, (int) len);
        } finally {
            lock.unlock();
        }
    }

    private int readUsedIdx() {
        int idx = Le.u16(used, SplitRing.USED_IDX);
        VarHandle.acquireFence();   // used elements read after this are at least as new as idx
        return idx;
    }

    /** Returns a chain's descriptors to the free list and frees its indirect table. */
    private void detach(int head) {
        tokens[head] = null;
        int n = chainDescs[head];
        int last = head;
        for (int k = 1; k < n; k++) last = nextFree[last];     // the chain's own links, kept on our side
        nextFree[last] = freeHead;
        freeHead = head;
        freeCount += n;
        if (indirectTable[head] != NO_TABLE) {
            allocator.free(indirectTable[head]);
            indirectTable[head] = NO_TABLE;
        }
    }

    @Override
    public void disableCallbacks() {
        lock.lock();
        try {
            if (released || callbacksDisabled) return;
            callbacksDisabled = true;
            if (eventIdx) {
                // The farthest event from where we are: the device interrupts again only after 2^16 - 1 more buffers.
                Le.put16(avail, SplitRing.usedEventOffset(size), (lastUsed - 1) & 0xffff);
            } else {
                Le.put16(avail, 0, SplitRing.AVAIL_F_NO_INTERRUPT);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean enableCallbacks() {
        lock.lock();
        try {
            if (released) throw new IllegalStateException("virtqueue " + index + " was released");
            if (broken) return true;        // nothing will ever be pending: callers go idle
            callbacksDisabled = false;
            if (eventIdx) Le.put16(avail, SplitRing.usedEventOffset(size), lastUsed);
            else Le.put16(avail, 0, 0);
            VarHandle.fullFence();          // our store before reading the used idx: else a used buffer could slip by unsignalled
            return readUsedIdx() == lastUsed;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Object detachUnused() {
        lock.lock();
        try {
            if (released) return null;
            for (int head = 0; head < size; head++) {
                Object token = tokens[head];
                if (token != null) {
                    detach(head);
                    // Like Linux: take the entry back out of the avail ring (only meaningful once the device was reset).
                    availShadow = (availShadow - 1) & 0xffff;
                    publishedAvail = availShadow;
                    Le.put16(avail, SplitRing.AVAIL_IDX, availShadow);
                    return token;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    @Override public boolean broken() { return broken; }

    private void ensureUsable() {
        if (released) throw new IllegalStateException("virtqueue " + index + " was released");
        if (broken) throw new IllegalStateException("virtqueue " + index + " is broken");
    }

    @Override
    public String toString() {
        lock.lock();
        try {
            return "SplitQueueDriver[" + index + " size=" + size + " free=" + freeCount + " avail=" + availShadow
                    + " lastUsed=" + lastUsed + (broken ? " BROKEN" : "") + "]";
        } finally {
            lock.unlock();
        }
    }
}
