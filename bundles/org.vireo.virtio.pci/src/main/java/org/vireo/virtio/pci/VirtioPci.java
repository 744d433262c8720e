package org.vireo.virtio.pci;

import java.time.Duration;
import org.vireo.bus.pci.PciBus;
import org.vireo.bus.pci.PcieRootPort;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.core.CoreTransportInfo;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.ring.RingLayout;

/** Modern virtio-pci: identity, BAR layout, capability and register offsets, and the plain-Java entry point. */
public final class VirtioPci {
    public static final String TRANSPORT = "pci";
    public static final int VENDOR = 0x1af4;
    /** Modern device ids are 0x1040 + the virtio device id. */
    public static final int DEVICE_BASE = 0x1040;
    public static final int REVISION = 1;
    /** The 16-bit PCI subsystem vendor: the low half of {@link VirtioIds#VENDOR_VIREO}. */
    public static final int SUBSYSTEM_VENDOR = VirtioIds.VENDOR_VIREO & 0xffff;

    /** BAR0: 64-bit memory, holding every virtio structure and the MSI-X table and PBA. */
    public static final int BAR = 0;
    public static final long BAR_SIZE = 0x8000;
    public static final int COMMON_CFG = 0x0000;
    public static final int COMMON_CFG_LENGTH = 0x3c;
    public static final int ISR_CFG = 0x1000;
    public static final int DEVICE_CFG = 0x2000;
    public static final int NOTIFY_CFG = 0x3000;
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    public static final int MSIX_TABLE = 0x4000;
    public static final int MSIX_PBA = 0x6000;
    /** Vectors that fit between the table and the PBA. */
    public static final int MAX_VECTORS = (MSIX_PBA - MSIX_TABLE) / 16;
    /** Queues whose notify registers fit in the notify region. */
    public static final int MAX_QUEUES = (MSIX_TABLE - NOTIFY_CFG) / NOTIFY_OFF_MULTIPLIER;

    /** virtio_pci_cap cfg_type values. */
    public static final int CAP_COMMON = 1;
    public static final int CAP_NOTIFY = 2;
    public static final int CAP_ISR = 3;
    public static final int CAP_DEVICE = 4;
    public static final int CAP_PCI_CFG = 5;

    /** virtio_pci_common_cfg field offsets. */
    public static final int DEVICE_FEATURE_SELECT = 0x00;
    public static final int DEVICE_FEATURE = 0x04;
    public static final int DRIVER_FEATURE_SELECT = 0x08;
    public static final int DRIVER_FEATURE = 0x0c;
    public static final int CONFIG_MSIX_VECTOR = 0x10;
    public static final int NUM_QUEUES = 0x12;
    public static final int DEVICE_STATUS = 0x14;
    public static final int CONFIG_GENERATION = 0x15;
    public static final int QUEUE_SELECT = 0x16;
    public static final int QUEUE_SIZE = 0x18;
    public static final int QUEUE_MSIX_VECTOR = 0x1a;
    public static final int QUEUE_ENABLE = 0x1c;
    public static final int QUEUE_NOTIFY_OFF = 0x1e;
    public static final int QUEUE_DESC = 0x20;
    public static final int QUEUE_DRIVER = 0x28;
    public static final int QUEUE_DEVICE = 0x30;
    public static final int QUEUE_NOTIFY_DATA = 0x38;
    public static final int QUEUE_RESET = 0x3a;

    public static final int NO_VECTOR = 0xffff;

    /** How long an unplug from a hot-plug slot waits for the guest to release the device and power the slot off. */
    public static final Duration HOT_UNPLUG_TIMEOUT = Duration.ofSeconds(30);

    private VirtioPci() {}

    /** The PCI class code for a virtio device type (base class, subclass, interface). */
    public static int classCode(int deviceId) {
        return switch (deviceId) {
            case VirtioIds.BLOCK -> 0x018000;   // mass storage, other
            case VirtioIds.NET -> 0x020000;     // network, ethernet
            case VirtioIds.CONSOLE -> 0x078000; // communication, other
            default -> 0x00ff00;                // unclassified
        };
    }

    /**
     * Plugs {@code device} into {@code machine}'s PCI bus, with BAR0 pre-assigned from {@link Machine#mmioSpace()} and
     * an INTx line from {@link Machine#allocateIrq()}: into a PCIe hot-plug slot on bus 0 whose guest listens for
     * hot-plug events (a running guest, see {@link PcieRootPort#accepting()}), otherwise at the lowest free slot of
     * bus 0. On a Java guest also the driver side, named "&lt;machine&gt;/pci@00:&lt;slot&gt;.0".
     *
     * @throws IllegalStateException when the machine has no free slot, MMIO space or interrupt line
     */
    public static PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName) {
        return plug(machine, device, deviceName, RingLayout.SPLIT);
    }

    /** As {@link #plug(Machine, VirtioDevice, String)}, offering VIRTIO_F_RING_PACKED with {@link RingLayout#PACKED}. */
    public static PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName, RingLayout ring) {
        long bar = machine.mmioSpace().allocate(BAR_SIZE, BAR_SIZE);
        int gsi;
        try {
            gsi = machine.allocateIrq();
        } catch (RuntimeException e) {
            machine.mmioSpace().free(bar);
            throw e;
        }
        try {
            PluggedDevice hotPlugged = hotPlug(machine, device, deviceName, bar, gsi, ring);
            if (hotPlugged != null) return hotPlugged;
        } catch (RuntimeException e) {
            machine.releaseIrq(gsi);
            machine.mmioSpace().free(bar);
            throw e;
        }
        VirtioPciFunction function = null;
        int slot = -1;
        try {
            PciBus pci = machine.pci();
            for (int candidate = 1; candidate < PciBus.SLOTS && slot < 0; candidate++) {
                if (pci.function(candidate) != null) continue;
                VirtioPciFunction f = new VirtioPciFunction(machine, device, machine.name() + "/pci@" + address(candidate), bar, gsi, ring);
                try {
                    pci.attach(candidate, f);
                } catch (IllegalStateException taken) {
                    f.discard(); // someone else took the slot meanwhile
                    continue;
                }
                function = f;
                slot = candidate;
            }
            if (function == null) throw new IllegalStateException("PCI bus of machine " + machine.name() + " is full");
        } catch (RuntimeException e) {
            machine.releaseIrq(gsi);
            machine.mmioSpace().free(bar);
            throw e;
        }
        String name = function.name();
        PciDriverSide driverSide = null;
        int busSlot = slot;
        VirtioPciFunction attached = function;
        Runnable unplug = () -> unplugDevice(machine, busSlot, attached);
        try {
            if (machine.javaGuest().isPresent()) driverSide = new PciDriverSide(machine, machine.javaGuest().get(), slot, name);
        } catch (RuntimeException e) {
            unplug.run();
            throw e;
        }
        VirtioPciFunction f = function;
        String pciAddress = address(slot);
        VirtioTransportInfo info = new CoreTransportInfo(function.core(), name, TRANSPORT,
                () -> f.describeAddress(pciAddress), machine.name(), deviceName);
        return PluggedDevice.of(info, driverSide, unplug);
    }

    /** Into the first hot-plug slot that takes it, or null (no slot, or none whose guest listens). */
    private static PluggedDevice hotPlug(Machine machine, VirtioDevice device, String deviceName, long bar, int gsi, RingLayout ring) {
        for (int slot = 0; slot < PciBus.SLOTS; slot++) {
            if (!(machine.pci().function(slot) instanceof PcieRootPort port) || !port.accepting()) continue;
            String pciAddress = String.format("%02x:00.0", port.secondaryBusNumber());
            VirtioPciFunction function = new VirtioPciFunction(machine, device, machine.name() + "/pci@" + pciAddress, bar, gsi, ring);
            try {
                port.insert(function);
            } catch (IllegalStateException taken) {
                function.discard();
                continue;
            }
            Runnable unplug = () -> {
                try {
                    port.remove(function, HOT_UNPLUG_TIMEOUT);
                } finally {
                    function.close();
                }
            };
            VirtioTransportInfo info = new CoreTransportInfo(function.core(), function.name(), TRANSPORT,
                    () -> function.describeAddress(pciAddress), machine.name(), deviceName);
            return PluggedDevice.of(info, null, unplug);
        }
        return null;
    }

    /** "00:05.0" */
    static String address(int slot) { return String.format("00:%02x.0", slot); }

    private static void unplugDevice(Machine machine, int slot, VirtioPciFunction function) {
        try {
            if (machine.pci().function(slot) == function) machine.pci().detach(slot);
        } finally {
            function.close();
        }
    }
}
