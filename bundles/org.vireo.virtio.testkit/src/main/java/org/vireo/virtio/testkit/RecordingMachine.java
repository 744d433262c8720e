package org.vireo.virtio.testkit;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.memory.GuestMemory;

/** A hosted machine's memory and buses with interrupt lines and MSIs that record their state instead of dispatching. */
public final class RecordingMachine implements Machine, InterruptController, AutoCloseable {
    /** A level-triggered line that counts rising edges. */
    public static final class Line implements InterruptLine {
        public volatile boolean level;
        public final AtomicInteger raises = new AtomicInteger();

        @Override
        public synchronized void set(boolean high) {
            if (high && !level) raises.incrementAndGet();
            level = high;
        }
    }

    public record Msi(long address, int data) {}

    /** The machine whose memory, buses and allocators this one uses; named "t", 16 MiB. */
    public final HostedMachine inner = new HostedMachine("t", 16 << 20);
    public final Map<Integer, Line> lines = new ConcurrentHashMap<>();
    public final List<Msi> msis = new CopyOnWriteArrayList<>();

    @Override public String name() { return "t"; }
    @Override public GuestMemory memory() { return inner.memory(); }
    @Override public IoBus mmio() { return inner.mmio(); }
    @Override public IoBus pio() { return inner.pio(); }
    @Override public PciBus pci() { return inner.pci(); }
    @Override public InterruptController interrupts() { return this; }
    @Override public AddressAllocator mmioSpace() { return inner.mmioSpace(); }
    @Override public int allocateIrq() { return inner.allocateIrq(); }
    @Override public void releaseIrq(int gsi) { inner.releaseIrq(gsi); }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.empty(); }
    @Override public Line line(int gsi) { return lines.computeIfAbsent(gsi, g -> new Line()); }
    @Override public void sendMsi(long address, int data) { msis.add(new Msi(address, data)); }
    @Override public void close() { inner.close(); }
}
