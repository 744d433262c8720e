package org.vireo.bus;

/** A claimed window of an {@link IoBus}. */
public record IoRange(long base, long length, String owner) {
    public long end() { return base + length; }

    public boolean contains(long address) { return address >= base && address - base < length; }

    @Override
    public String toString() { return String.format("[0x%x, +0x%x) %s", base, length, owner); }
}
