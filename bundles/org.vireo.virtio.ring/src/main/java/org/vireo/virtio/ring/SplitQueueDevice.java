package org.vireo.virtio.ring;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtqueueException;

/**
 * The device side of a split virtqueue in guest memory (virtio 1.x 2.7).
 * <p>
 * <b>Validation.</b> Everything read from the rings is guest-controlled. {@link #pop()} checks the head and next
 * indices, loops, chain length (at most the queue size, counting the entries of an indirect table), that every
 * buffer lies in guest memory without address overflow, that readable buffers come before writable ones, the
 * indirect rules (feature negotiated, length a nonzero multiple of 16, no NEXT, no nesting), that the chain's total
 * byte length fits an {@code int}, and that the avail index never runs more than a queue size ahead. A violation
 * throws {@link VirtqueueException} and breaks the queue for good; a new instance is needed after reset.
 * <p>
 * <b>Ordering.</b> The driver runs concurrently (a guest vCPU or a Java driver on another thread) and the ring is
 * plain shared memory, so the two sides pair their fences the way the spec's memory barriers do:
 * <ul>
 * <li>the driver writes ring entries, then (release) the avail idx; we read the avail idx, then
 *     {@link VarHandle#acquireFence()}, so the entries and descriptors we read afterwards are at least that new;</li>
 * <li>we write the used element, {@link VarHandle#releaseFence()}, then the used idx, so a driver that sees the new
 *     idx (and acquires) sees the element;</li>
 * <li>before reading the driver's suppression state (flags, used_event) we {@link VarHandle#fullFence()}: our used-idx
 *     store must not pass that load (store-load), or both sides could decide the other will act and a wakeup is lost.
 *     The same full fence separates our avail_event/NO_NOTIFY store from the re-read of the avail idx.</li>
 * </ul>
 * The fences also stop the JIT from hoisting the avail-idx load out of a caller's polling loop.
 * <p>
 * Thread-safe: one lock per queue orders concurrent pop/addUsed calls.
 */
public final class SplitQueueDevice implements DeviceQueue {
    private final GuestMemory memory;
    private final int index;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirectAllowed;
    private final MemorySegment desc;
    private final MemorySegment avail;
    private final MemorySegment used;
    private final Object lock = new Object();

    // Guarded by lock.
    private int lastAvail;          // next avail entry to consume (free-running 16 bit)
    private int availSeen;          // avail idx as last read
    private int usedIdx;            // next used entry to write (free-running 16 bit)
    private int signalledUsed;      // used idx at the last needsInterrupt()
    private boolean notifications = true;
    private final SplitDescriptorChain[] outstanding;   // head -> a popped, unused chain with a writable part
    private final int[] visited;    // loop detection: visited[i] == stamp when descriptor i is in the current chain
    private int stamp;
    private volatile boolean broken;
    private volatile String brokenReason;

    /**
     * @param features the negotiated features (RING_EVENT_IDX and RING_INDIRECT_DESC matter here)
     * @throws IllegalArgumentException if the size is not a power of two up to 32768 or a ring part is not inside guest memory or misaligned
     */
    public SplitQueueDevice(GuestMemory memory, int index, int size, long descAddr, long availAddr, long usedAddr, long features) {
        if (!SplitRing.validSize(size)) throw new IllegalArgumentException("queue size must be a power of two up to 32768: " + size);
        this.memory = memory;
        this.index = index;
        this.size = size;
        this.eventIdx = VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX);
        this.indirectAllowed = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        this.desc = ringPart(memory, "descriptor table", descAddr, SplitRing.descTableSize(size), SplitRing.DESC_ALIGN);
        this.avail = ringPart(memory, "available ring", availAddr, SplitRing.availSize(size), SplitRing.AVAIL_ALIGN);
        this.used = ringPart(memory, "used ring", usedAddr, SplitRing.usedSize(size), SplitRing.USED_ALIGN);
        this.visited = new int[size];
        this.outstanding = new SplitDescriptorChain[size];
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
            int availIdx = readAvailIdx();
            if (availIdx == lastAvail) {
                if (!eventIdx || !notifications) return null;
                // Tell the driver how far we got, then look again: a driver that published a buffer before it could
                // see the new avail_event will not notify for it, so we must find it now (pairs with its full fence).
                Le.put16(used, SplitRing.availEventOffset(size), lastAvail);
                VarHandle.fullFence();
                availIdx = readAvailIdx();
                if (availIdx == lastAvail) return null;
            }
            int pending = (availIdx - lastAvail) & 0xffff;
            if (pending > size) {
                throw fail(String.format("avail idx %d is %d entries ahead of %d, more than the queue size %d",
                        availIdx, pending, lastAvail, size));
            }
            int head = Le.u16(avail, SplitRing.availEntry(lastAvail & (size - 1)));
            SplitDescriptorChain chain;
            try {
                chain = walk(head);
            } catch (VirtqueueException e) {
                throw e;
            } catch (RuntimeException e) {
                // Belt and braces: whatever the guest wrote, callers only ever see VirtqueueException.
                throw fail("malformed chain at head " + head + ": " + e);
            }
            lastAvail = (lastAvail + 1) & 0xffff;
            outstanding[head] = chain.writable().isEmpty() ? null : chain;
            return chain;
        }
    }

    private int readAvailIdx() {
        int idx = Le.u16(avail, SplitRing.AVAIL_IDX);
        VarHandle.acquireFence();   // ring entries and descriptors read after this are at least as new as idx
        availSeen = idx;
        return idx;
    }

    private SplitDescriptorChain walk(int head) throws VirtqueueException {
        if (head >= size) throw fail("head index " + head + " out of range (queue size " + size + ")");
        if (++stamp == 0) {
            Arrays.fill(visited, 0);
            stamp = 1;
        }
        List<GuestRange> readable = new ArrayList<>(2);
        List<GuestRange> writable = new ArrayList<>(2);
        long readableLength = 0, writableLength = 0;
        boolean sawWritable = false;
        MemorySegment table = desc;
        int tableSize = size;
        boolean inIndirect = false;
        int count = 0;          // buffer descriptors so far (direct and indirect)
        int indirectBase = 0;   // buffer descriptors before the indirect table
        int i = head;
        while (true) {
            if (inIndirect) {
                if (count - indirectBase >= tableSize) throw fail("loop in indirect table of head " + head);
            } else {
                if (visited[i] == stamp) throw fail("loop at descriptor " + i + " in chain of head " + head);
                visited[i] = stamp;
            }
            long at = (long) i * SplitRing.DESC_SIZE;
            long addr = Le.i64(table, at);
            long len = Le.u32(table, at + 8);
            int flags = Le.u16(table, at + 12);
            int next = Le.u16(table, at + 14);

            if ((flags & SplitRing.DESC_F_INDIRECT) != 0) {
                if (!indirectAllowed) throw fail("indirect descriptor " + i + " but RING_INDIRECT_DESC was not negotiated");
                if (inIndirect) throw fail("nested indirect descriptor in table of head " + head);
                if ((flags & SplitRing.DESC_F_NEXT) != 0) throw fail("descriptor " + i + " has both INDIRECT and NEXT");
                if (len == 0 || len % SplitRing.DESC_SIZE != 0) throw fail("indirect table length " + len + " is not a nonzero multiple of 16");
                long entries = len / SplitRing.DESC_SIZE;
                if (count + entries > size) {
                    throw fail("chain of head " + head + " is too long: " + (count + entries) + " descriptors, queue size " + size);
                }
                checkRange(addr, len, "indirect table of descriptor " + i);
                table = memory.slice(addr, len);
                tableSize = (int) entries;
                inIndirect = true;
                indirectBase = count;
                i = 0;
                continue;
            }

            if (++count > size) throw fail("chain of head " + head + " is longer than the queue size " + size);
            checkRange(addr, len, "descriptor " + i);
            if ((flags & SplitRing.DESC_F_WRITE) != 0) {
                sawWritable = true;
                writable.add(new GuestRange(addr, len));
                writableLength += len;
            } else {
                if (sawWritable) throw fail("readable descriptor " + i + " after a writable one in chain of head " + head);
                readable.add(new GuestRange(addr, len));
                readableLength += len;
            }
            if (readableLength + writableLength > Integer.MAX_VALUE) {
                throw fail("chain of head " + head + " is longer than " + Integer.MAX_VALUE + " bytes");
            }
            if ((flags & SplitRing.DESC_F_NEXT) == 0) break;
            if (next >= tableSize) throw fail("descriptor " + i + " has next " + next + " out of range " + tableSize);
            i = next;
        }
        return new SplitDescriptorChain(memory, head, readable, writable, readableLength, writableLength);
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

    @Override
    public void addUsed(int head, int writtenBytes) {
        if (head < 0 || head >= size) throw new IllegalArgumentException("head " + head + " out of range " + size);
        if (writtenBytes < 0) throw new IllegalArgumentException("negative length " + writtenBytes);
        synchronized (lock) {
            reportDeviceWrites(outstanding[head], writtenBytes);
            outstanding[head] = null;
            long at = SplitRing.usedEntry(usedIdx & (size - 1));
            Le.put32(used, at, head);
            Le.put32(used, at + 4, writtenBytes);
            VarHandle.releaseFence();   // the element is visible before the index that publishes it
            usedIdx = (usedIdx + 1) & 0xffff;
            Le.put16(used, SplitRing.USED_IDX, usedIdx);
        }
    }

    /**
     * Tells guest memory which bytes the device wrote, before the used index publishes them: the first
     * {@code written} bytes of the writable part (which the device may have filled through zero-copy slices), and
     * whatever it wrote through {@link DescriptorChain#write} beyond them (a status byte at the end of a request
     * whose data part was not written).
     */
    private void reportDeviceWrites(SplitDescriptorChain chain, long written) {
        if (chain == null) return;
        List<GuestRange> writable = chain.writable();
        reportRange(writable, 0, written);
        long[] extents = chain.writtenExtents();
        for (int i = 0; i < extents.length; i += 2) reportRange(writable, Math.max(extents[i], written), extents[i + 1]);
    }

    /** Reports offsets {@code [from, to)} of {@code ranges} (concatenated) to guest memory. */
    private void reportRange(List<GuestRange> ranges, long from, long to) {
        long at = 0;
        for (int i = 0; i < ranges.size() && at < to; i++) {
            GuestRange r = ranges.get(i);
            long start = Math.max(from, at), end = Math.min(to, at + r.length());
            if (start < end) memory.deviceWrote(r.address() + (start - at), end - start);
            at += r.length();
        }
    }

    @Override
    public boolean needsInterrupt() {
        synchronized (lock) {
            VarHandle.fullFence();      // publish used idx before reading the driver's suppression state
            int newIdx = usedIdx;
            int oldIdx = signalledUsed;
            if (newIdx == oldIdx) return false;
            signalledUsed = newIdx;
            if (eventIdx) {
                int usedEvent = Le.u16(avail, SplitRing.usedEventOffset(size));
                return SplitRing.needEvent(usedEvent, newIdx, oldIdx);
            }
            return (Le.u16(avail, 0) & SplitRing.AVAIL_F_NO_INTERRUPT) == 0;
        }
    }

    @Override
    public void setNotification(boolean enabled) {
        synchronized (lock) {
            notifications = enabled;
            if (eventIdx) {
                // Disabling leaves avail_event behind lastAvail: the driver only notifies again after 2^16 buffers.
                if (enabled) Le.put16(used, SplitRing.availEventOffset(size), lastAvail);
            } else {
                Le.put16(used, 0, enabled ? 0 : SplitRing.USED_F_NO_NOTIFY);
            }
            VarHandle.fullFence();      // the caller's next pop re-reads the avail idx after this store
        }
    }

    @Override public int availIndex() { synchronized (lock) { return availSeen; } }

    @Override public int lastAvailIndex() { synchronized (lock) { return lastAvail; } }

    @Override public int usedIndex() { synchronized (lock) { return usedIdx; } }

    @Override public boolean broken() { return broken; }

    /** Why the queue broke, or null. */
    public String brokenReason() { return brokenReason; }

    @Override
    public String toString() {
        synchronized (lock) {
            return "SplitQueueDevice[" + index + " size=" + size + " avail=" + availSeen + " lastAvail=" + lastAvail
                    + " used=" + usedIdx + (broken ? " BROKEN: " + brokenReason : "") + "]";
        }
    }
}
