package org.vireo.virtio.testkit.transport;

import java.util.List;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.bus.impl.VirtioBusCore;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;
import org.vireo.virtio.ring.RingLayout;

/**
 * A real device plugged on a hosted machine through a real transport, its driver side handed to the bus core: the
 * same path as in the framework, without OSGi. For driver round-trip tests.
 */
public final class TransportRig implements AutoCloseable {
    /**
     * The transports and ring layouts, as JUnit {@code Parameterized} parameters: "mmio" and "pci" with split rings,
     * "mmio/packed" and "pci/packed" with the device offering, and the driver taking, packed rings.
     */
    public static final List<Object[]> TRANSPORTS = List.of(new Object[] {"mmio"}, new Object[] {"pci"},
            new Object[] {"mmio/packed"}, new Object[] {"pci/packed"});

    /** A hosted machine "java" with 64 MiB. */
    public final HostedMachine machine = new HostedMachine("java", 64L << 20);
    public final VirtioBusCore bus = new VirtioBusCore();
    public final PluggedDevice plugged;
    public final VirtioDriverDevice driverSide;
    /** The machine's free allocator bytes once the device was plugged. */
    public final long freeBeforeBinding;

    /** The ring layout the device offers. */
    public final RingLayout ring;

    /** Plugs {@code device} as {@code name} through {@code transport} ("mmio" or "pci", with "/packed" for packed rings). */
    public TransportRig(String transport, VirtioDevice device, String name) {
        ring = transport.endsWith("/packed") ? RingLayout.PACKED : RingLayout.SPLIT;
        plugged = switch (transport.replace("/packed", "")) {
            case "mmio" -> VirtioMmio.plug(machine, device, name, ring);
            case "pci" -> VirtioPci.plug(machine, device, name, ring);
            default -> throw new IllegalArgumentException(transport);
        };
        driverSide = plugged.driverSide().orElseThrow();
        freeBeforeBinding = machine.allocator().freeBytes();
    }

    /** Hands {@code driver} and the device's driver side to the bus core, which binds them. */
    public void bind(VirtioDriver driver) {
        bus.addDriver(driver);
        bus.addDevice(driverSide, machine.name());
        boolean packed = VirtioFeatures.has(driverSide.negotiatedFeatures(), VirtioFeatures.RING_PACKED);
        if (packed != (ring == RingLayout.PACKED) && bus.bindings().getFirst().driver() != null) {
            throw new AssertionError("offered " + ring + " rings, negotiated " + (packed ? "packed" : "split"));
        }
    }

    /** The bus core's first binding. */
    public Binding binding() {
        return bus.bindings().getFirst();
    }

    /** The device service leaves: the bus removes the driver and resets the device. */
    public void unbind() {
        bus.removeDevice(driverSide);
    }

    /** Guest RAM the driver (and its rings) still holds. */
    public long guestBytesHeld() {
        return freeBeforeBinding - machine.allocator().freeBytes();
    }

    @Override
    public void close() {
        try {
            bus.close();
            plugged.close();
        } finally {
            machine.close();
        }
    }
}
