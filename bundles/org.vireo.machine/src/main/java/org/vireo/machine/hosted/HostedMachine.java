package org.vireo.machine.hosted;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciBus;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;

/**
 * A machine without a CPU: guest RAM, buses and an interrupt controller whose interrupts go to Java handlers.
 * Java virtio drivers play the guest on it, through the same registers a kernel would use.
 */
public final class HostedMachine implements Machine, JavaGuest, InterruptController, AutoCloseable {
    /** Start of the window that device transports are mapped into; RAM stays below it. */
    public static final long MMIO_BASE = 0xD000_0000L;
    public static final long MMIO_SIZE = 0x1000_0000L;
    public static final long MSI_ADDRESS = 0xFEE0_0000L;
    /** The first megabyte is left out of the allocator, as real firmware and boot code would own it. */
    private static final long ALLOC_BASE = 0x10_0000L;

    private static final System.Logger LOG = System.getLogger(HostedMachine.class.getName());

    private final String name;
    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final IoBus mmio = new IoBus("mmio");
    private final IoBus pio = new IoBus("pio");
    private final PciBus pci = new PciBus();
    private final AddressAllocator mmioSpace = new AddressAllocator(MMIO_BASE, MMIO_SIZE);
    private final Map<Integer, Line> lines = new ConcurrentHashMap<>();
    private final Map<Integer, Runnable> msiHandlers = new ConcurrentHashMap<>();
    private final AtomicInteger nextMsiData = new AtomicInteger(0x40);
    private final boolean[] irqUsed = new boolean[256];
    private final ExecutorService interruptThread;

    public HostedMachine(String name, long memoryBytes) {
        if (memoryBytes < 2 * ALLOC_BASE) throw new IllegalArgumentException("a hosted machine needs at least 2 MiB of memory");
        if (memoryBytes > MMIO_BASE) throw new IllegalArgumentException("a hosted machine's memory must stay below 0xD0000000 (3.25 GiB)");
        this.name = name;
        this.memory = GuestMemory.allocate(arena, memoryBytes);
        this.allocator = new GuestAllocator(ALLOC_BASE, memoryBytes - ALLOC_BASE);
        this.interruptThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vireo-" + name + "-irq");
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < 16; i++) irqUsed[i] = true;
    }

    @Override public String name() { return name; }
    @Override public GuestMemory memory() { return memory; }
    @Override public IoBus mmio() { return mmio; }
    @Override public IoBus pio() { return pio; }
    @Override public PciBus pci() { return pci; }
    @Override public InterruptController interrupts() { return this; }
    @Override public AddressAllocator mmioSpace() { return mmioSpace; }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.of(this); }
    @Override public GuestAllocator allocator() { return allocator; }

    @Override
    public synchronized int allocateIrq() {
        for (int i = 16; i < irqUsed.length; i++) {
            if (!irqUsed[i]) { irqUsed[i] = true; return i; }
        }
        throw new IllegalStateException("no free interrupt lines");
    }

    @Override
    public synchronized void releaseIrq(int gsi) {
        if (gsi >= 16 && gsi < irqUsed.length) irqUsed[gsi] = false;
    }

    @Override
    public InterruptLine line(int gsi) { return lines.computeIfAbsent(gsi, Line::new); }

    @Override
    public void sendMsi(long address, int data) {
        Runnable h = msiHandlers.get(data);
        if (address != MSI_ADDRESS || h == null) {
            LOG.log(System.Logger.Level.DEBUG, () -> String.format("%s: stray MSI 0x%x/0x%x", name, address, data));
            return;
        }
        dispatch(h);
    }

    @Override
    public Registration onInterrupt(int gsi, Runnable handler) {
        Line l = (Line) line(gsi);
        l.handlers.add(handler);
        return () -> l.handlers.remove(handler);
    }

    @Override
    public MsiVector allocateMsi(Runnable handler) {
        int data = nextMsiData.getAndIncrement();
        msiHandlers.put(data, handler);
        return new MsiVector(MSI_ADDRESS, data, () -> msiHandlers.remove(data));
    }

    private void dispatch(Runnable handler) {
        try {
            interruptThread.execute(() -> {
                try {
                    handler.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, name + ": interrupt handler failed", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the machine is shutting down: interrupts after close are dropped
        }
    }

    /** A level line: each raise schedules the handlers once; raises while a run is pending coalesce. */
    private final class Line implements InterruptLine {
        final int gsi;
        final List<Runnable> handlers = new CopyOnWriteArrayList<>();
        final AtomicBoolean pending = new AtomicBoolean();
        volatile boolean level;

        Line(int gsi) { this.gsi = gsi; }

        @Override
        public void set(boolean high) {
            level = high;
            if (high && !handlers.isEmpty() && pending.compareAndSet(false, true)) {
                dispatch(() -> {
                    pending.set(false);
                    for (Runnable h : new ArrayList<>(handlers)) h.run();
                });
            }
        }
    }

    @Override
    public void close() {
        interruptThread.shutdown();
        try {
            interruptThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        arena.close();
    }
}
