package org.vireo.kvm;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.memory.GuestMemory;

/**
 * The smallest {@link Machine} over a test guest's memory and buses: device windows carved from
 * {@code [mmioBase, +mmioSize)}, and interrupt lines that record their level and can run an action on each rising
 * edge (to inject a vector into the guest).
 */
final class GuestMachine implements Machine, InterruptController {
    static final class Line implements InterruptLine {
        volatile boolean level;
        final AtomicInteger raises = new AtomicInteger();
        private volatile Runnable onRaise = () -> { };

        /** Runs {@code action} on every rising edge, on the thread that raised the line. */
        Line onRaise(Runnable action) {
            onRaise = action;
            return this;
        }

        @Override
        public synchronized void set(boolean high) {
            boolean rising = high && !level;
            level = high;
            if (rising) {
                raises.incrementAndGet();
                onRaise.run();
            }
        }
    }

    private final GuestMemory memory;
    private final IoBus pio;
    private final IoBus mmio;
    private final AddressAllocator mmioSpace;
    private final PciBus pci = new PciBus();
    private final Map<Integer, Line> lines = new ConcurrentHashMap<>();
    private final boolean[] irqUsed = new boolean[24];

    GuestMachine(TestAccelerator guest, long mmioBase, long mmioSize) {
        this(guest.memory(), guest.pio(), guest.mmio(), mmioBase, mmioSize);
    }

    GuestMachine(GuestMemory memory, IoBus pio, IoBus mmio, long mmioBase, long mmioSize) {
        this.memory = memory;
        this.pio = pio;
        this.mmio = mmio;
        this.mmioSpace = new AddressAllocator(mmioBase, mmioSize);
    }

    @Override public String name() { return "kvm-test"; }
    @Override public GuestMemory memory() { return memory; }
    @Override public IoBus mmio() { return mmio; }
    @Override public IoBus pio() { return pio; }
    @Override public PciBus pci() { return pci; }
    @Override public InterruptController interrupts() { return this; }
    @Override public AddressAllocator mmioSpace() { return mmioSpace; }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.empty(); }

    @Override
    public synchronized int allocateIrq() {
        for (int i = 16; i < irqUsed.length; i++) {
            if (!irqUsed[i]) {
                irqUsed[i] = true;
                return i;
            }
        }
        throw new IllegalStateException("no free interrupt lines");
    }

    @Override
    public synchronized void releaseIrq(int gsi) {
        if (gsi >= 16 && gsi < irqUsed.length) irqUsed[gsi] = false;
    }

    @Override
    public Line line(int gsi) { return lines.computeIfAbsent(gsi, g -> new Line()); }

    @Override
    public void sendMsi(long address, int data) { }
}
