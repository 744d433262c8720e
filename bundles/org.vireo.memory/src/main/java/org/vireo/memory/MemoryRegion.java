package org.vireo.memory;

import java.lang.foreign.MemorySegment;

/** One contiguous piece of guest RAM: guest-physical {@code base} maps to the start of {@code segment}. */
public record MemoryRegion(long base, MemorySegment segment) {
    public MemoryRegion {
        if (base < 0) throw new IllegalArgumentException("negative base");
        if (Long.MAX_VALUE - base < segment.byteSize()) throw new IllegalArgumentException("region wraps");
    }

    public long size() { return segment.byteSize(); }

    public long end() { return base + segment.byteSize(); }

    public boolean contains(long address, long length) {
        return length >= 0 && address >= base && address <= end() && end() - address >= length;
    }
}
