package org.vireo.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.kind.DeviceInstance;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;
import org.vireo.virtio.ring.RingLayout;

/**
 * The devices of a run without OSGi (tests, {@link VmRunner#main}): each device is made by its kind's factory
 * ({@link org.vireo.virtio.kind.DeviceKind#create}, the very call its bundle's configuration component makes) from the
 * configuration {@link OsgiWiring} would store, and plugged with {@link VirtioPci#plug} (or {@link VirtioMmio#plug}),
 * in the order given, so disk0 takes the lowest slot.
 */
final class DirectWiring implements MachineWiring {
    @Override
    public Wired wire(X86Machine machine, List<DeviceSpec> devices, String transport, RingLayout ring, OutputStream terminal) throws WiringException {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            for (DeviceSpec spec : devices) {
                DeviceInstance device;
                try {
                    device = spec.kind().create(spec.configuration(machine.name(), transport, ring), DeviceEnvironment.withTerminal(terminal));
                } catch (IOException | IllegalArgumentException e) {
                    throw new WiringException(spec.name() + ": " + e.getMessage(), e);
                }
                opened.add(device);
                boolean mmio = VirtioMmio.TRANSPORT.equals(transport);
                try {
                    opened.add(mmio ? VirtioMmio.plug(machine, device.device(), spec.name(), ring)
                            : VirtioPci.plug(machine, device.device(), spec.name(), ring));
                } catch (RuntimeException e) {
                    throw new WiringException(spec.name() + ": cannot plug it " + (mmio ? "as a virtio-mmio device" : "into the PCI bus")
                            + ": " + e.getMessage(), e);
                }
            }
        } catch (WiringException e) {
            closeQuietly(opened, e);
            throw e;
        }
        return () -> MachineWiring.closeAll(opened);
    }

    private static void closeQuietly(List<AutoCloseable> opened, Exception failure) {
        try {
            MachineWiring.closeAll(opened);
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }
}
