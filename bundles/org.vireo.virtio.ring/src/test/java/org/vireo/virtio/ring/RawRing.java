package org.vireo.virtio.ring;

import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;

/** A split ring laid out by hand, for writing descriptors and avail entries that no well-behaved driver would. */
final class RawRing {
    final GuestMemory memory;
    final GuestAllocator allocator;
    final int size;
    final long features;
    final long desc, avail, used;
    private int availIdx;

    RawRing(GuestMemory memory, GuestAllocator allocator, int size, long features) {
        this.memory = memory;
        this.allocator = allocator;
        this.size = size;
        this.features = features;
        this.desc = allocator.allocate(SplitRing.descTableSize(size), SplitRing.DESC_ALIGN);
        this.avail = allocator.allocate(SplitRing.availSize(size), SplitRing.AVAIL_ALIGN);
        this.used = allocator.allocate(SplitRing.usedSize(size), SplitRing.USED_ALIGN);
        memory.fill(desc, SplitRing.descTableSize(size), (byte) 0);
        memory.fill(avail, SplitRing.availSize(size), (byte) 0);
        memory.fill(used, SplitRing.usedSize(size), (byte) 0);
    }

    SplitQueueDevice device() {
        return new SplitQueueDevice(memory, 0, size, desc, avail, used, features);
    }

    /** Writes descriptor {@code i} of the ring's table. */
    RawRing desc(int i, long addr, long len, int flags, int next) {
        writeDesc(memory, desc, i, addr, len, flags, next);
        return this;
    }

    static void writeDesc(GuestMemory memory, long table, int i, long addr, long len, int flags, int next) {
        long at = table + 16L * i;
        memory.writeLong(at, addr);
        memory.writeInt(at + 8, (int) len);
        memory.writeShort(at + 12, (short) flags);
        memory.writeShort(at + 14, (short) next);
    }

    /** Puts {@code head} in the avail ring and publishes it. */
    RawRing publish(int head) {
        memory.writeShort(avail + 4 + 2L * (availIdx & (size - 1)), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        memory.writeShort(avail + 2, (short) availIdx);
        return this;
    }

    /** Writes the avail idx field directly. */
    RawRing availIdx(int idx) {
        memory.writeShort(avail + 2, (short) idx);
        return this;
    }

    int usedIdx() { return memory.readShort(used + 2) & 0xffff; }

    int usedId(int slot) { return memory.readInt(used + 4 + 8L * slot); }

    int usedLen(int slot) { return memory.readInt(used + 4 + 8L * slot + 4); }
}
