package org.vireo.fuzz;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FAILED;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.VirtioStatus.NEEDS_RESET;

import java.util.SplittableRandom;
import java.util.logging.Level;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.rng.EntropySource;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.virtio.ring.SplitRing;
import org.vireo.virtio.testkit.LogCapture;

/**
 * What the register fuzz targets share: the device behind the registers (virtio-rng, whose queue work reads real
 * rings), structured values for the registers, the guest memory a hostile driver scribbles on, and the checks that
 * the device ends in a valid state (its status is a legal one, and after a reset a plain driver gets entropy).
 */
public final class GuestSide {
    /** Where fuzzed queue addresses mostly point, and the buffers of its descriptors. */
    public static final long RINGS = 0x10_0000, BUFFERS = 0x20_0000;
    /** Rings and buffer of the final, well-formed request. */
    public static final long GOOD_DESC = 0x30_0000, GOOD_AVAIL = 0x31_0000, GOOD_USED = 0x32_0000, GOOD_BUFFER = 0x40_0000;
    public static final int GOOD_SIZE = 16;
    public static final int DRIVER_BITS = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK;

    /** Where the driver script puts queue 0's rings. */
    public static final long DESC = RINGS, AVAIL = RINGS + 0x1000, USED = RINGS + 0x2000;

    private GuestSide() {}

    /** What a driver does through a transport's registers; each transport's target maps it to its own. */
    public interface Driver {
        int status();

        void status(int value);

        void driverFeatures(int select, int value);

        void selectQueue(int index);

        void queueSize(int size);

        void queueRings(long desc, long avail, long used);

        void queueReady(int value);

        void notifyQueue(int index);

        /** Reads and acknowledges the interrupt status. */
        void takeInterrupts();
    }

    /**
     * A driver's bring-up of queue 0 (ACKNOWLEDGE, DRIVER, features, FEATURES_OK, the queue, DRIVER_OK), each step
     * at times skipped or given a stray value, so that cases get past DRIVER_OK and the rings are used; returns the
     * queue size it chose.
     */
    public static int bringUp(SplittableRandom r, Driver d, double mistakes) {
        if (!Fuzz.chance(r, mistakes)) d.status(0);
        step(r, d, mistakes, () -> d.status(ACKNOWLEDGE));
        step(r, d, mistakes, () -> d.status(ACKNOWLEDGE | DRIVER));
        long features = Fuzz.chance(r, mistakes) ? features(r) : VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0);
        step(r, d, mistakes, () -> d.driverFeatures(0, (int) features));
        step(r, d, mistakes, () -> d.driverFeatures(1, (int) (features >>> 32)));
        step(r, d, mistakes, () -> d.status(ACKNOWLEDGE | DRIVER | FEATURES_OK));
        int size = Fuzz.chance(r, mistakes) ? queueSize(r) : 1 << r.nextInt(7);
        step(r, d, mistakes, () -> d.selectQueue(0));
        step(r, d, mistakes, () -> d.queueSize(size));
        step(r, d, mistakes, () -> d.queueRings(Fuzz.chance(r, mistakes) ? ringAddress(r) : DESC,
                Fuzz.chance(r, mistakes) ? ringAddress(r) : AVAIL, Fuzz.chance(r, mistakes) ? ringAddress(r) : USED));
        step(r, d, mistakes, () -> d.queueReady(1));
        step(r, d, mistakes, () -> d.status(DRIVER_BITS));
        return size;
    }

    private static void step(SplittableRandom r, Driver d, double mistakes, Runnable step) {
        if (Fuzz.chance(r, mistakes)) {
            if (r.nextBoolean()) return;                       // skipped
            d.status(status(r, d.status()));                   // or something else happens first
        }
        step.run();
    }

    /** The driver makes a request available in queue 0's rings (as {@link #bringUp} placed them) and notifies. */
    public static void request(SplittableRandom r, GuestMemory memory, Driver d, int size) {
        int mask = Integer.highestOneBit(Math.min(Math.max(1, size), 256)) - 1;   // as the ring is laid out, whatever the size written
        int head = r.nextInt(mask + 1);
        long at = DESC + 16L * head;
        memory.writeLong(at, Fuzz.chance(r, 0.9) ? BUFFERS + 16L * r.nextInt(0x1000) : Fuzz.interesting(r));
        memory.writeInt(at + 8, Fuzz.chance(r, 0.9) ? 1 + r.nextInt(256) : (int) Fuzz.interesting(r));
        memory.writeShort(at + 12, (short) (Fuzz.chance(r, 0.9) ? SplitRing.DESC_F_WRITE : r.nextInt(8)));
        memory.writeShort(at + 14, (short) r.nextInt(mask + 1));
        int idx = memory.readShort(AVAIL + 2) & 0xffff;
        memory.writeShort(AVAIL + 4 + 2L * (idx & mask), (short) (Fuzz.chance(r, 0.95) ? head : r.nextInt(0x10000)));
        memory.writeShort(AVAIL + 2, (short) (idx + (Fuzz.chance(r, 0.95) ? 1 : r.nextInt(0x10000))));
        d.notifyQueue(Fuzz.chance(r, 0.9) ? 0 : r.nextInt(4));
        if (r.nextBoolean()) d.takeInterrupts();
    }

    /** Reset, then a plain driver: the device must come up and answer one entropy request. */
    public static void assertRecovers(GuestMemory memory, Driver d) {
        d.status(0);
        assertEquals("reset", 0, d.status());
        d.status(ACKNOWLEDGE);
        d.status(ACKNOWLEDGE | DRIVER);
        d.driverFeatures(1, (int) (VirtioFeatures.bit(VirtioFeatures.VERSION_1) >>> 32));
        d.driverFeatures(0, 0);
        d.status(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        d.selectQueue(0);
        d.queueSize(GOOD_SIZE);
        d.queueRings(GOOD_DESC, GOOD_AVAIL, GOOD_USED);
        d.queueReady(1);
        postGoodRequest(memory);
        d.status(DRIVER_BITS);
        assertEquals("DRIVER_OK", DRIVER_BITS, d.status());
        d.notifyQueue(0);
        assertGoodRequestUsed(memory);
    }

    public static RngDevice rng() {
        return new RngDevice(new EntropySource() {
            private int next;

            @Override
            public int read(byte[] buf, int off, int len) {
                for (int i = 0; i < len; i++) buf[off + i] = (byte) next++;
                return len;
            }

            @Override public String describe() { return "counter"; }

            @Override public void close() { }
        }, "rng0");
    }

    /** A status a driver would write: usually the next step, sometimes anything. */
    public static int status(SplittableRandom r, int current) {
        int[] steps = {ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, DRIVER_BITS};
        return switch (r.nextInt(6)) {
            case 0 -> 0;
            case 1 -> r.nextInt(0x100);
            case 2 -> current | FAILED;
            default -> steps[Math.min(3, Integer.bitCount(current & DRIVER_BITS))];
        };
    }

    public static long features(SplittableRandom r) {
        return Fuzz.chance(r, 0.7) ? VirtioFeatures.bit(VirtioFeatures.VERSION_1) | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) : 0)
                | (r.nextBoolean() ? VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC) : 0) : Fuzz.interesting(r);
    }

    public static int queueSize(SplittableRandom r) { return Fuzz.pick(r, 1, 2, 8, 16, 64, 128, 256, 3, 0, 1024, r.nextInt()); }

    /** A ring address: mostly in the fuzzed area, aligned or not, sometimes anywhere. */
    public static long ringAddress(SplittableRandom r) {
        return switch (r.nextInt(5)) {
            case 0, 1 -> RINGS + 0x1000L * r.nextInt(4);
            case 2 -> RINGS + r.nextInt(0x4000);
            default -> Fuzz.interesting(r);
        };
    }

    /** The driver (or a stray DMA) writes something plausible into the ring area. */
    public static void scribble(SplittableRandom r, GuestMemory memory) {
        long at = RINGS + r.nextInt(0x4000) & ~1L;
        switch (r.nextInt(3)) {
            case 0 -> {   // a descriptor
                at &= ~15L;
                memory.writeLong(at, Fuzz.chance(r, 0.8) ? BUFFERS + r.nextInt(0x10000) : Fuzz.interesting(r));
                memory.writeInt(at + 8, Fuzz.chance(r, 0.8) ? r.nextInt(4096) : (int) Fuzz.interesting(r));
                memory.writeShort(at + 12, (short) r.nextInt(8));
                memory.writeShort(at + 14, (short) (Fuzz.chance(r, 0.8) ? r.nextInt(16) : r.nextInt(0x10000)));
            }
            case 1 -> memory.writeShort(at, (short) (Fuzz.chance(r, 0.7) ? r.nextInt(16) : r.nextInt(0x10000)));   // an index or head
            default -> memory.writeLong(at & ~7L, r.nextLong());
        }
    }

    /** A register target's own part of a case: plug, drive, check, unplug. */
    @FunctionalInterface
    public interface RegisterCase {
        /** @return whether the device got to DRIVER_OK at some point (a rough measure of what the cases reach) */
        boolean run(SplittableRandom random);
    }

    /**
     * Runs a register target whose device is {@code device} on {@code memory}: every device write must lie in guest
     * memory and no case may log an error (the buses contain and log what a handler throws); prints how far the
     * cases got.
     */
    public static void runRegisterTarget(String name, RngDevice device, GuestMemory memory, RegisterCase c) {
        try (LogCapture logs = LogCapture.of("org.vireo")) {
            long[] running = {0};
            long cases = Fuzz.run(name, 60, r -> {
                memory.setDeviceWriteObserver((address, length) -> assertTrue("device write outside guest memory", memory.contains(address, length)));
                try {
                    if (c.run(r)) running[0]++;
                } finally {
                    memory.setDeviceWriteObserver(null);
                }
                assertTrue("errors logged:\n" + logs.warnings(), logs.atLeast(Level.SEVERE).isEmpty());
                logs.clear();
            });
            System.out.printf("  %d cases reached DRIVER_OK; %d bytes of entropy served before the final requests%n", running[0],
                    device.bytes() - 16 * cases);
        }
    }

    /** Checks that {@code status} is one the core can be in; returns whether the device is at DRIVER_OK. */
    public static boolean checkStatus(int status) {
        assertValidStatus(status);
        return (status & DRIVER_BITS) == DRIVER_BITS;
    }

    /** A status the core can be in: the driver's bits a prefix of the handshake, nothing unknown. */
    public static void assertValidStatus(int status) {
        assertEquals("unknown status bits in " + VirtioStatus.describe(status), 0, status & ~(DRIVER_BITS | NEEDS_RESET | FAILED));
        int driver = status & DRIVER_BITS;
        assertTrue("driver bits out of order: " + VirtioStatus.describe(status), driver == 0 || driver == ACKNOWLEDGE
                || driver == (ACKNOWLEDGE | DRIVER) || driver == (ACKNOWLEDGE | DRIVER | FEATURES_OK) || driver == DRIVER_BITS);
    }

    /** Lays out the well-formed rings with one 16-byte entropy request made available. */
    private static void postGoodRequest(GuestMemory memory) {
        memory.fill(GOOD_DESC, SplitRing.descTableSize(GOOD_SIZE), (byte) 0);
        memory.fill(GOOD_AVAIL, SplitRing.availSize(GOOD_SIZE), (byte) 0);
        memory.fill(GOOD_USED, SplitRing.usedSize(GOOD_SIZE), (byte) 0);
        memory.writeLong(GOOD_DESC, GOOD_BUFFER);
        memory.writeInt(GOOD_DESC + 8, 16);
        memory.writeShort(GOOD_DESC + 12, (short) SplitRing.DESC_F_WRITE);
        memory.writeShort(GOOD_AVAIL + 4, (short) 0);
        memory.writeShort(GOOD_AVAIL + 2, (short) 1);
    }

    /** The request of {@link #postGoodRequest} came back with 16 bytes. */
    private static void assertGoodRequestUsed(GuestMemory memory) {
        assertEquals("used idx", 1, memory.readShort(GOOD_USED + 2));
        assertEquals("used id", 0, memory.readInt(GOOD_USED + 4));
        assertEquals("used len", 16, memory.readInt(GOOD_USED + 8));
    }
}
