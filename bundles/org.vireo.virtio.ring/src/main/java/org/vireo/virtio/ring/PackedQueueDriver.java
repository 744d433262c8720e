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
 * The driver side of a packed virtqueue (virtio 1.2 2.8): allocates its descriptor ring and event suppression
 * structures in guest memory and implements the seed's virtqueue ops, behaving like Linux's packed ring driver.
 * <p>
 * {@link #addBuf} writes a chain's descriptors in the slots after the last one, each marked available for its own
 * lap, and the head's flags last, so a chain becomes visible to the device at once; {@link #kick} only decides,
 * from the device's event suppression structure, whether to notify. Buffer ids come from a free list of
 * {@code size} ids; the tokens, chain lengths and indirect tables are kept on the Java side, so a device that
 * scribbles on the ring cannot corrupt them, and an impossible used descriptor (id not in flight, length beyond the
 * writable part) marks the queue broken.
 * <p>
 * Ordering mirrors {@link PackedQueueDevice}: the rest of a chain, {@link VarHandle#releaseFence()}, the head's
 * flags; a used descriptor's flags, {@link VarHandle#acquireFence()}, its id and length; a
 * {@link VarHandle#fullFence()} between our store and the load of the device's state in {@link #kick},
 * {@link #enableCallbacks} and {@link #getBuf}, so no notification or interrupt can be lost.
 * <p>
 * Thread-safe with one lock per queue; the callback and the notifier always run without it held.
 */
public final class PackedQueueDriver implements QueueDriver {
    private static final long NO_TABLE = -1;

    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final int index;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirect;
    private final Runnable notifier;
    private final long descAddr, driverAddr, deviceAddr;
    private final MemorySegment desc, driverEvent, deviceEvent;
    private final ReentrantLock lock = new ReentrantLock();

    // Guarded by lock. The per-buffer arrays are indexed by buffer id.
    private final int[] freeIds;            // a stack of the ids not in flight
    private int freeIdCount;
    private final Object[] tokens;          // non-null while the buffer with this id is in flight
    private final int[] slots;              // ring slots the buffer's chain took
    private final long[] indirectTable;     // guest address of its indirect table, or NO_TABLE
    private final long[] inBytes;           // its writable bytes: the most the device may report written
    private int freeSlots;
    private int nextAvail;
    private boolean availWrap = true;
    private int lastUsed;
    private boolean usedWrap = true;
    private int kickedLin;                  // the avail position at the last kick
    private int addedSinceKick;             // slots made available since
    private int eventFlags = PackedRing.EVENT_F_ENABLE;    // what we last wrote to the driver event structure
    private boolean released;
    private volatile boolean broken;
    private volatile VirtqueueCallback callback;

    /**
     * Allocates and zeroes the descriptor ring and both event suppression structures from {@code allocator}.
     *
     * @param features the negotiated features (RING_EVENT_IDX, RING_INDIRECT_DESC)
     * @param notifier writes the transport's notify register for this queue
     */
    public PackedQueueDriver(GuestMemory memory, GuestAllocator allocator, int index, int size, long features, Runnable notifier) {
        if (!PackedRing.validSize(size)) throw new IllegalArgumentException("queue size must be 1 to 32768: " + size);
        this.memory = Objects.requireNonNull(memory);
        this.allocator = Objects.requireNonNull(allocator);
        this.notifier = Objects.requireNonNull(notifier);
        this.index = index;
        this.size = size;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
        this.indirect = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        long d = allocator.allocate(PackedRing.descRingSize(size), PackedRing.DESC_ALIGN);
        long dr, dv;
        try {
            dr = allocator.allocate(PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
            try {
                dv = allocator.allocate(PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
            } catch (RuntimeException e) {
                allocator.free(dr);
                throw e;
            }
        } catch (RuntimeException e) {
            allocator.free(d);
            throw e;
        }
        this.descAddr = d;
        this.driverAddr = dr;
        this.deviceAddr = dv;
        this.desc = memory.slice(d, PackedRing.descRingSize(size));
        this.driverEvent = memory.slice(dr, PackedRing.EVENT_SIZE);
        this.deviceEvent = memory.slice(dv, PackedRing.EVENT_SIZE);
        desc.fill((byte) 0);
        driverEvent.fill((byte) 0);
        deviceEvent.fill((byte) 0);
        VarHandle.releaseFence();       // the zeroed ring is visible before the transport hands out its addresses

        this.freeIds = new int[size];
        for (int i = 0; i < size; i++) freeIds[i] = size - 1 - i;   // id 0 first
        this.freeIdCount = size;
        this.tokens = new Object[size];
        this.slots = new int[size];
        this.indirectTable = new long[size];
        Arrays.fill(indirectTable, NO_TABLE);
        this.inBytes = new long[size];
        this.freeSlots = size;
    }

    @Override public long descAddress() { return descAddr; }

    @Override public long driverAreaAddress() { return driverAddr; }

    @Override public long deviceAreaAddress() { return deviceAddr; }

    @Override public void setCallback(VirtqueueCallback callback) { this.callback = callback; }

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
            return !broken && !released && PackedRing.isUsed(readUsedFlags(), usedWrap);
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
            allocator.free(driverAddr);
            allocator.free(deviceAddr);
        } finally {
            lock.unlock();
        }
    }

    @Override public int index() { return index; }

    @Override public int size() { return size; }

    /** Free ring slots. */
    @Override
    public int freeCount() {
        lock.lock();
        try {
            return freeSlots;
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
            if (freeIdCount == 0 || freeSlots == 0) return false;
            long table = NO_TABLE;
            if (indirect && total > 1) table = tryAllocateTable(total);
            int taken = table != NO_TABLE ? 1 : total;
            if (freeSlots < taken) return false;
            int id = freeIds[--freeIdCount];
            int head = nextAvail;
            boolean headWrap = availWrap;
            int headFlags;
            if (table != NO_TABLE) {
                MemorySegment t = memory.slice(table, (long) total * PackedRing.DESC_SIZE);
                for (int k = 0; k < total; k++) {
                    boolean readable = k < out.size();
                    GuestRange r = readable ? out.get(k) : in.get(k - out.size());
                    writeDesc(t, k, r.address(), r.length(), 0, readable ? 0 : PackedRing.DESC_F_WRITE);
                }
                writeDesc(desc, head, table, (long) total * PackedRing.DESC_SIZE, id, -1);
                headFlags = PackedRing.DESC_F_INDIRECT;
            } else {
                headFlags = 0;
                int slot = head;
                boolean wrap = headWrap;
                for (int k = 0; k < total; k++) {
                    boolean readable = k < out.size();
                    GuestRange r = readable ? out.get(k) : in.get(k - out.size());
                    int flags = (readable ? 0 : PackedRing.DESC_F_WRITE) | (k + 1 < total ? PackedRing.DESC_F_NEXT : 0);
                    if (k == 0) {
                        headFlags = flags;
                        writeDesc(desc, slot, r.address(), r.length(), id, -1);
                    } else {
                        writeDesc(desc, slot, r.address(), r.length(), id, flags | PackedRing.availFlags(wrap));
                    }
                    if (++slot == size) {
                        slot = 0;
                        wrap = !wrap;
                    }
                }
            }
            VarHandle.releaseFence();   // the whole chain before the head's flags that make it available
            Le.put16(desc, (long) head * PackedRing.DESC_SIZE + PackedRing.FLAGS, headFlags | PackedRing.availFlags(headWrap));
            nextAvail += taken;
            if (nextAvail >= size) {
                nextAvail -= size;
                availWrap = !availWrap;
            }
            freeSlots -= taken;
            addedSinceKick += taken;
            tokens[id] = token;
            slots[id] = taken;
            indirectTable[id] = table;
            inBytes[id] = writable;
            return true;
        } finally {
            lock.unlock();
        }
    }

    private long tryAllocateTable(int total) {
        try {
            return allocator.allocate((long) total * PackedRing.DESC_SIZE, PackedRing.DESC_ALIGN);
        } catch (IllegalStateException outOfMemory) {
            return NO_TABLE;        // like Linux: fall back to direct descriptors
        }
    }

    /** Writes a descriptor; flags -1 leaves its flags alone (a head's, written last). */
    private static void writeDesc(MemorySegment table, int i, long addr, long len, int id, int flags) {
        long at = (long) i * PackedRing.DESC_SIZE;
        Le.put64(table, at + PackedRing.ADDR, addr);
        Le.put32(table, at + PackedRing.LEN, (int) len);
        Le.put16(table, at + PackedRing.ID, id);
        if (flags >= 0) Le.put16(table, at + PackedRing.FLAGS, flags);
    }

    @Override
    public void kick() {
        boolean notify;
        lock.lock();
        try {
            if (released) throw new IllegalStateException("virtqueue " + index + " was released");
            if (broken) return;             // like Linux: a broken queue is never kicked
            int oldLin = kickedLin;
            int newLin = PackedRing.lin(nextAvail, availWrap, size);
            int added = addedSinceKick;
            kickedLin = newLin;
            addedSinceKick = 0;
            VarHandle.fullFence();          // the head flags' store before the load of the device's suppression state
            int event = Le.i32(deviceEvent, 0);
            int flags = (event >>> 16) & 3;
            if (flags == PackedRing.EVENT_F_DISABLE) {
                notify = false;
            } else if (flags == PackedRing.EVENT_F_DESC && eventIdx && added < size) {
                notify = PackedRing.needEvent(PackedRing.linOfOffWrap(event & 0xffff, size), newLin, oldLin, size);
            } else {
                notify = true;
            }
        } finally {
            lock.unlock();
        }
        if (notify) notifier.run();
    }

    private int readUsedFlags() {
        int flags = Le.u16(desc, (long) lastUsed * PackedRing.DESC_SIZE + PackedRing.FLAGS);
        VarHandle.acquireFence();   // the id and length read after this are at least as new as the flags
        return flags;
    }

    @Override
    public UsedBuffer getBuf() {
        lock.lock();
        try {
            if (broken || released) return null;
            if (!PackedRing.isUsed(readUsedFlags(), usedWrap)) return null;
            long at = (long) lastUsed * PackedRing.DESC_SIZE;
            int id = Le.u16(desc, at + PackedRing.ID);
            long len = Le.u32(desc, at + PackedRing.LEN);
            if (id >= size || tokens[id] == null || len > inBytes[id]) {
                broken = true;      // an id not in flight, or more written than the buffer holds
                return null;
            }
            Object token = tokens[id];
            int taken = slots[id];
            detach(id);
            lastUsed += taken;
            if (lastUsed >= size) {
                lastUsed -= size;
                usedWrap = !usedWrap;
            }
            if (eventFlags == PackedRing.EVENT_F_DESC) {
                // Ask for an interrupt at the next used slot (Linux does the same on every get_buf); the full fence
                // keeps the next getBuf's flags load behind this store.
                writeDriverEvent(PackedRing.EVENT_F_DESC, PackedRing.offWrap(lastUsed, usedWrap));
                VarHandle.fullFence();
            }
            return new UsedBuffer(token, (int) len);
        } finally {
            lock.unlock();
        }
    }

    /** Returns a buffer's id and slots and frees its indirect table. */
    private void detach(int id) {
        tokens[id] = null;
        freeSlots += slots[id];
        slots[id] = 0;
        freeIds[freeIdCount++] = id;
        if (indirectTable[id] != NO_TABLE) {
            allocator.free(indirectTable[id]);
            indirectTable[id] = NO_TABLE;
        }
    }

    private void writeDriverEvent(int flags, int offWrap) {
        eventFlags = flags;
        Le.put32(driverEvent, 0, (flags << 16) | offWrap);
    }

    @Override
    public void disableCallbacks() {
        lock.lock();
        try {
            if (released || eventFlags == PackedRing.EVENT_F_DISABLE) return;
            writeDriverEvent(PackedRing.EVENT_F_DISABLE, 0);
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
            if (eventIdx) writeDriverEvent(PackedRing.EVENT_F_DESC, PackedRing.offWrap(lastUsed, usedWrap));
            else writeDriverEvent(PackedRing.EVENT_F_ENABLE, 0);
            VarHandle.fullFence();          // our store before reading the ring: else a used buffer could slip by unsignalled
            return !PackedRing.isUsed(readUsedFlags(), usedWrap);
        } finally {
            lock.unlock();
        }
    }

    /** After reset: the tokens of buffers the device never used, one per call (the ring itself is abandoned). */
    @Override
    public Object detachUnused() {
        lock.lock();
        try {
            if (released) return null;
            for (int id = 0; id < size; id++) {
                Object token = tokens[id];
                if (token != null) {
                    detach(id);
                    return token;
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    @Override public boolean broken() { return broken; }

    /** The slot and wrap counter ({@code off_wrap} form) where the next chain goes: for tests that write raw descriptors. */
    public int nextAvailOffWrap() {
        lock.lock();
        try {
            return PackedRing.offWrap(nextAvail, availWrap);
        } finally {
            lock.unlock();
        }
    }

    private void ensureUsable() {
        if (released) throw new IllegalStateException("virtqueue " + index + " was released");
        if (broken) throw new IllegalStateException("virtqueue " + index + " is broken");
    }

    @Override
    public String toString() {
        lock.lock();
        try {
            return "PackedQueueDriver[" + index + " size=" + size + " free=" + freeSlots + " avail=" + nextAvail
                    + (availWrap ? "/1" : "/0") + " lastUsed=" + lastUsed + (usedWrap ? "/1" : "/0")
                    + (broken ? " BROKEN" : "") + "]";
        } finally {
            lock.unlock();
        }
    }
}
