package org.vireo.machine;

import org.osgi.annotation.versioning.ProviderType;
import org.vireo.bus.Registration;
import org.vireo.memory.GuestAllocator;

/**
 * The guest side of a CPU-less machine: what Java virtio drivers use in place of a kernel. Interrupts raised by
 * devices are delivered to registered handlers on one interrupt thread (as a CPU would take them one at a time),
 * never on the raising device's thread, so a driver's callback may call back into the device without re-entrancy.
 */
@ProviderType
public interface JavaGuest {
    /** Guest RAM that Java drivers may allocate rings and buffers from. */
    GuestAllocator allocator();

    /** Runs {@code handler} on the interrupt thread whenever line {@code gsi} is raised (level: while raised, once per raise). */
    Registration onInterrupt(int gsi, Runnable handler);

    /** An MSI vector: the address/data pair to program into an MSI-X table entry, delivered to {@code handler}. */
    MsiVector allocateMsi(Runnable handler);

    record MsiVector(long address, int data, Registration registration) {}
}
