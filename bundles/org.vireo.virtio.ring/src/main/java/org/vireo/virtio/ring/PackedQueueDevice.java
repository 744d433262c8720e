package org.vireo.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtqueueException;

/**
 * The device side of a packed virtqueue in guest memory (virtio 1.2 2.8).
 * <p>
 * <b>Walking the ring.</b> The device keeps its next avail slot and avail wrap counter, and its next used slot and
 * used wrap counter. A chain starts at the next avail slot when that descriptor's AVAIL flag equals the avail wrap
 * counter and its USED flag does not (2.8.1); it continues in the following slots while NEXT is set, and its buffer
 * id is the one in its last descriptor (2.8.6). A used buffer is written as one descriptor at the next used slot with
 * AVAIL = USED = the used wrap counter, and the used slot then skips as many slots as that buffer's chain took
 * (2.8.21), so buffers may be used in any order.
 * <p>
 * <b>Validation.</b> Everything read from the ring is guest-controlled. {@link #pop()} checks that every descriptor
 * after the first is marked available for its own lap (wrap counter garbage), that a chain never takes more slots
 * than are free of buffers in flight (which also stops a chain that runs round the whole ring), that the buffer id is
 * below the queue size and not already in flight, that every buffer lies in guest memory without address overflow,
 * that readable buffers come before writable ones, the indirect rules (feature negotiated, only in the first
 * descriptor, length a nonzero multiple of 16, at most a queue size of entries, no NEXT, no nesting) and that the
 * chain's total byte length fits an {@code int}. A violation throws {@link VirtqueueException} and breaks the queue
 * for good; a new instance is needed after reset.
 * <p>
 * <b>Ordering.</b> As in {@link SplitQueueDevice}, with the head descriptor's flags in the role of the avail idx: we
 * read the flags, then {@link VarHandle#acquireFence()}, so the rest of the chain (which the driver wrote before it
 * released the head's flags) is at least as new; we write a used descriptor's id and length,
 * {@link VarHandle#releaseFence()}, then its flags; a {@link VarHandle#fullFence()} separates our used-flags store
 * from the load of the driver's event suppression structure, and our own event store from the re-read of the next
 * avail descriptor.
 * <p>
 * Thread-safe: one lock per queue orders concurrent pop/addUsed calls.
 */
public final class PackedQueueDevice implements DeviceQueue {
    private final GuestMemory memory;
    private final int index;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirectAllowed;
    private final MemorySegment desc;
    private final MemorySegment driverEvent;
    private final MemorySegment deviceEvent;
    private final Object lock = new Object();

    // Guarded by lock.
    private int nextAvail;
    private boolean availWrap = true;
    private int nextUsed;
    private boolean usedWrap = true;
    private int inFlight;                   // ring slots taken by popped, not yet used chains
    private final SplitDescriptorChain[] outstanding;   // buffer id -> popped, not yet used chain
    private final int[] slots;              // buffer id -> ring slots its chain took
    private int popped;                     // chains popped, mod 2^16 (the shell's "avail" and "last avail")
    private int usedCount;                  // buffers used, mod 2^16
    private int signalledLin;               // used position at the last needsInterrupt() that looked
    private int usedSinceSignal;
    private boolean notifications = true;
    private volatile boolean broken;
    private volatile String brokenReason;

    /**
     * @param features the negotiated features (RING_EVENT_IDX and RING_INDIRECT_DESC matter here)
     * @throws IllegalArgumentException if the size is not 1..32768 or a ring part is not inside guest memory or misaligned
     */
    public PackedQueueDevice(GuestMemory memory, int index, int size, long descAddr, long driverAddr, long deviceAddr, long features) {
        if (!PackedRing.validSize(size)) throw new IllegalArgumentException("queue size must be 1 to 32768: " + size);
        this.memory = memory;
        this.index = index;
        this.size = size;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
        this.indirectAllowed = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        this.desc = ringPart(memory, "descriptor ring", descAddr, PackedRing.descRingSize(size), PackedRing.DESC_ALIGN);
        this.driverEvent = ringPart(memory, "driver event suppression", driverAddr, PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
        this.deviceEvent = ringPart(memory, "device event suppression", deviceAddr, PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
        this.outstanding = new SplitDescriptorChain[size];
        this.slots = new int[size];
    }

    private static MemorySegment ringPart(GuestMemory memory, String what, long address, long length, int align) {
        if ((address & (align - 1)) != 0) {
            throw new IllegalArgumentException(String.format("%s at 0x%x is not %d-byte aligned", what, address, align));
        }
        if (address < 0 || !memory.contains(address, length)) {
            throw new IllegalArgumentException(String.format("%s [0x%x, +0x%x) is not inside guest memory", what, address, length));
        }
        return memory.slice(address, length);
    }

    @Override public int index() { return index; }

    @Override public int size() { return size; }

    @Override
    public DescriptorChain pop() throws VirtqueueException {
        synchronized (lock) {
            if (broken) throw new VirtqueueException("queue " + index + " is broken: " + brokenReason);
            int flags = readHeadFlags();
            if (!PackedRing.isAvail(flags, availWrap)) {
                if (!eventIdx || !notifications) return null;
                // Tell the driver where we wait, then look again: a driver that made the descriptor available before
                // it could see our event will not notify for it, so we must find it now (pairs with its full fence).
                writeDeviceEvent(PackedRing.EVENT_F_DESC, PackedRing.offWrap(nextAvail, availWrap));
                VarHandle.fullFence();
                flags = readHeadFlags();
                if (!PackedRing.isAvail(flags, availWrap)) return null;
            }
            SplitDescriptorChain chain;
            try {
                chain = walk();
            } catch (VirtqueueException e) {
                throw e;
            } catch (RuntimeException e) {
                // Belt and braces: whatever the guest wrote, callers only ever see VirtqueueException.
                throw fail("malformed chain at slot " + nextAvail + ": " + e);
            }
            popped = (popped + 1) & 0xffff;
            return chain;
        }
    }

    private int readHeadFlags() {
        int flags = Le.u16(desc, (long) nextAvail * PackedRing.DESC_SIZE + PackedRing.FLAGS);
        VarHandle.acquireFence();   // the chain read after this is at least as new as the head's flags
        return flags;
    }

    /** Validates the chain at the next avail slot and moves past it. */
    private SplitDescriptorChain walk() throws VirtqueueException {
        int free = size - inFlight;     // slots the chain may take without reaching a buffer in flight
        int slot = nextAvail;
        boolean wrap = availWrap;
        List<GuestRange> readable = new ArrayList<>(2);
        List<GuestRange> writable = new ArrayList<>(2);
        long[] lengths = new long[2];   // readable, writable
        int taken = 0;
        int id;
        while (true) {
            if (taken == free) {
                throw fail(String.format("chain at slot %d runs past %d free slots into buffers in flight (queue size %d)",
                        nextAvail, free, size));
            }
            long at = (long) slot * PackedRing.DESC_SIZE;
            long addr = Le.i64(desc, at + PackedRing.ADDR);
            long len = Le.u32(desc, at + PackedRing.LEN);
            int descId = Le.u16(desc, at + PackedRing.ID);
            int flags = Le.u16(desc, at + PackedRing.FLAGS);
            if (taken > 0 && !PackedRing.isAvail(flags, wrap)) {
                throw fail(String.format("descriptor at slot %d in the chain at slot %d has flags 0x%x, not available in lap %d",
                        slot, nextAvail, flags, wrap ? 1 : 0));
            }
            taken++;
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0) {
                if (!indirectAllowed) throw fail("indirect descriptor at slot " + slot + " but RING_INDIRECT_DESC was not negotiated");
                if (taken > 1) throw fail("indirect descriptor at slot " + slot + " inside a chain (only a chain's only descriptor may be indirect)");
                if ((flags & PackedRing.DESC_F_NEXT) != 0) throw fail("descriptor at slot " + slot + " has both INDIRECT and NEXT");
                walkIndirect(addr, len, slot, readable, writable, lengths);
                id = descId;
                break;
            }
            addBuffer(addr, len, flags, "descriptor at slot " + slot, readable, writable, lengths);
            if ((flags & PackedRing.DESC_F_NEXT) == 0) {
                id = descId;
                break;
            }
            if (++slot == size) {
                slot = 0;
                wrap = !wrap;
            }
        }
        if (id >= size) throw fail("buffer id " + id + " of the chain at slot " + nextAvail + " out of range (queue size " + size + ")");
        if (outstanding[id] != null) throw fail("buffer id " + id + " of the chain at slot " + nextAvail + " is already in flight");
        SplitDescriptorChain chain = new SplitDescriptorChain(memory, id, readable, writable, lengths[0], lengths[1]);
        outstanding[id] = chain;
        slots[id] = taken;
        inFlight += taken;
        nextAvail += taken;
        if (nextAvail >= size) {
            nextAvail -= size;
            availWrap = !availWrap;
        }
        return chain;
    }

    /** The entries of an indirect table, one after another (NEXT is not needed there, and ignored: 2.8.7). */
    private void walkIndirect(long addr, long len, int slot, List<GuestRange> readable, List<GuestRange> writable,
                              long[] lengths) throws VirtqueueException {
        if (len == 0 || len % PackedRing.DESC_SIZE != 0) {
            throw fail("indirect table length " + len + " at slot " + slot + " is not a nonzero multiple of 16");
        }
        long entries = len / PackedRing.DESC_SIZE;
        if (entries > size) throw fail("indirect table at slot " + slot + " has " + entries + " entries, more than the queue size " + size);
        checkRange(addr, len, "indirect table at slot " + slot);
        MemorySegment table = memory.slice(addr, len);
        for (int i = 0; i < entries; i++) {
            long at = (long) i * PackedRing.DESC_SIZE;
            int flags = Le.u16(table, at + PackedRing.FLAGS);
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0) throw fail("nested indirect descriptor " + i + " in the table at slot " + slot);
            addBuffer(Le.i64(table, at + PackedRing.ADDR), Le.u32(table, at + PackedRing.LEN), flags,
                    "indirect descriptor " + i + " of slot " + slot, readable, writable, lengths);
        }
    }

    private void addBuffer(long addr, long len, int flags, String what, List<GuestRange> readable, List<GuestRange> writable,
                           long[] lengths) throws VirtqueueException {
        checkRange(addr, len, what);
        if ((flags & PackedRing.DESC_F_WRITE) != 0) {
            writable.add(new GuestRange(addr, len));
            lengths[1] += len;
        } else {
            if (!writable.isEmpty()) throw fail("readable " + what + " after a writable one");
            readable.add(new GuestRange(addr, len));
            lengths[0] += len;
        }
        if (lengths[0] + lengths[1] > Integer.MAX_VALUE) throw fail("chain of " + what + " is longer than " + Integer.MAX_VALUE + " bytes");
    }

    private void checkRange(long addr, long len, String what) throws VirtqueueException {
        if (addr < 0 || addr > Long.MAX_VALUE - len) {
            throw fail(String.format("%s: [0x%x, +0x%x) overflows the address space", what, addr, len));
        }
        if (!memory.contains(addr, len)) {
            throw fail(String.format("%s: [0x%x, +0x%x) is outside guest memory", what, addr, len));
        }
    }

    private VirtqueueException fail(String reason) {
        brokenReason = reason;
        broken = true;
        return new VirtqueueException("queue " + index + ": " + reason);
    }

    /**
     * {@inheritDoc} {@code head} is the buffer id of a chain {@link #pop()} returned and that was not used since.
     *
     * @throws IllegalArgumentException for an id that is not in flight (a device bug)
     */
    @Override
    public void addUsed(int head, int writtenBytes) {
        if (head < 0 || head >= size) throw new IllegalArgumentException("buffer id " + head + " out of range " + size);
        if (writtenBytes < 0) throw new IllegalArgumentException("negative length " + writtenBytes);
        synchronized (lock) {
            SplitDescriptorChain chain = outstanding[head];
            if (chain == null) throw new IllegalArgumentException("buffer id " + head + " is not in flight on queue " + index);
            reportDeviceWrites(chain, writtenBytes);
            outstanding[head] = null;
            long at = (long) nextUsed * PackedRing.DESC_SIZE;
            Le.put32(desc, at + PackedRing.LEN, writtenBytes);
            Le.put16(desc, at + PackedRing.ID, head);
            VarHandle.releaseFence();   // id and length are visible before the flags that publish them
            Le.put16(desc, at + PackedRing.FLAGS, PackedRing.usedFlags(usedWrap));
            int taken = slots[head];
            inFlight -= taken;
            nextUsed += taken;
            if (nextUsed >= size) {
                nextUsed -= size;
                usedWrap = !usedWrap;
            }
            usedCount = (usedCount + 1) & 0xffff;
            usedSinceSignal++;
        }
    }

    /** As {@link SplitQueueDevice}: the first {@code written} bytes, and what {@link DescriptorChain#write} wrote beyond. */
    private void reportDeviceWrites(SplitDescriptorChain chain, long written) {
        List<GuestRange> writable = chain.writable();
        if (writable.isEmpty()) return;
        reportRange(writable, 0, written);
        long[] extents = chain.writtenExtents();
        for (int i = 0; i < extents.length; i += 2) reportRange(writable, Math.max(extents[i], written), extents[i + 1]);
    }

    private void reportRange(List<GuestRange> ranges, long from, long to) {
        long at = 0;
        for (int i = 0; i < ranges.size() && at < to; i++) {
            GuestRange r = ranges.get(i);
            long start = Math.max(from, at), end = Math.min(to, at + r.length());
            if (start < end) memory.deviceWrote(r.address() + (start - at), end - start);
            at += r.length();
        }
    }

    /**
     * Reads the driver's event suppression structure: DISABLE never wants an interrupt, DESC (with EVENT_IDX) wants
     * one when the used position passed its off_wrap, anything else (ENABLE, or a reserved value) wants one.
     */
    @Override
    public boolean needsInterrupt() {
        synchronized (lock) {
            VarHandle.fullFence();      // publish the used flags before reading the driver's suppression state
            if (usedSinceSignal == 0) return false;
            int newLin = PackedRing.lin(nextUsed, usedWrap, size);
            int oldLin = signalledLin;
            int many = usedSinceSignal;
            signalledLin = newLin;
            usedSinceSignal = 0;
            int event = Le.i32(driverEvent, 0);
            int flags = (event >>> 16) & 3;
            if (flags == PackedRing.EVENT_F_DISABLE) return false;
            if (flags == PackedRing.EVENT_F_DESC && eventIdx && many < size) {
                return PackedRing.needEvent(PackedRing.linOfOffWrap(event & 0xffff, size), newLin, oldLin, size);
            }
            return true;
        }
    }

    @Override
    public void setNotification(boolean enabled) {
        synchronized (lock) {
            notifications = enabled;
            if (!enabled) writeDeviceEvent(PackedRing.EVENT_F_DISABLE, 0);
            else if (eventIdx) writeDeviceEvent(PackedRing.EVENT_F_DESC, PackedRing.offWrap(nextAvail, availWrap));
            else writeDeviceEvent(PackedRing.EVENT_F_ENABLE, 0);
            VarHandle.fullFence();      // the caller's next pop re-reads the ring after this store
        }
    }

    /** off_wrap and flags in one 32-bit store, so the driver never sees one without the other. */
    private void writeDeviceEvent(int flags, int offWrap) {
        Le.put32(deviceEvent, 0, (flags << 16) | offWrap);
    }

    /** Chains popped, mod 2^16 (a packed ring has no avail idx: this is what a split ring's would read). */
    @Override public int availIndex() { synchronized (lock) { return popped; } }

    @Override public int lastAvailIndex() { synchronized (lock) { return popped; } }

    /** Buffers used, mod 2^16, as a split ring's used idx would read. */
    @Override public int usedIndex() { synchronized (lock) { return usedCount; } }

    @Override public boolean broken() { return broken; }

    /** Why the queue broke, or null. */
    public String brokenReason() { return brokenReason; }

    @Override
    public String toString() {
        synchronized (lock) {
            return "PackedQueueDevice[" + index + " size=" + size + " avail=" + nextAvail + (availWrap ? "/1" : "/0")
                    + " used=" + nextUsed + (usedWrap ? "/1" : "/0") + " inFlight=" + inFlight
                    + (broken ? " BROKEN: " + brokenReason : "") + "]";
        }
    }
}
