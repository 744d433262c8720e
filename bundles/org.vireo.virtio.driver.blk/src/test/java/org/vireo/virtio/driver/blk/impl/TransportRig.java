package org.vireo.virtio.driver.blk.impl;

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
 * same path as in the framework, without OSGi.
 */
final class TransportRig implements AutoCloseable {
    static final List<Object[]> TRANSPORTS = List.of(new Object[] {"mmio"}, new Object[] {"pci"});

    final HostedMachine machine = new HostedMachine("java", 64L << 20);
    final VirtioBusCore bus = new VirtioBusCore();
    final PluggedDevice plugged;
    final VirtioDriverDevice driverSide;
    final long freeBeforeBinding;

    TransportRig(String transport, VirtioDevice device, String name) {
        plugged = switch (transport) {
            case "mmio" -> VirtioMmio.plug(machine, device, name);
            case "pci" -> VirtioPci.plug(machine, device, name);
            default -> throw new IllegalArgumentException(transport);
        };
        driverSide = plugged.driverSide().orElseThrow();
        freeBeforeBinding = machine.allocator().freeBytes();
    }

    void bind(VirtioDriver driver) {
        bus.addDriver(driver);
        bus.addDevice(driverSide, machine.name());
    }

    Binding binding() {
        return bus.bindings().getFirst();
    }

    /** The device service leaves: the bus removes the driver and resets the device. */
    void unbind() {
        bus.removeDevice(driverSide);
    }

    /** Guest RAM the driver (and its rings) still holds. */
    long guestBytesHeld() {
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
