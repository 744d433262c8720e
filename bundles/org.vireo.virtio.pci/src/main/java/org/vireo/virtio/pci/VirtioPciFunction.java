package org.vireo.virtio.pci;

import static org.vireo.virtio.pci.VirtioPci.*;

import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciConfigSpace;
import org.vireo.bus.pci.PciFunction;
import org.vireo.machine.Machine;
import org.vireo.virtio.core.InterruptSink;
import org.vireo.virtio.core.VirtioDeviceCore;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.ring.RingLayout;

/**
 * The device side of modern virtio-pci: a PCI function whose configuration space carries the virtio vendor
 * capabilities and MSI-X, and whose BAR0 window (mapped on the MMIO bus while memory decoding is on) holds the common
 * configuration, ISR, device configuration, notify registers, the MSI-X table and PBA. Interrupts go out as MSI-X
 * messages when the guest enabled MSI-X, else on the INTx line (pin A), level while the ISR is non-zero.
 */
final class VirtioPciFunction implements PciFunction, IoHandler, InterruptSink {
    private static final System.Logger LOG = System.getLogger(VirtioPciFunction.class.getName());
    /** The guest places the BAR: a guest that keeps placing it badly must not flood the log. */
    private final RateLimitedLog log = new RateLimitedLog(LOG);

    private static final int MSIX_CONTROL_ENABLE = 0x8000;
    private static final int MSIX_CONTROL_FUNCTION_MASK = 0x4000;
    private static final int PCI_CFG_BAR = 4;
    private static final int PCI_CFG_OFFSET = 8;
    private static final int PCI_CFG_LENGTH = 12;
    private static final int PCI_CFG_DATA = 16;

    private final Machine machine;
    private final String name;
    private final VirtioDeviceCore core;
    private final PciConfigSpace config;
    private final InterruptLine line;
    private final long preassignedBar;
    private final int gsi;
    private final int queueCount;
    private final int notifyQueues;
    private final int vectors;
    private final int msixCapability;
    private final int pciCfgCapability;

    private final Object lineLock = new Object();
    private final Object mapLock = new Object();
    private Registration barRegistration; // guarded by mapLock
    private boolean closed;               // guarded by mapLock

    // MSI-X state, guarded by msix.
    private final Object msix = new Object();
    private final long[] vectorAddress;
    private final int[] vectorData;
    private final boolean[] vectorMasked;
    private final boolean[] vectorPending;
    private boolean msixEnabled;
    private boolean functionMasked;

    VirtioPciFunction(Machine machine, VirtioDevice device, String name, long barAddress, int gsi) {
        this(machine, device, name, barAddress, gsi, RingLayout.SPLIT);
    }

    VirtioPciFunction(Machine machine, VirtioDevice device, String name, long barAddress, int gsi, RingLayout ring) {
        this.machine = machine;
        this.name = name;
        this.preassignedBar = barAddress;
        this.gsi = gsi;
        this.core = new VirtioDeviceCore(device, machine.memory(), this, name, ring);
        this.line = machine.interrupts().line(gsi);
        this.queueCount = core.queueCount();
        this.notifyQueues = Math.min(queueCount, MAX_QUEUES);
        this.vectors = Math.min(queueCount + 1, MAX_VECTORS);
        this.vectorAddress = new long[vectors];
        this.vectorData = new int[vectors];
        this.vectorMasked = new boolean[vectors];
        this.vectorPending = new boolean[vectors];
        java.util.Arrays.fill(vectorMasked, true); // table entries come out of reset masked

        int deviceId = core.deviceId();
        config = new PciConfigSpace(VENDOR, DEVICE_BASE + deviceId, classCode(deviceId), REVISION);
        config.setSubsystem(SUBSYSTEM_VENDOR, deviceId);
        config.setInterruptPin(1);
        config.setInterruptLine(gsi & 0xff);
        config.addMemoryBar(BAR, BAR_SIZE, true, false);
        config.setBarAddress(BAR, barAddress);

        config.addCapability(PciConfigSpace.CAP_VENDOR, virtioCap(CAP_COMMON, COMMON_CFG, COMMON_CFG_LENGTH, 0), null, null);
        config.addCapability(PciConfigSpace.CAP_VENDOR,
                virtioCap(CAP_NOTIFY, NOTIFY_CFG, Math.max(1, notifyQueues) * NOTIFY_OFF_MULTIPLIER, 4, NOTIFY_OFF_MULTIPLIER), null, null);
        config.addCapability(PciConfigSpace.CAP_VENDOR, virtioCap(CAP_ISR, ISR_CFG, 1, 0), null, null);
        if (core.configSize() > 0) {
            config.addCapability(PciConfigSpace.CAP_VENDOR, virtioCap(CAP_DEVICE, DEVICE_CFG, Math.min(core.configSize(), 0x1000), 0), null, null);
        }
        byte[] pciCfg = virtioCap(CAP_PCI_CFG, 0, 0, 4, 0);
        byte[] pciCfgWritable = new byte[pciCfg.length];
        pciCfgWritable[PCI_CFG_BAR - 2] = (byte) 0xff;
        for (int i = 0; i < 4; i++) {
            pciCfgWritable[PCI_CFG_OFFSET - 2 + i] = (byte) 0xff;
            pciCfgWritable[PCI_CFG_LENGTH - 2 + i] = (byte) 0xff;
            pciCfgWritable[PCI_CFG_DATA - 2 + i] = (byte) 0xff;
        }
        pciCfgCapability = config.addCapability(PciConfigSpace.CAP_VENDOR, pciCfg, pciCfgWritable, new PciCfgWindow());

        byte[] msixBody = new byte[10];
        put(msixBody, 0, 2, vectors - 1);
        put(msixBody, 2, 4, MSIX_TABLE | BAR);
        put(msixBody, 6, 4, MSIX_PBA | BAR);
        byte[] msixWritable = new byte[10];
        msixWritable[1] = (byte) 0xc0; // enable and function mask
        msixCapability = config.addCapability(PciConfigSpace.CAP_MSIX, msixBody, msixWritable, new MsixControl());

        config.setBarListener((bar, from, to) -> remap(to));
    }

    /** A virtio_pci_cap body (after cap_vndr and cap_next), with {@code extra} trailing bytes holding {@code extraValue}. */
    private static byte[] virtioCap(int type, int offset, int length, int extra, int extraValue) {
        byte[] b = new byte[14 + extra];
        b[0] = (byte) (16 + extra); // cap_len
        b[1] = (byte) type;
        b[2] = BAR;
        put(b, 6, 4, offset);
        put(b, 10, 4, length);
        if (extra == 4) put(b, 14, 4, extraValue);
        return b;
    }

    private static byte[] virtioCap(int type, int offset, int length, int extra) { return virtioCap(type, offset, length, extra, 0); }

    private static void put(byte[] b, int at, int size, int value) {
        for (int i = 0; i < size; i++) b[at + i] = (byte) (value >>> (8 * i));
    }

    String name() { return name; }

    VirtioDeviceCore core() { return core; }

    PciConfigSpace config() { return config; }

    int msixCapability() { return msixCapability; }

    int pciCfgCapability() { return pciCfgCapability; }

    String describeAddress(String pciAddress) {
        boolean enabled;
        synchronized (msix) {
            enabled = msixEnabled;
        }
        return String.format("%s bar0 0x%x %s", pciAddress, config.barAddress(BAR), enabled ? "msix " + vectors : "irq " + gsi);
    }

    // ---- PciFunction ----

    @Override public int configRead(int offset, int size) { return config.configRead(offset, size); }

    @Override
    public void configWrite(int offset, int size, int value) {
        config.configWrite(offset, size, value);
        // INTx disable lives in the command register: the line follows it at once.
        if (offset <= PciConfigSpace.COMMAND + 1 && offset + size > PciConfigSpace.COMMAND + 1) updateIntx();
    }

    @Override
    public void detached() {
        synchronized (mapLock) {
            closed = true;
            unmap();
        }
    }

    private void remap(long address) {
        synchronized (mapLock) {
            unmap();
            if (closed || address == PciConfigSpace.UNMAPPED) return;
            try {
                barRegistration = machine.mmio().register(address, BAR_SIZE, name + " bar0", this);
            } catch (RuntimeException e) {
                // the guest placed the BAR over something else: it stays unmapped until moved somewhere free
                log.warn("BAR0 not mapped", () -> String.format("%s: cannot map BAR0 at 0x%x: %s", name, address, e.getMessage()));
            }
        }
    }

    private void unmap() {
        if (barRegistration != null) {
            barRegistration.close();
            barRegistration = null;
        }
    }

    /** Created for a slot that was taken meanwhile: nothing was mapped or allocated by this object. */
    void discard() {
        synchronized (mapLock) {
            closed = true;
            unmap();
        }
    }

    /** Unplug (after detaching from the bus): BAR off the bus, device reset, line lowered and returned, window returned. */
    void close() {
        detached();
        core.close();
        synchronized (lineLock) {
            line.lower();
        }
        machine.releaseIrq(gsi);
        machine.mmioSpace().free(preassignedBar);
    }

    // ---- BAR0 ----

    @Override
    public long read(long offset, int size) {
        if (offset < 0 || offset >= BAR_SIZE || !(size == 1 || size == 2 || size == 4 || size == 8)) return 0;
        int off = (int) offset;
        if (off < COMMON_CFG + COMMON_CFG_LENGTH) return commonRead(off, size);
        if (off == ISR_CFG) {
            int isr = core.takeInterruptStatus(); // read-to-clear
            updateIntx();
            return isr;
        }
        if (off >= DEVICE_CFG && off < DEVICE_CFG + 0x1000) return core.readConfig(off - DEVICE_CFG, size) & 0xffff_ffffL;
        if (off >= MSIX_TABLE && off < MSIX_PBA) return tableRead(off - MSIX_TABLE, size);
        if (off >= MSIX_PBA) return pbaRead(off - MSIX_PBA, size);
        return 0; // notify registers and gaps
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset < 0 || offset >= BAR_SIZE || !(size == 1 || size == 2 || size == 4 || size == 8)) return;
        int off = (int) offset;
        if (off < COMMON_CFG + COMMON_CFG_LENGTH) {
            commonWrite(off, size, value);
        } else if (off >= DEVICE_CFG && off < DEVICE_CFG + 0x1000) {
            core.writeConfig(off - DEVICE_CFG, size, (int) value);
        } else if (off >= NOTIFY_CFG && off < NOTIFY_CFG + notifyQueues * NOTIFY_OFF_MULTIPLIER) {
            // The register's position names the queue; without NOTIFICATION_DATA the value adds nothing.
            if ((off - NOTIFY_CFG) % NOTIFY_OFF_MULTIPLIER == 0) core.notifyQueue((off - NOTIFY_CFG) / NOTIFY_OFF_MULTIPLIER);
        } else if (off >= MSIX_TABLE && off < MSIX_PBA) {
            tableWrite(off - MSIX_TABLE, size, value);
        } // ISR and PBA are read-only
    }

    private long commonRead(int off, int size) {
        long v = switch (size) {
            case 1 -> switch (off) {
                case DEVICE_STATUS -> core.status();
                case CONFIG_GENERATION -> core.configGeneration() & 0xff;
                default -> 0;
            };
            case 2 -> switch (off) {
                case CONFIG_MSIX_VECTOR -> core.configVector();
                case NUM_QUEUES -> queueCount;
                case QUEUE_SELECT -> core.queueSelect() & 0xffff;
                case QUEUE_SIZE -> core.queueSize();
                case QUEUE_MSIX_VECTOR -> core.queueVector();
                case QUEUE_ENABLE -> core.queueReady() ? 1 : 0;
                case QUEUE_NOTIFY_OFF -> core.queueNotifyOffset();
                default -> 0; // queue_notify_data, queue_reset: features not offered
            };
            case 4 -> switch (off) {
                case DEVICE_FEATURE_SELECT -> core.deviceFeatureSelect() & 0xffff_ffffL;
                case DEVICE_FEATURE -> core.deviceFeatureWindow() & 0xffff_ffffL;
                case DRIVER_FEATURE_SELECT -> core.driverFeatureSelect() & 0xffff_ffffL;
                case DRIVER_FEATURE -> core.driverFeatureWindow() & 0xffff_ffffL;
                case QUEUE_DESC -> core.queueDesc() & 0xffff_ffffL;
                case QUEUE_DESC + 4 -> core.queueDesc() >>> 32;
                case QUEUE_DRIVER -> core.queueDriver() & 0xffff_ffffL;
                case QUEUE_DRIVER + 4 -> core.queueDriver() >>> 32;
                case QUEUE_DEVICE -> core.queueDevice() & 0xffff_ffffL;
                case QUEUE_DEVICE + 4 -> core.queueDevice() >>> 32;
                default -> 0;
            };
            case 8 -> switch (off) {
                case QUEUE_DESC -> core.queueDesc();
                case QUEUE_DRIVER -> core.queueDriver();
                case QUEUE_DEVICE -> core.queueDevice();
                default -> 0;
            };
            default -> 0;
        };
        return v;
    }

    private void commonWrite(int off, int size, long value) {
        int v = (int) value;
        switch (size) {
            case 1 -> {
                if (off == DEVICE_STATUS) {
                    core.writeStatus(v & 0xff);
                    updateIntx();
                }
            }
            case 2 -> {
                switch (off) {
                    case CONFIG_MSIX_VECTOR -> core.setConfigVector(checkedVector(v & 0xffff));
                    case QUEUE_SELECT -> core.selectQueue(v & 0xffff);
                    case QUEUE_SIZE -> core.setQueueSize(v & 0xffff);
                    case QUEUE_MSIX_VECTOR -> core.setQueueVector(checkedVector(v & 0xffff));
                    case QUEUE_ENABLE -> core.setQueueReady((v & 1) != 0);
                    default -> { }
                }
            }
            case 4 -> {
                switch (off) {
                    case DEVICE_FEATURE_SELECT -> core.selectDeviceFeatures(v);
                    case DRIVER_FEATURE_SELECT -> core.selectDriverFeatures(v);
                    case DRIVER_FEATURE -> core.writeDriverFeatureWindow(v);
                    case QUEUE_DESC -> core.setQueueDesc(VirtioDeviceCore.withLow(core.queueDesc(), v));
                    case QUEUE_DESC + 4 -> core.setQueueDesc(VirtioDeviceCore.withHigh(core.queueDesc(), v));
                    case QUEUE_DRIVER -> core.setQueueDriver(VirtioDeviceCore.withLow(core.queueDriver(), v));
                    case QUEUE_DRIVER + 4 -> core.setQueueDriver(VirtioDeviceCore.withHigh(core.queueDriver(), v));
                    case QUEUE_DEVICE -> core.setQueueDevice(VirtioDeviceCore.withLow(core.queueDevice(), v));
                    case QUEUE_DEVICE + 4 -> core.setQueueDevice(VirtioDeviceCore.withHigh(core.queueDevice(), v));
                    default -> { }
                }
            }
            case 8 -> {
                switch (off) {
                    case QUEUE_DESC -> core.setQueueDesc(value);
                    case QUEUE_DRIVER -> core.setQueueDriver(value);
                    case QUEUE_DEVICE -> core.setQueueDevice(value);
                    default -> { }
                }
            }
            default -> { }
        }
    }

    /** A vector the table does not have reads back as NO_VECTOR, which is how the driver learns it was refused. */
    private int checkedVector(int vector) { return vector < vectors ? vector : NO_VECTOR; }

    // ---- MSI-X table and PBA ----

    private long tableRead(int off, int size) {
        int entry = off / 16;
        if (entry >= vectors || !(size == 4 || size == 8) || (off & (size - 1)) != 0) return 0;
        synchronized (msix) {
            return switch (off % 16) {
                case 0 -> size == 8 ? vectorAddress[entry] : vectorAddress[entry] & 0xffff_ffffL;
                case 4 -> vectorAddress[entry] >>> 32;
                case 8 -> size == 8 ? (vectorData[entry] & 0xffff_ffffL) | (vectorMasked[entry] ? 1L << 32 : 0) : vectorData[entry] & 0xffff_ffffL;
                case 12 -> vectorMasked[entry] ? 1 : 0;
                default -> 0;
            };
        }
    }

    private void tableWrite(int off, int size, long value) {
        int entry = off / 16;
        if (entry >= vectors || !(size == 4 || size == 8) || (off & (size - 1)) != 0) return;
        synchronized (msix) {
            switch (off % 16) {
                case 0 -> vectorAddress[entry] = size == 8 ? value : VirtioDeviceCore.withLow(vectorAddress[entry], (int) value);
                case 4 -> vectorAddress[entry] = VirtioDeviceCore.withHigh(vectorAddress[entry], (int) value);
                case 8 -> {
                    vectorData[entry] = (int) value;
                    if (size == 8) vectorMasked[entry] = ((value >>> 32) & 1) != 0;
                }
                case 12 -> vectorMasked[entry] = (value & 1) != 0;
                default -> { }
            }
        }
        deliverPending();
    }

    private long pbaRead(int off, int size) {
        if (!(size == 4 || size == 8) || (off & (size - 1)) != 0) return 0;
        long bits = 0;
        synchronized (msix) {
            for (int i = 0; i < size * 8; i++) {
                int vector = off * 8 + i;
                if (vector < vectors && vectorPending[vector]) bits |= 1L << i;
            }
        }
        return bits;
    }

    /** Sends a vector's message, or marks it pending while masked; NO_VECTOR and unknown vectors send nothing. */
    private void sendVector(int vector) {
        if (vector < 0 || vector >= vectors) return;
        long address;
        int data;
        synchronized (msix) {
            if (functionMasked || vectorMasked[vector]) {
                vectorPending[vector] = true;
                return;
            }
            address = vectorAddress[vector];
            data = vectorData[vector];
        }
        if (!config.busMasterEnabled()) return; // an MSI is a memory write: no bus mastering, no interrupt
        machine.interrupts().sendMsi(address, data);
    }

    /** After an unmask: sends every pending vector that is no longer masked. */
    private void deliverPending() {
        for (int v = 0; v < vectors; v++) {
            boolean send;
            synchronized (msix) {
                send = msixEnabled && vectorPending[v] && !functionMasked && !vectorMasked[v];
                if (send) vectorPending[v] = false;
            }
            if (send) sendVector(v);
        }
    }

    private final class MsixControl implements PciConfigSpace.CapabilityHandler {
        @Override
        public void written(int offset, int size, int value) {
            int control = config.peek(msixCapability + 2, 2);
            synchronized (msix) {
                msixEnabled = (control & MSIX_CONTROL_ENABLE) != 0;
                functionMasked = (control & MSIX_CONTROL_FUNCTION_MASK) != 0;
            }
            updateIntx();
            deliverPending();
        }
    }

    /** VIRTIO_PCI_CAP_PCI_CFG: a window through config space onto BAR0, for firmware without MMIO access. */
    private final class PciCfgWindow implements PciConfigSpace.CapabilityHandler {
        @Override
        public int read(int offset, int size, int stored) {
            if (offset != PCI_CFG_DATA) return stored;
            int length = windowLength();
            if (length == 0) return stored;
            long v = VirtioPciFunction.this.read(config.peek(pciCfgCapability + PCI_CFG_OFFSET, 4) & 0xffff_ffffL, length);
            return (int) v;
        }

        @Override
        public void written(int offset, int size, int value) {
            if (offset != PCI_CFG_DATA) return;
            int length = windowLength();
            if (length == 0) return;
            long mask = length == 4 ? 0xffff_ffffL : (1L << (length * 8)) - 1;
            VirtioPciFunction.this.write(config.peek(pciCfgCapability + PCI_CFG_OFFSET, 4) & 0xffff_ffffL, length, value & mask);
        }

        /** The window's access length when bar, offset and length are valid, else 0. */
        private int windowLength() {
            int bar = config.peek(pciCfgCapability + PCI_CFG_BAR, 1);
            long offset = config.peek(pciCfgCapability + PCI_CFG_OFFSET, 4) & 0xffff_ffffL;
            int length = config.peek(pciCfgCapability + PCI_CFG_LENGTH, 4);
            boolean ok = bar == BAR && (length == 1 || length == 2 || length == 4) && offset % length == 0 && offset + length <= BAR_SIZE;
            return ok ? length : 0;
        }
    }

    // ---- interrupts ----

    @Override
    public void queueInterrupt(int queue) {
        if (msixActive()) sendVector(core.queueVector(queue));
        else updateIntx();
    }

    @Override
    public void configInterrupt() {
        if (msixActive()) sendVector(core.configVector());
        else updateIntx();
    }

    private boolean msixActive() {
        synchronized (msix) {
            return msixEnabled;
        }
    }

    /** INTx follows the ISR while MSI-X is off and INTx is not disabled; serialised so the line ends up consistent. */
    private void updateIntx() {
        synchronized (lineLock) {
            boolean pending = core.interruptStatus() != 0;
            config.setInterruptStatus(pending && !msixActive());
            line.set(pending && !msixActive() && !config.intxDisabled());
        }
    }
}
