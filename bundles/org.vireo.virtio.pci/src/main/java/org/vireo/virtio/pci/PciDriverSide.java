package org.vireo.virtio.pci;

import static org.vireo.virtio.pci.VirtioPci.*;

import java.util.ArrayList;
import java.util.List;
import org.vireo.bus.IoBus;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciBus;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.virtio.core.DriverSideDevice;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;
import org.vireo.virtio.ring.QueueDriver;
import org.vireo.virtio.ring.Rings;

/**
 * The driver side of modern virtio-pci for Java guests, in the manner of a kernel's virtio-pci driver: it finds the
 * virtio structures by walking the capability list through PCI configuration reads, turns on memory decoding and
 * bus mastering, and then works only through the BAR on the machine's MMIO bus. Interrupts use MSI-X (one vector for
 * configuration changes, one per queue) when the Java guest can allocate vectors, else INTx with the ISR.
 */
final class PciDriverSide extends DriverSideDevice {
    private static final System.Logger LOG = System.getLogger(PciDriverSide.class.getName());
    private static final int RESET_POLLS = 1_000_000;

    /** One virtio structure: where it is in memory space. */
    private record Region(long address, long length) {}

    private final PciBus pci;
    private final int slot;
    private final IoBus bus;
    private final int deviceId;
    private final int vendorId;
    private final Region common;
    private final Region notify;
    private final int notifyMultiplier;
    private final Region isr;
    private final Region device;
    private final int queueCount;
    private final List<Registration> interruptRegistrations = new ArrayList<>();
    /** MSI-X capability offset when MSI-X is in use, else 0 (INTx). */
    private final int msixCapability;

    PciDriverSide(Machine machine, JavaGuest guest, int slot, String name) {
        super(name, machine.memory(), guest.allocator());
        this.pci = machine.pci();
        this.slot = slot;
        this.bus = machine.mmio();

        int vendor = cfg(PciConfigSpace.VENDOR_ID, 2);
        int pciDevice = cfg(PciConfigSpace.DEVICE_ID, 2);
        if (vendor != VENDOR || pciDevice < DEVICE_BASE || pciDevice > DEVICE_BASE + 0x3f) {
            throw new IllegalStateException(String.format("%s: not a modern virtio-pci function (%04x:%04x)", name, vendor, pciDevice));
        }
        this.deviceId = pciDevice - DEVICE_BASE;
        this.vendorId = cfg(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 2);

        // Walk the capability list: the first capability of each virtio type wins, as the spec asks of drivers.
        Region commonCfg = null, notifyCfg = null, isrCfg = null, deviceCfg = null;
        int multiplier = 0, msix = 0;
        if ((cfg(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_CAPABILITIES) != 0) {
            int at = cfg(PciConfigSpace.CAPABILITIES_POINTER, 1) & ~3;
            for (int hops = 0; at >= 0x40 && hops < 48; hops++) {
                int id = cfg(at, 1);
                if (id == PciConfigSpace.CAP_MSIX && msix == 0) {
                    msix = at;
                } else if (id == PciConfigSpace.CAP_VENDOR && cfg(at + 2, 1) >= 16) {
                    int type = cfg(at + 3, 1);
                    int bar = cfg(at + 4, 1);
                    long offset = cfg(at + 8, 4) & 0xffff_ffffL;
                    long length = cfg(at + 12, 4) & 0xffff_ffffL;
                    if (bar < PciConfigSpace.BAR_COUNT) {
                        switch (type) {
                            case CAP_COMMON -> { if (commonCfg == null) commonCfg = region(bar, offset, length); }
                            case CAP_NOTIFY -> {
                                if (notifyCfg == null) {
                                    notifyCfg = region(bar, offset, length);
                                    multiplier = cfg(at + 16, 4);
                                }
                            }
                            case CAP_ISR -> { if (isrCfg == null) isrCfg = region(bar, offset, length); }
                            case CAP_DEVICE -> { if (deviceCfg == null) deviceCfg = region(bar, offset, length); }
                            default -> { }
                        }
                    }
                }
                at = cfg(at + 1, 1) & ~3;
            }
        }
        if (commonCfg == null || notifyCfg == null || isrCfg == null) {
            throw new IllegalStateException(name + ": missing virtio capabilities (common, notify and ISR are required)");
        }
        this.common = commonCfg;
        this.notify = notifyCfg;
        this.notifyMultiplier = multiplier;
        this.isr = isrCfg;
        this.device = deviceCfg;

        int command = cfg(PciConfigSpace.COMMAND, 2);
        pci.configWrite(0, slot, 0, PciConfigSpace.COMMAND, 2, command | PciConfigSpace.COMMAND_MEMORY | PciConfigSpace.COMMAND_BUS_MASTER);

        this.queueCount = read(common, NUM_QUEUES, 2);
        this.msixCapability = msix != 0 && setUpMsix(guest, msix) ? msix : 0;
        if (msixCapability == 0) {
            int gsi = cfg(PciConfigSpace.INTERRUPT_LINE, 1);
            interruptRegistrations.add(guest.onInterrupt(gsi, this::intx));
        }
    }

    private int cfg(int offset, int size) { return pci.configRead(0, slot, 0, offset, size); }

    private long barAddress(int bar) {
        int low = cfg(PciConfigSpace.BAR0 + 4 * bar, 4);
        if ((low & 1) != 0) throw new IllegalStateException(name + ": BAR" + bar + " is an I/O BAR");
        long address = low & 0xffff_fff0L;
        if (((low >>> 1) & 3) == 2 && bar + 1 < PciConfigSpace.BAR_COUNT) {
            address |= (cfg(PciConfigSpace.BAR0 + 4 * bar + 4, 4) & 0xffff_ffffL) << 32;
        }
        if (address == 0) throw new IllegalStateException(name + ": BAR" + bar + " is not assigned");
        return address;
    }

    private Region region(int bar, long offset, long length) { return new Region(barAddress(bar) + offset, length); }

    private int read(Region r, int offset, int size) {
        if (offset < 0 || offset + size > r.length) throw new IllegalArgumentException(name + ": access beyond a virtio structure");
        return (int) bus.read(r.address + offset, size);
    }

    private void write(Region r, int offset, int size, long value) {
        if (offset < 0 || offset + size > r.length) throw new IllegalArgumentException(name + ": access beyond a virtio structure");
        bus.write(r.address + offset, size, value);
    }

    // ---- interrupts ----

    /**
     * Allocates one vector for configuration changes and one per queue, programs and unmasks the table entries and
     * enables MSI-X. False (nothing left enabled) when the guest cannot allocate vectors or the table is too small.
     */
    private boolean setUpMsix(JavaGuest guest, int cap) {
        int control = cfg(cap + 2, 2);
        int tableSize = (control & 0x7ff) + 1;
        int table = cfg(cap + 4, 4);
        if (tableSize < queueCount + 1 || (table & 7) >= PciConfigSpace.BAR_COUNT) return false;
        long tableAddress = barAddress(table & 7) + (table & ~7L & 0xffff_ffffL);
        List<JavaGuest.MsiVector> vectors = new ArrayList<>();
        try {
            vectors.add(guest.allocateMsi(this::configChanged));
            for (int q = 0; q < queueCount; q++) {
                int index = q;
                vectors.add(guest.allocateMsi(() -> queueInterrupt(index)));
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.INFO, name + ": no MSI vectors (" + e.getMessage() + "), using INTx");
            vectors.forEach(v -> v.registration().close());
            return false;
        }
        for (int i = 0; i < vectors.size(); i++) {
            JavaGuest.MsiVector v = vectors.get(i);
            long entry = tableAddress + 16L * i;
            bus.write(entry, 4, v.address() & 0xffff_ffffL);
            bus.write(entry + 4, 4, v.address() >>> 32);
            bus.write(entry + 8, 4, v.data() & 0xffff_ffffL);
            bus.write(entry + 12, 4, 0); // unmask
            interruptRegistrations.add(v.registration());
        }
        pci.configWrite(0, slot, 0, cap + 2, 2, (control | 0x8000) & ~0x4000);
        write(common, CONFIG_MSIX_VECTOR, 2, 0);
        if (read(common, CONFIG_MSIX_VECTOR, 2) != 0) {
            pci.configWrite(0, slot, 0, cap + 2, 2, control & ~0x8000);
            interruptRegistrations.forEach(Registration::close);
            interruptRegistrations.clear();
            return false;
        }
        return true;
    }

    private void intx() {
        int status = read(isr, 0, 1); // read-to-clear
        if ((status & 1) != 0) interruptAllQueues();
        if ((status & 2) != 0) configChanged();
    }

    private void queueInterrupt(int index) {
        QueueDriver q = queues.get(index);
        if (q != null) interruptQueue(q);
    }

    // ---- VirtioDriverDevice ----

    @Override public String transport() { return TRANSPORT; }
    @Override public int deviceId() { return deviceId; }
    @Override public int vendorId() { return vendorId; }

    @Override
    public long deviceFeatures() {
        synchronized (registers) {
            write(common, DEVICE_FEATURE_SELECT, 4, 0);
            long low = read(common, DEVICE_FEATURE, 4) & 0xffff_ffffL;
            write(common, DEVICE_FEATURE_SELECT, 4, 1);
            long high = read(common, DEVICE_FEATURE, 4) & 0xffff_ffffL;
            return low | high << 32;
        }
    }

    @Override
    public void writeDriverFeatures(long features) {
        synchronized (registers) {
            write(common, DRIVER_FEATURE_SELECT, 4, 0);
            write(common, DRIVER_FEATURE, 4, features & 0xffff_ffffL);
            write(common, DRIVER_FEATURE_SELECT, 4, 1);
            write(common, DRIVER_FEATURE, 4, features >>> 32);
            negotiated = features;
        }
    }


    @Override public int getStatus() { return read(common, DEVICE_STATUS, 1); }

    @Override public void setStatus(int status) { write(common, DEVICE_STATUS, 1, status & 0xff); }

    @Override
    public void reset() {
        synchronized (registers) {
            write(common, DEVICE_STATUS, 1, 0);
            for (int i = 0; i < RESET_POLLS && read(common, DEVICE_STATUS, 1) != 0; i++) Thread.onSpinWait();
            if (read(common, DEVICE_STATUS, 1) != 0) throw new IllegalStateException(name + ": device did not reset");
            // Reset forgets the vectors; configuration changes keep their vector.
            if (msixCapability != 0) write(common, CONFIG_MSIX_VECTOR, 2, 0);
        }
    }

    @Override public int configGeneration() { return read(common, CONFIG_GENERATION, 1); }

    @Override
    public int readConfig(int offset, int size) {
        checkConfig(offset, size);
        return read(device, offset, size);
    }

    @Override
    public void writeConfig(int offset, int size, int value) {
        checkConfig(offset, size);
        write(device, offset, size, value & 0xffff_ffffL);
    }

    private void checkConfig(int offset, int size) {
        if (size != 1 && size != 2 && size != 4) throw new IllegalArgumentException("config access size " + size);
        if (device == null || offset < 0 || offset + size > device.length) {
            throw new IllegalArgumentException(name + ": config offset " + offset + " is outside the device's config");
        }
    }

    @Override public int queueCount() { return queueCount; }

    @Override
    public int queueMaxSize(int index) {
        if (index < 0 || index >= queueCount) return 0;
        synchronized (registers) {
            write(common, QUEUE_SELECT, 2, index);
            return read(common, QUEUE_SIZE, 2);
        }
    }

    @Override
    public Virtqueue setupQueue(int index, int size, VirtqueueCallback callback) {
        if (index < 0 || index >= queueCount) throw new IllegalArgumentException(name + ": no queue " + index);
        synchronized (registers) {
            write(common, QUEUE_SELECT, 2, index);
            if (read(common, QUEUE_ENABLE, 2) != 0) throw new IllegalStateException(name + ": queue " + index + " is already enabled");
            int max = read(common, QUEUE_SIZE, 2);
            if (max == 0) throw new IllegalStateException(name + ": queue " + index + " is not available");
            int n = Integer.highestOneBit(size <= 0 ? max : Math.min(size, max));
            long notifyOffset = (long) read(common, QUEUE_NOTIFY_OFF, 2) * notifyMultiplier;
            if (notifyOffset + 2 > notify.length) throw new IllegalStateException(name + ": queue " + index + " notify register is outside the notify region");
            long notifyAddress = notify.address + notifyOffset;
            QueueDriver old = queues.remove(index);
            if (old != null) old.release();
            QueueDriver q = Rings.driver(memory, allocator, index, n, negotiated, () -> bus.write(notifyAddress, 2, index));
            try {
                q.setCallback(callback);
                write(common, QUEUE_SIZE, 2, n);
                write64(QUEUE_DESC, q.descAddress());
                write64(QUEUE_DRIVER, q.driverAreaAddress());
                write64(QUEUE_DEVICE, q.deviceAreaAddress());
                if (msixCapability != 0) {
                    write(common, QUEUE_MSIX_VECTOR, 2, index + 1);
                    if (read(common, QUEUE_MSIX_VECTOR, 2) != index + 1) {
                        throw new IllegalStateException(name + ": queue " + index + " refused MSI-X vector " + (index + 1));
                    }
                }
                queues.put(index, q); // before enabling, so no interrupt for it can be missed
                write(common, QUEUE_ENABLE, 2, 1);
                if (read(common, QUEUE_ENABLE, 2) != 1) throw new IllegalStateException(name + ": queue " + index + " did not enable");
            } catch (RuntimeException e) {
                queues.remove(index, q);
                q.release();
                throw e;
            }
            return q;
        }
    }

    private void write64(int offset, long value) {
        write(common, offset, 4, value & 0xffff_ffffL);
        write(common, offset + 4, 4, value >>> 32);
    }

    @Override
    protected boolean disableQueue(int index) {
        write(common, QUEUE_SELECT, 2, index);
        if (msixCapability != 0) write(common, QUEUE_MSIX_VECTOR, 2, NO_VECTOR);
        // Modern virtio-pci has no queue disable; our device honours 0 and the usual caller reset it first anyway.
        write(common, QUEUE_ENABLE, 2, 0);
        return read(common, QUEUE_ENABLE, 2) == 0;
    }

    /** Unplug: reset (the device stops using the rings), interrupts released, MSI-X off, rings freed. */
    @Override
    public void close() {
        try {
            reset();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, name + ": reset on unplug failed", e);
        }
        if (msixCapability != 0) {
            pci.configWrite(0, slot, 0, msixCapability + 2, 2, cfg(msixCapability + 2, 2) & ~0x8000);
        }
        interruptRegistrations.forEach(Registration::close);
        interruptRegistrations.clear();
        releaseQueues();
    }

}
