package org.vireo.virtio.testkit.transport;

import java.util.List;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.bus.impl.VirtioBusCore;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;

/**
 * A real device plugged on a hosted machine through a real transport, its driver side handed to the bus core: the
 * same path as in the framework, without OSGi. For driver round-trip tests.
 */
public final class TransportRig implements AutoCloseable {
    /** The transports, as JUnit {@code Parameterized} parameters. */
    public static final List<Object[]> TRANSPORTS = List.of(new Object[] {"mmio"}, new Object[] {"pci"});

    /** A hosted machine "java" with 64 MiB. */
    public final HostedMachine machine = new HostedMachine("java", 64L << 20);
    public final VirtioBusCore bus = new VirtioBusCore();
    public final PluggedDevice plugged;
    public final VirtioDriverDevice driverSide;
    /** The machine's free allocator bytes once the device was plugged. */
    public final long freeBeforeBinding;

    /** Plugs {@code device} as {@code name} through {@code transport} ("mmio" or "pci"). */
    public TransportRig(String transport, VirtioDevice device, String name) {
        plugged = switch (transport) {
            case "mmio" -> VirtioMmio.plug(machine, device, name);
            case "pci" -> VirtioPci.plug(machine, device, name);
            default -> throw new IllegalArgumentException(transport);
        };
        driverSide = plugged.driverSide().orElseThrow();
        freeBeforeBinding = machine.allocator().freeBytes();
    }

    /** Hands {@code driver} and the device's driver side to the bus core, which binds them. */
    public void bind(VirtioDriver driver) {
        bus.addDriver(driver);
        bus.addDevice(driverSide, machine.name());
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
