package org.vireo.memory;

/** A range of guest-physical addresses: one scatter-gather element. */
public record GuestRange(long address, long length) {
    public GuestRange {
        if (length < 0) throw new IllegalArgumentException("negative length " + length);
    }

    public long end() { return address + length; }

    @Override
    public String toString() { return String.format("[0x%x, +0x%x)", address, length); }
}
