package org.vireo.vmm;

import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.bus.pci.PcieRootPort;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.memory.GuestMemory;
import org.vireo.x86.acpi.AcpiTables;
import org.vireo.x86.platform.AcpiPm;
import org.vireo.x86.platform.ApicBus;
import org.vireo.x86.platform.IoApic;
import org.vireo.x86.platform.LocalApic;
import org.vireo.x86.platform.NanoClock;
import org.vireo.x86.platform.PcPlatform;

/**
 * A PC without firmware: RAM from 0 up to the 32-bit PCI hole, the legacy platform devices on the port bus, PCI
 * bus 0 behind a type-1 host bridge, and the 8259 PIC pair as the interrupt controller. PCI INTx lines come from
 * the PIC lines no legacy device uses, switched to level triggering in the ELCR as firmware would do. Device
 * windows (virtio-mmio, BARs) go into the hole between RAM's ceiling and the IOAPIC/LAPIC area.
 *
 * <p>With ACPI ({@link #acpi()}), PIC line 9 is the SCI of the platform's PM registers and never a PCI line, and
 * {@link #writeAcpiTables()} puts the tables describing this machine into the BIOS area at {@link #ACPI_TABLES}.
 */
public final class X86Machine implements Machine, AutoCloseable {
    /** RAM ends where the 32-bit MMIO hole begins. */
    public static final long MAX_MEMORY = 0xC000_0000L;
    public static final long MMIO_BASE = 0xC000_0000L;
    public static final long MMIO_END = 0xFEC0_0000L;
    /** PIC lines free for PCI INTx: no legacy device of this machine uses them (2 is the cascade). */
    static final int[] PCI_IRQS = {5, 9, 10, 11, 3, 14, 15};
    /** Where the ACPI tables go (the RSDP first): the BIOS area, which the e820 map reserves. */
    public static final long ACPI_TABLES = AcpiTables.DEFAULT_BASE;
    private static final long MIN_MEMORY = 2L << 20;
    /** The memory window behind a hot-plug slot: room for a few devices' BARs (a virtio-pci BAR0 is 32 KiB). */
    static final long HOTPLUG_WINDOW = 2L << 20;

    private final String name;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory;
    private final IoBus pio = new IoBus("pio");
    private final IoBus mmio = new IoBus("mmio");
    private final PciBus pci = new PciBus();
    private final AddressAllocator mmioSpace = new AddressAllocator(MMIO_BASE, MMIO_END - MMIO_BASE);
    private final PcPlatform platform;
    private final List<Integer> allocatedIrqs = new ArrayList<>();
    private final boolean acpi;
    /**
     * Whether this machine switches PCI lines to level triggering in the ELCR, as firmware does: always without ACPI.
     * With ACPI the guest does it for each line the DSDT's _PRT routes (and resets the ELCR to the SCI alone first,
     * warning when it finds more), except with a hot-plug slot, whose guest gets {@code pci=noacpi} (see
     * {@code VmOptions.kernelCommandLine}) and routes PCI interrupts as without ACPI.
     */
    private boolean linesSetByFirmware;
    private PcieRootPort hotplugSlot;
    /** virtio-mmio devices for the DSDT, in plug order. */
    private final List<AcpiTables.MmioDevice> mmioDevices = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * @param serialOut    where COM1's output goes
     * @param resetRequest called when the guest resets the machine (i8042 command 0xFE, port 0x92 bit 0)
     */
    public X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest) {
        this(name, memoryBytes, serialOut, resetRequest, () -> { }, false);
    }

    /**
     * @param powerOffRequest called when the guest powers off through ACPI (S5 in PM1a control)
     * @param acpi            whether the guest gets ACPI: line 9 is then kept for the SCI
     */
    public X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest, Runnable powerOffRequest,
                      boolean acpi) {
        this(name, memoryBytes, serialOut, resetRequest, powerOffRequest, acpi, false);
    }

    /**
     * @param apic whether the machine has a local APIC and an IOAPIC (ACPI's MADT describes them, so only with
     *             {@code acpi}); the CPU must then be one that takes its interrupts from {@link #localApic()}
     */
    public X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest, Runnable powerOffRequest,
                      boolean acpi, boolean apic) {
        this(name, memoryBytes, serialOut, resetRequest, powerOffRequest, acpi, apic, NanoClock.host(), Clock.systemUTC());
    }

    X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest, NanoClock clock, Clock wallClock) {
        this(name, memoryBytes, serialOut, resetRequest, () -> { }, false, false, clock, wallClock);
    }

    X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest, Runnable powerOffRequest,
               boolean acpi, boolean apic, NanoClock clock, Clock wallClock) {
        if (apic && !acpi) throw new IllegalArgumentException("the APICs are described to the guest by ACPI: apic needs acpi");
        if (memoryBytes < MIN_MEMORY) throw new IllegalArgumentException("a PC needs at least 2 MiB of memory");
        if (memoryBytes > MAX_MEMORY) {
            throw new IllegalArgumentException(String.format("at most %d MiB of memory: RAM must end below the PCI hole at 0x%x",
                    MAX_MEMORY >> 20, MMIO_BASE));
        }
        if ((memoryBytes & 0xfff) != 0) throw new IllegalArgumentException("memory size must be a multiple of 4 KiB");
        this.name = name;
        this.acpi = acpi;
        this.linesSetByFirmware = !acpi;
        this.memory = GuestMemory.allocate(arena, memoryBytes);
        this.platform = new PcPlatform(pio, mmio, pci, new PcPlatform.Config(serialOut, clock, wallClock, memoryBytes, 0, resetRequest,
                powerOffRequest, apic));
        if (acpi) platform.pic().setLevelTriggered(AcpiPm.SCI_IRQ, true);   // the SCI is level-triggered
    }

    @Override public String name() { return name; }
    @Override public GuestMemory memory() { return memory; }
    @Override public IoBus mmio() { return mmio; }
    @Override public IoBus pio() { return pio; }
    @Override public PciBus pci() { return pci; }
    @Override public InterruptController interrupts() { return platform.interrupts(); }
    @Override public AddressAllocator mmioSpace() { return mmioSpace; }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.empty(); }

    public PcPlatform platform() { return platform; }

    /** Whether this machine gives its guest ACPI tables (and keeps line 9 for the SCI). */
    public boolean acpi() { return acpi; }

    /** The vCPU's local APIC, on a machine with APICs. */
    public Optional<LocalApic> localApic() { return platform.apicBus().map(b -> b.localApics().getFirst()); }

    /**
     * Writes the ACPI tables of this machine as it is now into guest memory at {@link #ACPI_TABLES}: call it after
     * the devices present at boot are plugged (the DSDT's _PRT routes their INTx pins) and before the vCPU starts.
     */
    public AcpiTables.Image writeAcpiTables() {
        AcpiTables.Apics apics = localApic().map(apic -> new AcpiTables.Apics(LocalApic.DEFAULT_BASE, List.of(apic.apicId()), 0,
                IoApic.DEFAULT_BASE, List.of(new AcpiTables.InterruptOverride(0, ApicBus.PIT_PIN, 0),
                        new AcpiTables.InterruptOverride(AcpiPm.SCI_IRQ, AcpiPm.SCI_IRQ, AcpiTables.InterruptOverride.LEVEL_HIGH)), 1))
                .orElse(null);
        AcpiTables.Image image = AcpiTables.build(new AcpiTables.Config(ACPI_TABLES, AcpiPm.PM1_EVT, AcpiPm.PM1_CNT, AcpiPm.PM_TMR,
                AcpiPm.SCI_IRQ, org.vireo.x86.platform.PciHostBridge.RESET_CONTROL_PORT, 0x06, MMIO_BASE, MMIO_END,
                pciRoutes(), List.copyOf(mmioDevices), apics));
        memory.write(ACPI_TABLES, image.bytes(), 0, image.bytes().length);
        return image;
    }

    /**
     * The INTx routes of the functions on bus 0, read from their interrupt pin and line registers. Bridges are left
     * out: a device behind the hot-plug slot has a line of its own, which a route for the bridge would hide (Linux
     * looks a device behind a bridge up as the bridge's pin, swizzled). With a hot-plug slot the guest does not use
     * the routes anyway (pci=noacpi).
     */
    List<AcpiTables.PciRoute> pciRoutes() {
        List<AcpiTables.PciRoute> routes = new ArrayList<>();
        for (int slot = 0; slot < PciBus.SLOTS; slot++) {
            org.vireo.bus.pci.PciFunction f = pci.function(slot);
            if (f == null) continue;
            if ((f.configRead(0x0e, 1) & 0x7f) == 1) continue;         // a PCI-to-PCI bridge
            int pin = f.configRead(0x3d, 1) & 0xff;
            int line = f.configRead(0x3c, 1) & 0xff;
            if (pin >= 1 && pin <= 4 && line > 0 && line < 16) routes.add(new AcpiTables.PciRoute(slot, pin, line));
        }
        return routes;
    }

    /**
     * Adds a PCIe root port with one hot-plug slot to bus 0 (off unless called): its memory window comes from the
     * MMIO space and its hot-plug interrupt from {@link #allocateIrq()}. Call before the guest boots, so its PCI scan
     * finds the port and its native hot-plug driver binds; devices the pci transport plugs once the guest listens
     * on the slot then land in it (see {@code VirtioPci.plug}). A second call returns the same port.
     */
    public synchronized PcieRootPort addHotplugSlot() {
        if (hotplugSlot != null) return hotplugSlot;
        linesSetByFirmware = true;
        long window = mmioSpace.allocate(HOTPLUG_WINDOW, 1L << 20);
        int irq;
        try {
            irq = allocateIrq();
        } catch (RuntimeException e) {
            mmioSpace.free(window);
            throw e;
        }
        PcieRootPort port = new PcieRootPort(1, window, HOTPLUG_WINDOW, irq, platform.interrupts().line(irq));
        try {
            pci.attach(port);
        } catch (RuntimeException e) {
            releaseIrq(irq);
            mmioSpace.free(window);
            throw e;
        }
        hotplugSlot = port;
        return port;
    }

    /** Lists the device in the DSDT ({@code LNRO0005}) the next time {@link #writeAcpiTables()} runs. */
    @Override
    public org.vireo.bus.Registration describeVirtioMmio(long base, long size, int gsi) {
        AcpiTables.MmioDevice d = new AcpiTables.MmioDevice(base, size, gsi);
        mmioDevices.add(d);
        return () -> mmioDevices.remove(d);
    }

    /** The hot-plug slot's root port, when {@link #addHotplugSlot()} made one. */
    public synchronized Optional<PcieRootPort> hotplugSlot() { return Optional.ofNullable(hotplugSlot); }

    @Override
    public synchronized int allocateIrq() {
        for (int irq : PCI_IRQS) {
            if (acpi && irq == AcpiPm.SCI_IRQ) continue;
            if (!allocatedIrqs.contains(irq)) {
                allocatedIrqs.add(irq);
                if (linesSetByFirmware) platform.pic().setLevelTriggered(irq, true);
                return irq;
            }
        }
        throw new IllegalStateException("no free interrupt line: PIC lines " + java.util.Arrays.toString(PCI_IRQS) + " are all taken");
    }

    @Override
    public synchronized void releaseIrq(int gsi) {
        if (allocatedIrqs.remove(Integer.valueOf(gsi))) platform.pic().setLevelTriggered(gsi, false);
    }

    @Override
    public void close() {
        platform.close();
        arena.close();
    }
}
