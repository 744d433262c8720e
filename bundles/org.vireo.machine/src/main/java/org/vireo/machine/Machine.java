package org.vireo.machine;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;
import org.vireo.bus.AddressAllocator;
import org.vireo.bus.InterruptController;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.memory.GuestMemory;

/**
 * One virtual machine's hardware as devices see it: guest RAM, the port and memory-mapped buses, the PCI bus and
 * the interrupt controller. Registered as an OSGi service with {@link #NAME_PROPERTY}; transports attach the devices
 * configured for that name. Whether a CPU (emulator or KVM) or Java drivers play the guest is not a device's concern.
 */
@ProviderType
public interface Machine {
    /** Service property holding the machine's name; devices select their machine with {@code machine.target}. */
    String NAME_PROPERTY = "machine.name";

    String name();

    GuestMemory memory();

    IoBus mmio();

    IoBus pio();

    PciBus pci();

    InterruptController interrupts();

    /** Where MMIO windows for device transports (virtio-mmio, PCI BARs) are carved from. */
    AddressAllocator mmioSpace();

    /** A free interrupt line number for a new device (GSI); lines below 16 belong to legacy platform devices. */
    int allocateIrq();

    void releaseIrq(int gsi);

    /** Present when no CPU runs here and Java code plays the guest, driving devices through their registers. */
    Optional<JavaGuest> javaGuest();

    /**
     * Tells the machine's firmware tables about a virtio-mmio device (a PC's DSDT lists it as {@code LNRO0005}, the
     * only way Linux finds such devices there), until the returned registration is closed. Devices plugged after the
     * guest booted are not seen by it. By default there are no tables and nothing happens.
     */
    default org.vireo.bus.Registration describeVirtioMmio(long base, long size, int gsi) { return () -> { }; }
}
