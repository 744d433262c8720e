package org.vireo.bus;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class IoBusTest {
    /** A 16-byte register file that remembers the last access. */
    static final class Regs implements IoHandler {
        long lastOffset = -1;
        int lastSize;
        long lastValue;

        @Override public long read(long offset, int size) { return 0x1122334455667788L + offset; }

        @Override public void write(long offset, int size, long value) {
            lastOffset = offset;
            lastSize = size;
            lastValue = value;
        }
    }

    @Test
    public void dispatchesRelativeOffsetsAndMasksToSize() {
        IoBus bus = new IoBus("test");
        Regs r = new Regs();
        bus.register(0x1000, 16, "regs", r);
        assertEquals(0x88 + 4, bus.read(0x1004, 1));
        assertEquals(0x55667788L + 4, bus.read(0x1004, 4));
        bus.write(0x100f, 2, 0xabcdef);
        assertEquals(15, r.lastOffset);
        assertEquals(0xcdef, r.lastValue);
    }

    @Test
    public void unclaimedReadsAllOnesAndWritesVanish() {
        IoBus bus = new IoBus("test");
        bus.register(0x1000, 16, "regs", new Regs());
        assertEquals(0xff, bus.read(0xfff, 1));
        assertEquals(0xffffffffL, bus.read(0x1010, 4));
        assertEquals(-1L, bus.read(0, 8));
        bus.write(0x2000, 4, 1);
        assertFalse(bus.claimed(0x1010));
        assertTrue(bus.claimed(0x100f));
    }

    @Test(expected = IllegalStateException.class)
    public void overlapIsRefused() {
        IoBus bus = new IoBus("test");
        bus.register(0x1000, 16, "a", new Regs());
        bus.register(0x100f, 16, "b", new Regs());
    }

    @Test
    public void closingARegistrationFreesTheWindow() {
        IoBus bus = new IoBus("test");
        Registration reg = bus.register(0x1000, 16, "a", new Regs());
        reg.close();
        reg.close();
        assertEquals(0xffffffffL, bus.read(0x1000, 4));
        bus.register(0x1000, 16, "b", new Regs());
        assertEquals(1, bus.ranges().size());
    }

    @Test
    public void aHandlerThatThrowsIsContained() {
        IoBus bus = new IoBus("test");
        bus.register(0, 4, "broken", new IoHandler() {
            @Override public long read(long offset, int size) { throw new IllegalStateException("bug"); }

            @Override public void write(long offset, int size, long value) { throw new IllegalStateException("bug"); }
        });
        assertEquals(0xffff, bus.read(0, 2));
        bus.write(0, 4, 1);
    }

    @Test
    public void addressAllocatorAlignsAndReusesFreedSpace() {
        AddressAllocator a = new AddressAllocator(0xd000_0000L, 0x10000);
        long x = a.allocate(0x200, 0x200);
        long y = a.allocate(0x4000, 0x4000);
        assertEquals(0xd000_0000L, x);
        assertEquals(0xd000_4000L, y);
        assertEquals(0xd000_0200L, a.allocate(0x200, 0x200));
        a.free(x);
        assertEquals(0xd000_0000L, a.allocate(0x100, 0x100));
    }

    @Test(expected = IllegalStateException.class)
    public void addressAllocatorReportsExhaustion() {
        new AddressAllocator(0, 0x1000).allocate(0x2000, 1);
    }
}
