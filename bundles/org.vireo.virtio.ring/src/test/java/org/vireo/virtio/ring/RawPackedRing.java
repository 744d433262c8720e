package org.vireo.virtio.ring;

import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;

/** A packed ring laid out by hand, for writing descriptors and flags that no well-behaved driver would. */
final class RawPackedRing {
    final GuestMemory memory;
    final GuestAllocator allocator;
    final int size;
    final long features;
    final long desc, driverEvent, deviceEvent;
    private int slot;
    private boolean wrap = true;

    RawPackedRing(GuestMemory memory, GuestAllocator allocator, int size, long features) {
        this.memory = memory;
        this.allocator = allocator;
        this.size = size;
        this.features = features;
        this.desc = allocator.allocate(PackedRing.descRingSize(size), PackedRing.DESC_ALIGN);
        this.driverEvent = allocator.allocate(PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
        this.deviceEvent = allocator.allocate(PackedRing.EVENT_SIZE, PackedRing.EVENT_ALIGN);
        memory.fill(desc, PackedRing.descRingSize(size), (byte) 0);
        memory.fill(driverEvent, PackedRing.EVENT_SIZE, (byte) 0);
        memory.fill(deviceEvent, PackedRing.EVENT_SIZE, (byte) 0);
    }

    PackedQueueDevice device() {
        return new PackedQueueDevice(memory, 0, size, desc, driverEvent, deviceEvent, features);
    }

    /** Writes the descriptor in {@code slot} as it is, flags included. */
    RawPackedRing desc(int slot, long addr, long len, int id, int flags) {
        writeDesc(memory, desc, slot, addr, len, id, flags);
        return this;
    }

    static void writeDesc(GuestMemory memory, long table, int i, long addr, long len, int id, int flags) {
        long at = table + 16L * i;
        memory.writeLong(at, addr);
        memory.writeInt(at + 8, (int) len);
        memory.writeShort(at + 12, (short) id);
        memory.writeShort(at + 14, (short) flags);
    }

    /**
     * Makes a chain available at the next slots, each descriptor {addr, len, flags (NEXT/WRITE/INDIRECT)} marked
     * available for its own lap and the head's flags written last; every descriptor carries {@code id}.
     */
    RawPackedRing publish(int id, long[]... descs) {
        int s = slot;
        boolean w = wrap;
        int[] headFlags = new int[1];
        for (int k = 0; k < descs.length; k++) {
            int flags = (int) descs[k][2] | PackedRing.availFlags(w);
            if (k == 0) headFlags[0] = flags;
            else desc(s, descs[k][0], descs[k][1], id, flags);
            if (++s == size) {
                s = 0;
                w = !w;
            }
        }
        memory.writeLong(desc + 16L * slot, descs[0][0]);
        memory.writeInt(desc + 16L * slot + 8, (int) descs[0][1]);
        memory.writeShort(desc + 16L * slot + 12, (short) id);
        memory.writeShort(desc + 16L * slot + 14, (short) headFlags[0]);
        slot = s;
        wrap = w;
        return this;
    }

    int slot() { return slot; }

    boolean wrap() { return wrap; }

    int flags(int slot) { return memory.readShort(desc + 16L * slot + 14) & 0xffff; }

    int id(int slot) { return memory.readShort(desc + 16L * slot + 12) & 0xffff; }

    int len(int slot) { return memory.readInt(desc + 16L * slot + 8); }

    void driverEvent(int flags, int offWrap) { memory.writeInt(driverEvent, (flags << 16) | offWrap); }

    int deviceEventFlags() { return memory.readShort(deviceEvent + 2) & 0xffff; }

    int deviceEventOffWrap() { return memory.readShort(deviceEvent) & 0xffff; }
}
