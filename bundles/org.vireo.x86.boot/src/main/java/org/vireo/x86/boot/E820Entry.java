package org.vireo.x86.boot;

/** One entry of the BIOS e820 memory map (also the PVH memory map's layout). */
public record E820Entry(long address, long size, int type) {
    public static final int RAM = 1;
    public static final int RESERVED = 2;

    public long end() { return address + size; }

    @Override
    public String toString() {
        return String.format("[0x%x-0x%x) %s", address, end(), type == RAM ? "RAM" : type == RESERVED ? "reserved" : "type " + type);
    }
}
