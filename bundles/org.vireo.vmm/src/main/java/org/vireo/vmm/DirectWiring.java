package org.vireo.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.vireo.virtio.blk.BlockDevice;
import org.vireo.virtio.blk.RawImage;
import org.vireo.virtio.console.ConsoleBackend;
import org.vireo.virtio.console.ConsoleDevice;
import org.vireo.virtio.console.FileBackend;
import org.vireo.virtio.console.StdioBackend;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.fs.FsDevice;
import org.vireo.virtio.net.FrameBackend;
import org.vireo.virtio.net.MacAddress;
import org.vireo.virtio.net.NetDevice;
import org.vireo.virtio.net.TapBackend;
import org.vireo.virtio.net.slirp.SlirpBackend;
import org.vireo.virtio.net.slirp.UserNetConfig;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.rng.FileSource;
import org.vireo.virtio.rng.RngDevice;

/**
 * The devices of a run without OSGi (tests, {@link VmRunner#main}): each backend is built here from its bundle's
 * classes and plugged with {@link VirtioPci#plug} (or {@link VirtioMmio#plug}), in the order given, so disk0 takes the lowest slot. Inside the
 * framework {@link OsgiWiring} is used instead and these bundle-private classes are never loaded (the bundle imports
 * their packages optionally).
 */
final class DirectWiring implements MachineWiring {
    @Override
    public AutoCloseable wire(X86Machine machine, List<DeviceSpec> devices, String transport, RingLayout ring, OutputStream terminal) throws WiringException {
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            for (DeviceSpec spec : devices) {
                Created device = create(machine, spec, terminal);
                opened.add(device::close);
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

    /** A device and how to release its backend once unplugged. */
    private record Created(VirtioDevice device, AutoCloseable backend) {
        void close() throws Exception { backend.close(); }
    }

    private static Created create(X86Machine machine, DeviceSpec spec, OutputStream terminal) throws WiringException {
        try {
            return switch (spec) {
                case DeviceSpec.Disk d -> {
                    RawImage image = RawImage.open(d.image(), d.readOnly());
                    yield new Created(new BlockDevice(image, d.name(), d.name()), image);
                }
                case DeviceSpec.Net n -> {
                    FrameBackend backend = n.backend().startsWith("tap:")
                            ? TapBackend.open(n.backend().substring(4))
                            : SlirpBackend.open(UserNetConfig.parse(n.backend()));
                    NetDevice device = new NetDevice(MacAddress.derive(machine.name() + "/" + n.name()), backend, n.name());
                    yield new Created(device, device::close);
                }
                case DeviceSpec.Rng r -> {
                    RngDevice device = new RngDevice(new FileSource(java.nio.file.Path.of(DeviceSpec.Rng.SOURCE)), r.name());
                    yield new Created(device, device::close);
                }
                case DeviceSpec.Share f -> {
                    FsDevice device = new FsDevice(f.dir(), f.tag(), f.readOnly(), f.name());
                    yield new Created(device, device::close);
                }
                case DeviceSpec.Console c -> {
                    ConsoleBackend backend = c.file() != null ? new FileBackend(c.file()) : new StdioBackend(null, terminal, c.name());
                    ConsoleDevice device = new ConsoleDevice(backend, c.name());
                    yield new Created(device, device::close);
                }
            };
        } catch (IOException | IllegalArgumentException e) {
            throw new WiringException(spec.name() + ": " + e.getMessage(), e);
        }
    }
}
