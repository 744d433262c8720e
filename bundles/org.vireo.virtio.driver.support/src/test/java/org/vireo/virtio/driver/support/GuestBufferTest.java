package org.vireo.virtio.driver.support;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import org.junit.Test;
import org.vireo.memory.GuestAllocator;

public class GuestBufferTest {
    private final GuestAllocator allocator = new GuestAllocator(1 << 20, 1 << 20);

    @Test
    public void allocatesAlignedAndFreesExactlyOnce() throws Exception {
        long free = allocator.freeBytes();
        GuestBuffer buffer = GuestBuffer.allocate(allocator, 100, 64);
        assertEquals(100, buffer.length());
        assertEquals(0, buffer.address() % 64);
        GuestBuffer other = GuestBuffer.allocate(allocator, 100, 64);
        long bothHeld = allocator.freeBytes();
        assertTrue(bothHeld < free);
        buffer.free();
        long oneHeld = allocator.freeBytes();
        assertTrue(oneHeld > bothHeld);
        buffer.free();   // a second free must not free (or corrupt) anything else
        assertEquals(oneHeld, allocator.freeBytes());
        other.free();
        assertEquals(free, allocator.freeBytes());
    }

    @Test
    public void noRoomIsAnIOException() {
        IOException e = assertThrows(IOException.class, () -> GuestBuffer.allocate(allocator, 2 << 20, 64));
        assertTrue(e.getMessage(), e.getMessage().contains("2097152-byte"));
    }
}
