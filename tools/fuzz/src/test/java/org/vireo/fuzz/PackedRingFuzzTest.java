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
import org.vireo.virtio.ring.PackedQueueDevice;
import org.vireo.virtio.ring.PackedRing;

/**
 * The packed ring's device side ({@link PackedQueueDevice#pop()} and friends) on rings a hostile driver wrote. The
 * driver here mostly follows the protocol (chains written at its own avail position with the AVAIL/USED bits of its
 * lap, head last), so the device goes round the ring many times, and mixes in garbage: random flags and wrap bits,
 * buffer ids out of range or already in flight, addresses in the hole or across a region's end, lengths at every
 * edge, indirect tables (nested, misaligned, outside memory), descriptors rewritten under the device, and random
 * event suppression structures. Invariants:
 * <ul>
 * <li>pop either returns a chain or throws {@link VirtqueueException}; nothing else escapes, and a broken queue stays
 *     broken;</li>
 * <li>a chain's buffer id is in range and not in flight; its ranges lie inside guest memory, readable before
 *     writable, its lengths add up, and reading and writing through it never leaves it;</li>
 * <li>device writes reported to guest memory lie inside the writable ranges of the chain being used;</li>
 * <li>host memory around the guest regions (guard bytes) is never touched.</li>
 * </ul>
 */
public class PackedRingFuzzTest {
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

    /** How deep the cases got: chains popped, buffers used, rings that broke, rings that went round at least once. */
    private long chains, used, breaks, laps;

    @Test
    public void packedRing() {
        long cases = Fuzz.run("packed ring", 250, this::oneRing);
        System.out.printf("fuzz packed ring: %d chains popped, %d used, %d rings broken, %d went round, in %d cases%n",
                chains, used, breaks, laps, cases);
        assertTrue("the cases reach valid chains", cases < 50 || chains > cases);
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
            case 0, 1, 2, 3, 4 -> 0x8000 + r.nextInt((int) (LOW_SIZE - 0x8000));       // data area of the low region
            case 5 -> HIGH_BASE + r.nextInt((int) HIGH_SIZE);                           // the high region
            case 6 -> LOW_SIZE - r.nextInt(64);                                        // across the low region's end
            case 7 -> LOW_SIZE + r.nextInt((int) (HIGH_BASE - LOW_SIZE));               // the hole
            case 8 -> HIGH_BASE + HIGH_SIZE - r.nextInt(64);                           // across the high region's end
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

    /** NEXT, WRITE, INDIRECT as a driver might set them (the AVAIL/USED bits are added by the caller). */
    private static int kindFlags(SplittableRandom r, boolean more) {
        int f = more ? PackedRing.DESC_F_NEXT : 0;
        if (Fuzz.chance(r, 0.05)) f ^= PackedRing.DESC_F_NEXT;
        if (Fuzz.chance(r, 0.4)) f |= PackedRing.DESC_F_WRITE;
        if (Fuzz.chance(r, 0.08)) f |= PackedRing.DESC_F_INDIRECT;
        return f;
    }

    private static int lapFlags(SplittableRandom r, boolean wrap) {
        if (Fuzz.chance(r, 0.9)) return wrap ? PackedRing.DESC_F_AVAIL : PackedRing.DESC_F_USED;
        return r.nextInt(0x10000) & (PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED | 0x7f78);     // any bits
    }

    private void writeDescriptor(long at, long addr, long len, int id, int flags) {
        if (!memory.contains(at, 16)) return;
        memory.writeLong(at, addr);
        memory.writeInt(at + 8, (int) len);
        memory.writeShort(at + 12, (short) id);
        memory.writeShort(at + 14, (short) flags);
    }

    /** An indirect table of random descriptors somewhere in the data area; returns its address. */
    private long indirectTable(SplittableRandom r, int entries) {
        long at = 0x8000 + 16L * r.nextInt((int) ((LOW_SIZE - 0x8000) / 16 - entries));
        for (int e = 0; e < entries; e++) {
            int flags = kindFlags(r, false) & ~(Fuzz.chance(r, 0.9) ? PackedRing.DESC_F_INDIRECT : 0);
            writeDescriptor(at + 16L * e, address(r), length(r), r.nextInt(0x10000), flags);
        }
        return at;
    }

    /** The fuzzing driver's avail position and bookkeeping: it walks the ring like a real one, and sometimes lies. */
    private static final class Cursor {
        int slot;
        boolean wrap = true;
        int freeSlots;
        final java.util.ArrayDeque<Integer> freeIds = new java.util.ArrayDeque<>();
        final int[] idSlots;

        Cursor(int size) {
            freeSlots = size;
            idSlots = new int[size];
            for (int i = 0; i < size; i++) freeIds.add(i);
        }

        void advance(int size) {
            if (++slot == size) {
                slot = 0;
                wrap = !wrap;
            }
        }

        /** The device used buffer {@code id}: a well-behaved driver gets its slots and id back. */
        void used(int id) {
            if (id < idSlots.length && idSlots[id] > 0) {
                freeSlots += idSlots[id];
                idSlots[id] = 0;
                freeIds.add(id);
            }
        }
    }

    /** A chain as Linux would write it: valid buffers, readable first, the AVAIL/USED bits of each slot's lap, the head last. */
    private void publishWell(SplittableRandom r, long desc, int size, Cursor c, boolean indirect) {
        if (c.freeIds.isEmpty()) return;
        boolean viaTable = indirect && Fuzz.chance(r, 0.3);
        int n = 1 + r.nextInt(Math.min(3, size));
        int slots = viaTable ? 1 : n;
        if (slots > c.freeSlots) return;
        int id = c.freeIds.poll();
        c.idSlots[id] = slots;
        c.freeSlots -= slots;
        int firstWritable = r.nextInt(n + 1);
        int head = c.slot;
        boolean headWrap = c.wrap;
        int headKind = 0;
        long headAddr = 0, headLen = 0;
        if (viaTable) {
            long table = 0x8000 + 16L * r.nextInt((int) ((LOW_SIZE - 0x8000) / 16 - n));
            for (int k = 0; k < n; k++) {
                writeDescriptor(table + 16L * k, 0x8000 + r.nextInt((int) (LOW_SIZE - 0x8000 - 512)), 1 + r.nextInt(512), 0,
                        k >= firstWritable ? PackedRing.DESC_F_WRITE : 0);
            }
            headKind = PackedRing.DESC_F_INDIRECT;
            headAddr = table;
            headLen = 16L * n;
            c.advance(size);
        } else {
            for (int k = 0; k < n; k++) {
                int kind = (k >= firstWritable ? PackedRing.DESC_F_WRITE : 0) | (k + 1 < n ? PackedRing.DESC_F_NEXT : 0);
                long addr = 0x8000 + r.nextInt((int) (LOW_SIZE - 0x8000 - 512)), len = 1 + r.nextInt(512);
                if (k == 0) {
                    headKind = kind;
                    headAddr = addr;
                    headLen = len;
                } else {
                    writeDescriptor(desc + 16L * c.slot, addr, len, id, kind | (c.wrap ? PackedRing.DESC_F_AVAIL : PackedRing.DESC_F_USED));
                }
                c.advance(size);
            }
        }
        writeDescriptor(desc + 16L * head, headAddr, headLen, id, headKind | (headWrap ? PackedRing.DESC_F_AVAIL : PackedRing.DESC_F_USED));
    }

    /** A chain with garbage mixed in, written at the cursor whatever is in flight there. */
    private void publishBadly(SplittableRandom r, long desc, int size, Cursor c) {
        int n = 1 + (Fuzz.chance(r, 0.8) ? r.nextInt(3) : r.nextInt(size + 2));
        int id = Fuzz.chance(r, 0.8) ? r.nextInt(size) : r.nextInt(0x10000);
        int head = c.slot;
        int headFlags = 0;
        for (int k = 0; k < n; k++) {
            int flags = kindFlags(r, k + 1 < n) | lapFlags(r, c.wrap);
            long addr = address(r), len = length(r);
            if ((flags & PackedRing.DESC_F_INDIRECT) != 0 && Fuzz.chance(r, 0.7)) {
                int entries = 1 + r.nextInt(16);
                addr = indirectTable(r, entries);
                len = Fuzz.chance(r, 0.9) ? 16L * entries : length(r);
            }
            if (k == 0) {
                headFlags = flags;
                writeDescriptor(desc + 16L * head, addr, len, id, flags ^ (PackedRing.DESC_F_AVAIL | PackedRing.DESC_F_USED));
            } else {
                writeDescriptor(desc + 16L * c.slot, addr, len, id, flags);
            }
            c.advance(size);
        }
        if (memory.contains(desc + 16L * head + 14, 2)) memory.writeShort(desc + 16L * head + 14, (short) headFlags);   // the head last
    }

    private void oneRing(SplittableRandom r) {
        fillGuards();
        low.fill((byte) 0);
        high.fill((byte) 0);
        int size = Fuzz.chance(r, 0.5) ? 1 << r.nextInt(9) : 1 + r.nextInt(300);
        long features = VirtioFeatures.bit(VirtioFeatures.RING_PACKED)
                | (Fuzz.chance(r, 0.5) ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (Fuzz.chance(r, 0.7) ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0);
        long desc = 0, driverEvent = PackedRing.descRingSize(size), deviceEvent = driverEvent + 4;
        if (Fuzz.chance(r, 0.05)) desc = address(r);
        if (Fuzz.chance(r, 0.05)) driverEvent = address(r);
        if (Fuzz.chance(r, 0.05)) deviceEvent = address(r);
        PackedQueueDevice queue;
        try {
            queue = new PackedQueueDevice(memory, 0, size, desc, driverEvent, deviceEvent, features);
        } catch (IllegalArgumentException refused) {
            checkGuards();
            return;   // misplaced rings are refused at DRIVER_OK; nothing more to do
        }
        Cursor cursor = new Cursor(size);
        boolean indirect = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        // Most cases are a driver that behaves and lies now and then; some lie all the time.
        double evil = Fuzz.chance(r, 0.6) ? 0.01 : Fuzz.chance(r, 0.5) ? 0.1 : 0.6;
        List<DescriptorChain> outstanding = new ArrayList<>();
        int[] using = {-1};
        DescriptorChain[] usingChain = {null};
        memory.setDeviceWriteObserver((address, length) -> {
            assertTrue("device write outside guest memory", memory.contains(address, length));
            assertTrue("device write with no chain being used", usingChain[0] != null);
            boolean inside = false;
            for (GuestRange w : usingChain[0].writable()) inside |= address >= w.address() && address + length <= w.address() + w.length();
            assertTrue("device write [0x" + Long.toHexString(address) + ", +" + length + ") outside the writable ranges of id " + using[0], inside);
        });
        boolean broken = false;
        int usedCount = 0;
        try {
            for (int op = 0; op < 6 * size + 16; op++) {
                switch (r.nextInt(12)) {
                    case 0, 1, 2 -> {
                        if (Fuzz.chance(r, evil)) publishBadly(r, desc, size, cursor);
                        else publishWell(r, desc, size, cursor, indirect);
                    }
                    case 3, 4, 5 -> {
                        DescriptorChain chain;
                        try {
                            chain = queue.pop();
                        } catch (VirtqueueException e) {
                            assertTrue("a queue that threw says it is broken", queue.broken());
                            if (!broken) breaks++;
                            broken = true;
                            continue;
                        }
                        assertTrue("a broken queue returned a chain", !broken);
                        if (chain != null) {
                            chains++;
                            check(chain, size, r);
                            for (DescriptorChain o : outstanding) assertTrue("buffer id in flight twice", o.head() != chain.head());
                            outstanding.add(chain);
                        }
                    }
                    case 6, 7 -> {
                        if (outstanding.isEmpty()) continue;
                        DescriptorChain chain = outstanding.remove(r.nextInt(outstanding.size()));
                        int written = (int) Math.min(chain.writableLength(), r.nextInt(3) == 0 ? chain.writableLength() : r.nextInt(64));
                        if (written > 0 && Fuzz.chance(r, 0.5)) {
                            long at = r.nextLong(chain.writableLength());
                            int n = (int) Math.min(1 + r.nextInt(16), chain.writableLength() - at);
                            assertEquals(n, chain.write(at, Fuzz.bytes(r, n), 0, n));
                        }
                        using[0] = chain.head();
                        usingChain[0] = chain;
                        queue.addUsed(chain.head(), written);
                        cursor.used(chain.head());
                        usingChain[0] = null;
                        using[0] = -1;
                        usedCount++;
                    }
                    case 8 -> queue.setNotification(r.nextBoolean());
                    case 9 -> queue.needsInterrupt();
                    case 10 -> {   // the driver rewrites a descriptor under the device, or its event structure
                        if (!Fuzz.chance(r, evil)) {
                            if (memory.contains(driverEvent, 4)) memory.writeInt(driverEvent, r.nextInt(3) << 16 | r.nextInt(0x10000));
                        } else if (Fuzz.chance(r, 0.7)) {
                            writeDescriptor(desc + 16L * r.nextInt(size), address(r), length(r), r.nextInt(0x10000), r.nextInt(0x10000));
                        } else if (memory.contains(driverEvent, 4)) {
                            memory.writeInt(driverEvent, (int) Fuzz.interesting(r));
                        }
                    }
                    default -> {   // the driver loses track of its position
                        if (Fuzz.chance(r, evil / 4)) {
                            cursor.slot = r.nextInt(size);
                            cursor.wrap = r.nextBoolean();
                        }
                    }
                }
            }
        } finally {
            memory.setDeviceWriteObserver(null);
        }
        assertEquals("the device counts what it used", usedCount & 0xffff, queue.usedIndex());
        used += usedCount;
        if (!cursor.wrap) laps++;
        checkGuards();
    }

    private void check(DescriptorChain chain, int size, SplittableRandom r) {
        assertTrue("buffer id in range", chain.head() >= 0 && chain.head() < size);
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
