package org.vireo.virtio.driver.support;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.vireo.memory.GuestAllocator;

/** One allocation of guest RAM for a request's buffers, freed exactly once. */
public final class GuestBuffer {
    private final GuestAllocator allocator;
    private final long address;
    private final long length;
    private final AtomicBoolean freed = new AtomicBoolean();

    private GuestBuffer(GuestAllocator allocator, long address, long length) {
        this.allocator = allocator;
        this.address = address;
        this.length = length;
    }

    /**
     * @throws IOException when the allocator has no room for {@code length} bytes at {@code align}
     */
    public static GuestBuffer allocate(GuestAllocator allocator, long length, long align) throws IOException {
        try {
            return new GuestBuffer(allocator, allocator.allocate(length, align), length);
        } catch (IllegalStateException e) {
            throw new IOException("no guest memory for a " + length + "-byte request buffer", e);
        }
    }

    /** The guest-physical address of the first byte. */
    public long address() {
        return address;
    }

    public long length() {
        return length;
    }

    /** Returns the memory to the allocator; later calls do nothing. */
    public void free() {
        if (freed.compareAndSet(false, true)) allocator.free(address);
    }
}
