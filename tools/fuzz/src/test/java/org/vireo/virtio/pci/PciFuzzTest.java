package org.vireo.virtio.pci;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.pci.VirtioPci.*;

import java.util.SplittableRandom;
import org.junit.After;
import org.junit.Test;
import org.vireo.bus.IoHandler;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.fuzz.Fuzz;
import org.vireo.fuzz.GuestSide;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.virtio.testkit.RecordingMachine;
import org.vireo.x86.platform.HostBridgeFunction;
import org.vireo.x86.platform.PciHostBridge;

/**
 * The virtio-pci function: BAR0 (common configuration, ISR, device configuration, notify, MSI-X table and PBA) and
 * PCI configuration space, the latter both directly and through the host bridge's ports 0xcf8/0xcfc as a guest
 * reaches it (any width, including none), with BAR moves, command-register flips, MSI-X enables and guest memory
 * scribbled between accesses; virtio-rng sits behind the function. Invariants: no access throws, nothing is logged
 * at ERROR (the port bus contains and logs what a handler throws), the status is always legal, and after restoring
 * the BAR and a reset a plain driver gets entropy through the BAR. (In the transport's package: the function,
 * {@link VirtioPciFunction}, is not exported.)
 */
public class PciFuzzTest {
    private static final int SLOT = 3;
    private static final int[] COMMON = {DEVICE_FEATURE_SELECT, DEVICE_FEATURE, DRIVER_FEATURE_SELECT, DRIVER_FEATURE, CONFIG_MSIX_VECTOR,
            NUM_QUEUES, DEVICE_STATUS, CONFIG_GENERATION, QUEUE_SELECT, QUEUE_SIZE, QUEUE_MSIX_VECTOR, QUEUE_ENABLE, QUEUE_NOTIFY_OFF,
            QUEUE_DESC, QUEUE_DESC + 4, QUEUE_DRIVER, QUEUE_DRIVER + 4, QUEUE_DEVICE, QUEUE_DEVICE + 4, QUEUE_NOTIFY_DATA, QUEUE_RESET};
    private static final int[] CONFIG = {PciConfigSpace.COMMAND, PciConfigSpace.COMMAND + 2, PciConfigSpace.BAR0, PciConfigSpace.BAR0 + 4,
            PciConfigSpace.BAR0 + 8, PciConfigSpace.CAPABILITIES_POINTER, 0x3c, 0x3d, 0};

    private final RecordingMachine machine = new RecordingMachine();
    private final RngDevice device = GuestSide.rng();
    private final long bar = machine.mmioSpace().allocate(BAR_SIZE, BAR_SIZE);
    private final int gsi = machine.allocateIrq();

    {
        machine.pci().attach(0, new HostBridgeFunction());
        new PciHostBridge(machine.pci()).register(machine.pio());
    }

    @After
    public void close() {
        machine.close();
    }

    @Test
    public void pciFunctionAndConfigSpace() {
        GuestSide.runRegisterTarget("virtio-pci registers and PCI config space", device, machine.memory(), this::oneCase);
    }

    private int msixCap(VirtioPciFunction function) {
        for (int at = function.configRead(PciConfigSpace.CAPABILITIES_POINTER, 1), n = 0; at != 0 && n < 48; at = function.configRead(at + 1, 1), n++) {
            if (function.configRead(at, 1) == PciConfigSpace.CAP_MSIX) return at;
        }
        throw new AssertionError("no MSI-X capability");
    }

    /** BAR0's common configuration and notify registers as a driver uses them, through {@code f}. */
    private static GuestSide.Driver driver(IoHandler f) {
        return new GuestSide.Driver() {
            @Override public int status() { return (int) f.read(COMMON_CFG + DEVICE_STATUS, 1); }

            @Override public void status(int value) { f.write(COMMON_CFG + DEVICE_STATUS, 1, value & 0xff); }

            @Override
            public void driverFeatures(int select, int value) {
                f.write(COMMON_CFG + DRIVER_FEATURE_SELECT, 4, select);
                f.write(COMMON_CFG + DRIVER_FEATURE, 4, value & 0xffff_ffffL);
            }

            @Override public void selectQueue(int index) { f.write(COMMON_CFG + QUEUE_SELECT, 2, index & 0xffff); }

            @Override public void queueSize(int size) { f.write(COMMON_CFG + QUEUE_SIZE, 2, size & 0xffff); }

            @Override
            public void queueRings(long desc, long avail, long used) {
                long[][] regs = {{QUEUE_DESC, desc}, {QUEUE_DRIVER, avail}, {QUEUE_DEVICE, used}};
                for (long[] reg : regs) {
                    f.write(COMMON_CFG + reg[0], 4, reg[1] & 0xffff_ffffL);
                    f.write(COMMON_CFG + reg[0] + 4, 4, reg[1] >>> 32);
                }
            }

            @Override public void queueReady(int value) { f.write(COMMON_CFG + QUEUE_ENABLE, 2, value & 0xffff); }

            @Override public void notifyQueue(int index) { f.write(NOTIFY_CFG + (long) NOTIFY_OFF_MULTIPLIER * index, 2, index); }

            @Override public void takeInterrupts() { f.read(ISR_CFG, 1); }
        };
    }

    private boolean oneCase(SplittableRandom r) {
        VirtioPciFunction function = new VirtioPciFunction(machine, device, "fuzz/pci@00:03.0", bar, gsi);
        machine.pci().attach(SLOT, function);
        machine.msis.clear();
        GuestSide.Driver driver = driver(function);
        int msix = msixCap(function);
        boolean running = false;
        try {
            int size = Fuzz.chance(r, 0.8) ? GuestSide.bringUp(r, driver, 0.05) : 16;
            for (int op = 10 + r.nextInt(200); op > 0; op--) {
                int choice = r.nextInt(28);
                if (choice < 6) {
                    int reg = COMMON[r.nextInt(COMMON.length)];
                    int width = reg == QUEUE_DESC || reg == QUEUE_DRIVER || reg == QUEUE_DEVICE ? Fuzz.pick(r, 4, 8) : width(reg);
                    if (r.nextInt(3) == 0) function.read(COMMON_CFG + reg, width);
                    else function.write(COMMON_CFG + reg, width, value(r, reg, driver.status()));
                } else if (choice < 8) {
                    long offset = switch (r.nextInt(5)) {
                        case 0 -> ISR_CFG;
                        case 1 -> NOTIFY_CFG + NOTIFY_OFF_MULTIPLIER * r.nextInt(4);
                        case 2 -> MSIX_TABLE + 4 * r.nextInt(64);
                        case 3 -> MSIX_PBA + r.nextInt(16);
                        default -> DEVICE_CFG + r.nextInt(16);
                    };
                    int width = Fuzz.pick(r, 1, 2, 4, 4, 8);
                    if (r.nextBoolean()) function.read(offset, width);
                    else function.write(offset, width, Fuzz.chance(r, 0.5) ? r.nextInt(4) : Fuzz.interesting(r));
                } else if (choice < 10) {
                    long offset = r.nextInt((int) BAR_SIZE + 16) - 8;
                    int width = Fuzz.pick(r, -1, 0, 1, 2, 3, 4, 8);
                    if (r.nextBoolean()) function.read(offset, width);
                    else function.write(offset, width, Fuzz.interesting(r));
                } else if (choice < 14) {
                    int offset = Fuzz.chance(r, 0.7) ? CONFIG[r.nextInt(CONFIG.length)] : Fuzz.chance(r, 0.5) ? msix + 2 : r.nextInt(264) - 4;
                    int width = Fuzz.pick(r, 1, 2, 4, 4, 4, 0, 3, 8);
                    if (r.nextInt(3) == 0) function.configRead(offset, width);
                    else function.configWrite(offset, width, (int) configValue(r, offset));
                } else if (choice < 17) {
                    portAccess(r);
                } else if (choice < 23) {
                    GuestSide.request(r, machine.memory(), driver, size);
                } else if (choice < 27) {
                    GuestSide.scribble(r, machine.memory());
                } else {
                    size = GuestSide.bringUp(r, driver, 0.2);
                }
                running |= GuestSide.checkStatus(driver.status());
                long barNow = function.configRead(PciConfigSpace.BAR0, 4) & 0xffff_fff0L | (long) function.configRead(PciConfigSpace.BAR0 + 4, 4) << 32;
                assertEquals("BAR0 stays aligned to its size", 0, barNow & (BAR_SIZE - 1));
            }
            // BAR back where it was, decoding on, MSI-X off; then reset and a plain driver through the bus.
            function.configWrite(PciConfigSpace.BAR0, 4, (int) bar);
            function.configWrite(PciConfigSpace.BAR0 + 4, 4, (int) (bar >>> 32));
            function.configWrite(msix + 2, 2, 0);
            function.configWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
            assertTrue("BAR0 decodes again", machine.mmio().claimed(bar));
            GuestSide.assertRecovers(machine.memory(), busDriver());
        } finally {
            machine.pci().detach(SLOT);
            function.close();
        }
        return running;
    }

    /** The same driver, through the machine's MMIO bus at BAR0's address. */
    private GuestSide.Driver busDriver() {
        return driver(new IoHandler() {
            @Override public long read(long offset, int size) { return machine.mmio().read(bar + offset, size); }

            @Override public void write(long offset, int size, long value) { machine.mmio().write(bar + offset, size, value); }
        });
    }

    private static int width(int reg) {
        return switch (reg) {
            case DEVICE_FEATURE_SELECT, DEVICE_FEATURE, DRIVER_FEATURE_SELECT, DRIVER_FEATURE -> 4;
            case DEVICE_STATUS, CONFIG_GENERATION -> 1;
            default -> 2;
        };
    }

    private static long value(SplittableRandom r, int reg, int status) {
        return switch (reg) {
            case DEVICE_STATUS -> GuestSide.status(r, status);
            case DRIVER_FEATURE_SELECT, DEVICE_FEATURE_SELECT, QUEUE_SELECT -> Fuzz.pick(r, 0, 1, 2, r.nextInt(0x10000));
            case DRIVER_FEATURE -> r.nextBoolean() ? GuestSide.features(r) : GuestSide.features(r) >>> 32;
            case QUEUE_SIZE -> GuestSide.queueSize(r);
            case QUEUE_ENABLE -> Fuzz.pick(r, 0, 1, 1, r.nextInt(0x10000));
            case CONFIG_MSIX_VECTOR, QUEUE_MSIX_VECTOR -> Fuzz.pick(r, 0, 1, 2, NO_VECTOR, r.nextInt(0x10000));
            case QUEUE_DESC, QUEUE_DRIVER, QUEUE_DEVICE -> GuestSide.ringAddress(r);
            default -> Fuzz.interesting(r);
        };
    }

    private long configValue(SplittableRandom r, int offset) {
        return switch (offset) {
            case PciConfigSpace.COMMAND -> Fuzz.pick(r, 0, PciConfigSpace.COMMAND_MEMORY, PciConfigSpace.COMMAND_MEMORY | 0x400, 0xffff, r.nextInt());
            case PciConfigSpace.BAR0 -> Fuzz.pick(r, -1L, bar, bar + BAR_SIZE, bar + 0x1000, 0, r.nextInt());
            case PciConfigSpace.BAR0 + 4 -> Fuzz.chance(r, 0.8) ? bar >>> 32 : Fuzz.interesting(r);
            default -> Fuzz.chance(r, 0.5) ? Fuzz.pick(r, 0L, 0x8000L, 0xc000L, 0x4000L, -1L) : Fuzz.interesting(r);   // MSI-X control among them
        };
    }

    /** The host bridge's ports, as a guest's configuration cycles reach them: any width, including none. */
    private void portAccess(SplittableRandom r) {
        if (r.nextBoolean()) {
            int device = Fuzz.chance(r, 0.8) ? Fuzz.pick(r, 0, SLOT) : r.nextInt(32);
            long address = (Fuzz.chance(r, 0.9) ? 0x8000_0000L : 0) | (Fuzz.chance(r, 0.9) ? 0 : (long) r.nextInt(256) << 16)
                    | (long) device << 11 | r.nextInt(256);
            machine.pio().write(PciHostBridge.ADDRESS_PORT, Fuzz.pick(r, 4, 4, 4, 1, 2, 0), address);
        } else {
            long port = PciHostBridge.ADDRESS_PORT + r.nextInt(8);
            int size = Fuzz.pick(r, 0, 1, 2, 3, 4, 8);
            if (r.nextBoolean()) machine.pio().read(port, size);
            else machine.pio().write(port, size, Fuzz.interesting(r) & ~(port == PciHostBridge.RESET_CONTROL_PORT ? 4L : 0L));
        }
    }
}
