package org.vireo.fuzz;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.memory.MemoryRegion;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.VirtqueueException;
import org.vireo.virtio.ring.SplitQueueDevice;
import org.vireo.virtio.ring.SplitRing;

/**
 * The split ring's device side ({@link SplitQueueDevice#pop()} and friends) on rings a hostile driver wrote:
 * descriptor tables, indirect tables and avail rings built from structured random values (addresses in either
 * region, in the hole between them, across their ends; lengths at every edge; any flags; next indices in and out of
 * range), rewritten between pops. Invariants:
 * <ul>
 * <li>pop either returns a chain or throws {@link VirtqueueException}; nothing else escapes, and a broken queue stays
 *     broken;</li>
 * <li>every range of a chain lies inside guest memory, readable before writable, its lengths add up, and reading
 *     and writing through it never leaves it;</li>
 * <li>device writes reported to guest memory lie inside the writable ranges of the chain being used;</li>
 * <li>host memory around the guest regions (guard bytes) is never touched.</li>
 * </ul>
 */
public class SplitRingFuzzTest {
    private static final long GUARD = 4096;
    private static final long LOW_SIZE = 64 * 1024;
    private static final long HIGH_BASE = 0x2_0000;
    private static final long HIGH_SIZE = 16 * 1024;
    private static final byte CANARY = (byte) 0xa5;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment host = arena.allocate(GUARD + LOW_SIZE + GUARD + HIGH_SIZE + GUARD, 4096);
    private final MemorySegment low = host.asSlice(GUARD, LOW_SIZE);
    private final MemorySegment high = host.asSlice(GUARD + LOW_SIZE + GUARD, HIGH_SIZE);
    private final GuestMemory memory = new GuestMemory(List.of(new MemoryRegion(0, low), new MemoryRegion(HIGH_BASE, high)));

    @After
    public void close() { arena.close(); }

    @Test
    public void splitRing() {
        Fuzz.run("split ring", 250, this::oneRing);
    }

    private void fillGuards() {
        host.asSlice(0, GUARD).fill(CANARY);
        host.asSlice(GUARD + LOW_SIZE, GUARD).fill(CANARY);
        host.asSlice(GUARD + LOW_SIZE + GUARD + HIGH_SIZE, GUARD).fill(CANARY);
    }

    private void checkGuards() {
        long[][] guards = {{0, GUARD}, {GUARD + LOW_SIZE, GUARD}, {GUARD + LOW_SIZE + GUARD + HIGH_SIZE, GUARD}};
        for (long[] g : guards) {
            for (long i = 0; i < g[1]; i++) {
                if (host.get(ValueLayout.JAVA_BYTE, g[0] + i) != CANARY) fail("host memory outside the guest touched at guard offset " + (g[0] + i));
            }
        }
    }

    /** An address a hostile driver might give a buffer. */
    private static long address(SplittableRandom r) {
        return switch (r.nextInt(10)) {
            case 0, 1, 2, 3 -> 0x8000 + r.nextInt((int) (LOW_SIZE - 0x8000));          // data area of the low region
            case 4 -> HIGH_BASE + r.nextInt((int) HIGH_SIZE);                           // the high region
            case 5 -> LOW_SIZE - r.nextInt(64);                                        // across the low region's end
            case 6 -> LOW_SIZE + r.nextInt((int) (HIGH_BASE - LOW_SIZE));               // the hole
            case 7 -> HIGH_BASE + HIGH_SIZE - r.nextInt(64);                           // across the high region's end
            default -> Fuzz.interesting(r);
        };
    }

    private static long length(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> 0;
            case 1, 2, 3 -> 1 + r.nextInt(512);
            case 4 -> 1 + r.nextInt(8192);
            case 5 -> Fuzz.pick(r, 16L, 32L, 48L, 256L);                                // indirect-table shapes
            default -> Fuzz.interesting(r) & 0xffff_ffffL;
        };
    }

    private static int flags(SplittableRandom r) {
        int f = 0;
        if (Fuzz.chance(r, 0.5)) f |= SplitRing.DESC_F_NEXT;
        if (Fuzz.chance(r, 0.4)) f |= SplitRing.DESC_F_WRITE;
        if (Fuzz.chance(r, 0.1)) f |= SplitRing.DESC_F_INDIRECT;
        if (Fuzz.chance(r, 0.02)) f |= r.nextInt(0x10000);
        return f;
    }

    private void writeDescriptor(long at, SplittableRandom r, int tableSize) {
        if (!memory.contains(at, 16)) return;
        memory.writeLong(at, address(r));
        memory.writeInt(at + 8, (int) length(r));
        memory.writeShort(at + 12, (short) flags(r));
        int next = Fuzz.chance(r, 0.9) ? r.nextInt(Math.max(1, tableSize)) : r.nextInt(0x10000);
        memory.writeShort(at + 14, (short) next);
    }

    private void oneRing(SplittableRandom r) {
        fillGuards();
        low.fill((byte) 0);
        high.fill((byte) 0);
        int size = 1 << r.nextInt(9);
        long features = (Fuzz.chance(r, 0.5) ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (Fuzz.chance(r, 0.7) ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0);
        long desc = 0, avail = SplitRing.descTableSize(size), used = (avail + SplitRing.availSize(size) + 3) & ~3L;
        if (Fuzz.chance(r, 0.05)) desc = address(r);
        if (Fuzz.chance(r, 0.05)) avail = address(r);
        if (Fuzz.chance(r, 0.05)) used = address(r);
        SplitQueueDevice queue;
        try {
            queue = new SplitQueueDevice(memory, 0, size, desc, avail, used, features);
        } catch (IllegalArgumentException refused) {
            checkGuards();
            return;   // misplaced rings are refused at DRIVER_OK; nothing more to do
        }
        for (int i = 0; i < size; i++) writeDescriptor(desc + 16L * i, r, size);
        // Indirect tables where some descriptors point.
        for (int t = r.nextInt(3); t > 0; t--) {
            long at = 0x8000 + 16L * r.nextInt((int) ((LOW_SIZE - 0x8000) / 16 - 16));
            int entries = 1 + r.nextInt(16);
            for (int e = 0; e < entries; e++) writeDescriptor(at + 16L * e, r, entries);
            memory.writeLong(desc + 16L * r.nextInt(size), at);
        }
        int availIdx = Fuzz.chance(r, 0.9) ? r.nextInt(size + 1) : r.nextInt(0x10000);
        writeAvail(r, avail, size, availIdx);

        List<DescriptorChain> outstanding = new ArrayList<>();
        List<DescriptorChain> popped = new ArrayList<>();
        int[] using = {-1};
        memory.setDeviceWriteObserver((address, length) -> {
            assertTrue("device write outside guest memory", memory.contains(address, length));
            assertTrue("device write with no chain being used", using[0] >= 0);
            // A hostile driver may make one head available twice while it is in use (the driver rewriting its
            // descriptors in between): the queue cannot tell those chains apart, so any of them will do.
            boolean inside = false;
            for (DescriptorChain c : popped) {
                if (c.head() != using[0]) continue;
                for (GuestRange w : c.writable()) inside |= address >= w.address() && address + length <= w.address() + w.length();
            }
            assertTrue("device write [0x" + Long.toHexString(address) + ", +" + length + ") outside the writable ranges of head " + using[0], inside);
        });
        boolean broken = false;
        int usedCount = 0;
        try {
            for (int op = 0; op < 4 * size + 8; op++) {
                switch (r.nextInt(10)) {
                    case 0, 1, 2, 3 -> {
                        DescriptorChain chain;
                        try {
                            chain = queue.pop();
                        } catch (VirtqueueException e) {
                            assertTrue("a queue that threw says it is broken", queue.broken());
                            broken = true;
                            continue;
                        }
                        assertTrue("a broken queue returned a chain", !broken);
                        if (chain != null) {
                            check(chain, size, r);
                            outstanding.add(chain);
                            popped.add(chain);
                        }
                    }
                    case 4, 5 -> {
                        if (outstanding.isEmpty()) continue;
                        DescriptorChain chain = outstanding.remove(r.nextInt(outstanding.size()));
                        int written = (int) Math.min(chain.writableLength(), r.nextInt(3) == 0 ? chain.writableLength() : r.nextInt(64));
                        if (written > 0 && Fuzz.chance(r, 0.5)) {
                            long at = r.nextLong(chain.writableLength());
                            int n = (int) Math.min(1 + r.nextInt(16), chain.writableLength() - at);
                            assertEquals(n, chain.write(at, Fuzz.bytes(r, n), 0, n));
                        }
                        using[0] = chain.head();
                        queue.addUsed(chain.head(), written);
                        using[0] = -1;
                        usedCount++;
                    }
                    case 6 -> queue.setNotification(r.nextBoolean());
                    case 7 -> queue.needsInterrupt();
                    case 8 -> writeDescriptor(desc + 16L * r.nextInt(size), r, size);   // the driver rewrites a descriptor
                    default -> writeAvail(r, avail, size, (memory.readShort(avail + 2) + r.nextInt(3)) & 0xffff);
                }
            }
        } finally {
            memory.setDeviceWriteObserver(null);
        }
        assertEquals("the device counts what it used", usedCount & 0xffff, queue.usedIndex());
        checkGuards();
    }

    private void writeAvail(SplittableRandom r, long avail, int size, int idx) {
        if (!memory.contains(avail, SplitRing.availSize(size))) return;
        memory.writeShort(avail, (short) (Fuzz.chance(r, 0.9) ? r.nextInt(2) : r.nextInt(0x10000)));
        for (int i = 0; i < size; i++) {
            int head = Fuzz.chance(r, 0.95) ? r.nextInt(size) : r.nextInt(0x10000);
            memory.writeShort(avail + 4 + 2L * i, (short) head);
        }
        memory.writeShort(avail + 2, (short) idx);
    }

    private void check(DescriptorChain chain, int size, SplittableRandom r) {
        assertTrue("head in range", chain.head() >= 0 && chain.head() < size);
        long readable = 0, writable = 0;
        for (GuestRange g : chain.readable()) {
            assertTrue("readable range inside guest memory: " + g, memory.contains(g.address(), g.length()));
            readable += g.length();
        }
        for (GuestRange g : chain.writable()) {
            assertTrue("writable range inside guest memory: " + g, memory.contains(g.address(), g.length()));
            writable += g.length();
        }
        assertEquals(readable, chain.readableLength());
        assertEquals(writable, chain.writableLength());
        assertTrue("chain fits an int", readable + writable <= Integer.MAX_VALUE);
        assertTrue("at most a queue size of buffers", chain.readable().size() + chain.writable().size() <= size);
        if (readable > 0) {
            long at = r.nextLong(readable);
            byte[] buf = new byte[(int) Math.min(4096, readable - at)];
            assertEquals(buf.length, chain.read(at, buf, 0, buf.length));
            assertEquals("reading past the end reads nothing", 0, chain.read(readable, new byte[1], 0, 1));
        }
        assertEquals("writing past the end writes nothing", 0, chain.write(writable, new byte[1], 0, 1));
    }
}
