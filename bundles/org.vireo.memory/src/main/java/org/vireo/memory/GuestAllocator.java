package org.vireo.memory;

import java.util.Map;
import java.util.TreeMap;

/**
 * First-fit allocator of guest-physical ranges, for code that plays the guest's part (Java virtio drivers place
 * their rings and buffers in guest RAM through it). Thread-safe. Freed ranges coalesce with their neighbours.
 */
public final class GuestAllocator {
    private final long base;
    private final long size;
    private final TreeMap<Long, Long> free = new TreeMap<>();   // start -> length
    private final TreeMap<Long, Long> used = new TreeMap<>();   // start -> length

    public GuestAllocator(long base, long size) {
        if (base < 0 || size <= 0) throw new IllegalArgumentException("bad allocator range");
        this.base = base;
        this.size = size;
        free.put(base, size);
    }

    /** Allocates {@code length} bytes aligned to {@code align} (a power of two). */
    public synchronized long allocate(long length, long align) {
        if (length <= 0) throw new IllegalArgumentException("length must be positive: " + length);
        if (align <= 0 || Long.bitCount(align) != 1) throw new IllegalArgumentException("align must be a power of two: " + align);
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            long start = e.getKey(), len = e.getValue();
            long aligned = (start + align - 1) & -align;
            if (aligned - start + length <= len) {
                free.remove(start);
                if (aligned > start) free.put(start, aligned - start);
                long tail = start + len - (aligned + length);
                if (tail > 0) free.put(aligned + length, tail);
                used.put(aligned, length);
                return aligned;
            }
        }
        throw new IllegalStateException("guest allocator out of memory: " + length + " bytes wanted, " + freeBytes() + " free");
    }

    /** Returns an allocation; freeing an address that was not allocated is an error. */
    public synchronized void free(long address) {
        Long len = used.remove(address);
        if (len == null) throw new IllegalArgumentException(String.format("0x%x was not allocated", address));
        long start = address, length = len;
        Map.Entry<Long, Long> before = free.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            free.remove(before.getKey());
            start = before.getKey();
            length += before.getValue();
        }
        Long after = free.get(start + length);
        if (after != null) {
            free.remove(start + length);
            length += after;
        }
        free.put(start, length);
    }

    public synchronized long freeBytes() {
        long total = 0;
        for (long l : free.values()) total += l;
        return total;
    }

    public long base() { return base; }

    public long size() { return size; }
}
