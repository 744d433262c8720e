package org.vireo.virtio.mmio;

import static org.vireo.virtio.mmio.VirtioMmio.*;

import java.util.SplittableRandom;
import org.junit.After;
import org.junit.Test;
import org.vireo.fuzz.Fuzz;
import org.vireo.fuzz.GuestSide;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.virtio.testkit.RecordingMachine;

/**
 * The virtio-mmio register file, driven by a structured random driver: register writes with values a driver might
 * use (status steps, feature words, queue sizes and ring addresses near real rings), reads, accesses at any offset
 * and width, and guest memory scribbled between them, with virtio-rng behind the registers working on whatever
 * rings result. Invariants: no access throws, nothing is logged at ERROR, the status is always a legal one, and
 * after a reset a plain driver sets the device up and gets entropy. (In the transport's package: the register
 * file, {@link MmioDeviceSide}, is not exported.)
 */
public class MmioRegisterFuzzTest {
    private static final int[] REGISTERS = {MAGIC_VALUE, VERSION_REG, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES, DEVICE_FEATURES_SEL,
            DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM, QUEUE_READY, QUEUE_NOTIFY, INTERRUPT_STATUS,
            INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW,
            QUEUE_DEVICE_HIGH, SHM_SEL, SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH, QUEUE_RESET, CONFIG_GENERATION, CONFIG};

    private final RecordingMachine machine = new RecordingMachine();
    private final RngDevice device = GuestSide.rng();
    private final long base = machine.mmioSpace().allocate(WINDOW_SIZE, WINDOW_SIZE);
    private final int gsi = machine.allocateIrq();

    @After
    public void close() {
        machine.close();
    }

    @Test
    public void mmioRegisters() {
        GuestSide.runRegisterTarget("virtio-mmio registers", device, machine.memory(), this::oneCase);
    }

    /** The registers as a driver uses them. */
    private static GuestSide.Driver driver(MmioDeviceSide mmio) {
        return new GuestSide.Driver() {
            @Override public int status() { return (int) mmio.read(STATUS, 4); }

            @Override public void status(int value) { mmio.write(STATUS, 4, value & 0xffff_ffffL); }

            @Override
            public void driverFeatures(int select, int value) {
                mmio.write(DRIVER_FEATURES_SEL, 4, select);
                mmio.write(DRIVER_FEATURES, 4, value & 0xffff_ffffL);
            }

            @Override public void selectQueue(int index) { mmio.write(QUEUE_SEL, 4, index); }

            @Override public void queueSize(int size) { mmio.write(QUEUE_NUM, 4, size & 0xffff_ffffL); }

            @Override
            public void queueRings(long desc, long avail, long used) {
                long[][] regs = {{QUEUE_DESC_LOW, desc}, {QUEUE_DRIVER_LOW, avail}, {QUEUE_DEVICE_LOW, used}};
                for (long[] reg : regs) {
                    mmio.write(reg[0], 4, reg[1] & 0xffff_ffffL);
                    mmio.write(reg[0] + 4, 4, reg[1] >>> 32);
                }
            }

            @Override public void queueReady(int value) { mmio.write(QUEUE_READY, 4, value & 0xffff_ffffL); }

            @Override public void notifyQueue(int index) { mmio.write(QUEUE_NOTIFY, 4, index); }

            @Override public void takeInterrupts() { mmio.write(INTERRUPT_ACK, 4, mmio.read(INTERRUPT_STATUS, 4)); }
        };
    }

    private boolean oneCase(SplittableRandom r) {
        MmioDeviceSide mmio = new MmioDeviceSide(machine, device, "fuzz/mmio", base, gsi);
        GuestSide.Driver driver = driver(mmio);
        boolean running = false;
        try {
            int size = Fuzz.chance(r, 0.8) ? GuestSide.bringUp(r, driver, 0.05) : 16;
            for (int op = 10 + r.nextInt(200); op > 0; op--) {
                int choice = r.nextInt(20);
                if (choice < 8) {
                    int reg = REGISTERS[r.nextInt(REGISTERS.length)];
                    if (r.nextInt(3) == 0) mmio.read(reg, 4);
                    else mmio.write(reg, 4, value(r, reg, driver.status()) & 0xffff_ffffL);
                } else if (choice < 10) {
                    long offset = r.nextInt((int) WINDOW_SIZE + 16) - 8;
                    int width = Fuzz.pick(r, -1, 0, 1, 2, 3, 4, 8);
                    if (r.nextBoolean()) mmio.read(offset, width);
                    else mmio.write(offset, width, Fuzz.interesting(r));
                } else if (choice < 16) {
                    GuestSide.request(r, machine.memory(), driver, size);
                } else if (choice < 19) {
                    GuestSide.scribble(r, machine.memory());
                } else {
                    size = GuestSide.bringUp(r, driver, 0.2);
                }
                running |= GuestSide.checkStatus(driver.status());
            }
            GuestSide.assertRecovers(machine.memory(), driver);
        } finally {
            mmio.close();
        }
        return running;
    }

    private static long value(SplittableRandom r, int reg, int status) {
        return switch (reg) {
            case STATUS -> GuestSide.status(r, status);
            case DRIVER_FEATURES_SEL, DEVICE_FEATURES_SEL, QUEUE_SEL -> Fuzz.pick(r, 0, 1, 2, r.nextInt());
            case DRIVER_FEATURES -> r.nextBoolean() ? GuestSide.features(r) : GuestSide.features(r) >>> 32;
            case QUEUE_NUM -> GuestSide.queueSize(r);
            case QUEUE_READY -> Fuzz.pick(r, 0, 1, r.nextInt());
            case QUEUE_NOTIFY -> Fuzz.pick(r, 0, 0, 1, r.nextInt());
            case INTERRUPT_ACK -> r.nextInt(4);
            case QUEUE_DESC_LOW, QUEUE_DRIVER_LOW, QUEUE_DEVICE_LOW -> GuestSide.ringAddress(r);
            case QUEUE_DESC_HIGH, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_HIGH -> Fuzz.chance(r, 0.9) ? 0 : Fuzz.interesting(r);
            default -> Fuzz.interesting(r);
        };
    }
}
