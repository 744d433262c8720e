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
import org.vireo.x86.platform.NanoClock;
import org.vireo.x86.platform.PcPlatform;

/**
 * A PC without firmware: RAM from 0 up to the 32-bit PCI hole, the legacy platform devices on the port bus, PCI
 * bus 0 behind a type-1 host bridge, and the 8259 PIC pair as the interrupt controller. PCI INTx lines come from
 * the PIC lines no legacy device uses, switched to level triggering in the ELCR as firmware would do. Device
 * windows (virtio-mmio, BARs) go into the hole between RAM's ceiling and the IOAPIC/LAPIC area.
 */
public final class X86Machine implements Machine, AutoCloseable {
    /** RAM ends where the 32-bit MMIO hole begins. */
    public static final long MAX_MEMORY = 0xC000_0000L;
    public static final long MMIO_BASE = 0xC000_0000L;
    public static final long MMIO_END = 0xFEC0_0000L;
    /** PIC lines free for PCI INTx: no legacy device of this machine uses them (2 is the cascade). */
    static final int[] PCI_IRQS = {5, 9, 10, 11, 3, 14, 15};
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
    private PcieRootPort hotplugSlot;

    /**
     * @param serialOut    where COM1's output goes
     * @param resetRequest called when the guest resets the machine (i8042 command 0xFE, port 0x92 bit 0)
     */
    public X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest) {
        this(name, memoryBytes, serialOut, resetRequest, NanoClock.host(), Clock.systemUTC());
    }

    X86Machine(String name, long memoryBytes, OutputStream serialOut, Runnable resetRequest, NanoClock clock, Clock wallClock) {
        if (memoryBytes < MIN_MEMORY) throw new IllegalArgumentException("a PC needs at least 2 MiB of memory");
        if (memoryBytes > MAX_MEMORY) {
            throw new IllegalArgumentException(String.format("at most %d MiB of memory: RAM must end below the PCI hole at 0x%x",
                    MAX_MEMORY >> 20, MMIO_BASE));
        }
        if ((memoryBytes & 0xfff) != 0) throw new IllegalArgumentException("memory size must be a multiple of 4 KiB");
        this.name = name;
        this.memory = GuestMemory.allocate(arena, memoryBytes);
        this.platform = new PcPlatform(pio, pci, new PcPlatform.Config(serialOut, clock, wallClock, memoryBytes, 0, resetRequest));
    }

    @Override public String name() { return name; }
    @Override public GuestMemory memory() { return memory; }
    @Override public IoBus mmio() { return mmio; }
    @Override public IoBus pio() { return pio; }
    @Override public PciBus pci() { return pci; }
    @Override public InterruptController interrupts() { return platform.pic(); }
    @Override public AddressAllocator mmioSpace() { return mmioSpace; }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.empty(); }

    public PcPlatform platform() { return platform; }

    /**
     * Adds a PCIe root port with one hot-plug slot to bus 0 (off unless called): its memory window comes from the
     * MMIO space and its hot-plug interrupt from {@link #allocateIrq()}. Call before the guest boots, so its PCI scan
     * finds the port and its native hot-plug driver binds; devices the pci transport plugs once the guest listens
     * on the slot then land in it (see {@code VirtioPci.plug}). A second call returns the same port.
     */
    public synchronized PcieRootPort addHotplugSlot() {
        if (hotplugSlot != null) return hotplugSlot;
        long window = mmioSpace.allocate(HOTPLUG_WINDOW, 1L << 20);
        int irq;
        try {
            irq = allocateIrq();
        } catch (RuntimeException e) {
            mmioSpace.free(window);
            throw e;
        }
        PcieRootPort port = new PcieRootPort(1, window, HOTPLUG_WINDOW, irq, platform.pic().line(irq));
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

    /** The hot-plug slot's root port, when {@link #addHotplugSlot()} made one. */
    public synchronized Optional<PcieRootPort> hotplugSlot() { return Optional.ofNullable(hotplugSlot); }

    @Override
    public synchronized int allocateIrq() {
        for (int irq : PCI_IRQS) {
            if (!allocatedIrqs.contains(irq)) {
                allocatedIrqs.add(irq);
                platform.pic().setLevelTriggered(irq, true);
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
