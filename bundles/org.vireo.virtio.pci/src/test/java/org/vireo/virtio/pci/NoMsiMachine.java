package org.vireo.virtio.pci;

import java.util.Optional;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.IoBus;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciBus;
import org.vireo.machine.JavaGuest;
import org.vireo.machine.Machine;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;

/** A hosted machine whose Java guest cannot allocate MSI vectors, so drivers must fall back to INTx. */
final class NoMsiMachine implements Machine, JavaGuest, AutoCloseable {
    final HostedMachine inner = new HostedMachine("intx", 16 << 20);

    @Override public String name() { return inner.name(); }
    @Override public GuestMemory memory() { return inner.memory(); }
    @Override public IoBus mmio() { return inner.mmio(); }
    @Override public IoBus pio() { return inner.pio(); }
    @Override public PciBus pci() { return inner.pci(); }
    @Override public InterruptController interrupts() { return inner; }
    @Override public AddressAllocator mmioSpace() { return inner.mmioSpace(); }
    @Override public int allocateIrq() { return inner.allocateIrq(); }
    @Override public void releaseIrq(int gsi) { inner.releaseIrq(gsi); }
    @Override public Optional<JavaGuest> javaGuest() { return Optional.of(this); }
    @Override public GuestAllocator allocator() { return inner.allocator(); }
    @Override public Registration onInterrupt(int gsi, Runnable handler) { return inner.onInterrupt(gsi, handler); }

    @Override
    public MsiVector allocateMsi(Runnable handler) {
        throw new UnsupportedOperationException("no MSI on this machine (expected by the test)");
    }

    @Override public void close() { inner.close(); }
}
