package org.vireo.bus;

import java.util.Map;
import java.util.TreeMap;

/** Hands out aligned, non-overlapping windows of an address space (MMIO holes, PCI BARs, port ranges). Thread-safe. */
public final class AddressAllocator {
    private final long base;
    private final long end;
    private final TreeMap<Long, Long> used = new TreeMap<>();

    public AddressAllocator(long base, long size) {
        this.base = base;
        this.end = base + size;
    }

    public synchronized long allocate(long size, long align) {
        if (size <= 0 || align <= 0 || Long.bitCount(align) != 1) throw new IllegalArgumentException("bad size/align");
        long candidate = align(base, align);
        for (Map.Entry<Long, Long> e : used.entrySet()) {
            if (candidate + size <= e.getKey()) break;
            candidate = Math.max(candidate, align(e.getKey() + e.getValue(), align));
        }
        if (candidate + size > end) throw new IllegalStateException(String.format("no room for 0x%x bytes in [0x%x, 0x%x)", size, base, end));
        used.put(candidate, size);
        return candidate;
    }

    public synchronized void free(long address) {
        used.remove(address);
    }

    private static long align(long v, long a) { return (v + a - 1) & -a; }
}
