package org.vireo.virtio.driver.net.impl;

import java.lang.System.Logger.Level;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.net.VirtioNetInterface;

/** The Java virtio-net driver: one {@link NetInterface} per bound device, published as a {@link VirtioNetInterface}. */
public class NetDriver implements VirtioDriver {
    public static final String NAME = "virtio-net";
    private static final System.Logger LOG = System.getLogger(NetDriver.class.getName());

    private final ServicePublisher<VirtioNetInterface> publisher;
    private final Map<VirtioDriverDevice, Bound> bound = new IdentityHashMap<>();

    private record Bound(NetInterface nic, ServicePublisher.Published published) {}

    public NetDriver(ServicePublisher<VirtioNetInterface> publisher) {
        this.publisher = publisher;
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.NET)); }

    @Override public long supportedFeatures() { return NetInterface.SUPPORTED_FEATURES; }

    @Override
    public void probe(VirtioDriverDevice device) throws Exception {
        NetInterface nic = new NetInterface(device);
        try {
            device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK);
            nic.start();
            ServicePublisher.Published published = publisher.publish(device, nic);
            synchronized (bound) {
                bound.put(device, new Bound(nic, published));
            }
        } catch (Exception | Error e) {
            nic.shutdown();
            throw e;
        }
        LOG.log(Level.INFO, () -> device.name() + ": mac " + HexFormat.ofDelimiter(":").formatHex(nic.mac()));
    }

    @Override
    public void remove(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.remove(device);
        }
        if (b == null) return;
        b.published().withdraw();
        b.nic().shutdown();
    }

    @Override
    public void configChanged(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.get(device);
        }
        if (b != null) b.nic().configChanged();
    }

    /** The interface bound to {@code device}, or null. */
    VirtioNetInterface nic(VirtioDriverDevice device) {
        synchronized (bound) {
            Bound b = bound.get(device);
            return b == null ? null : b.nic();
        }
    }

    protected void removeAll() {
        List<VirtioDriverDevice> devices;
        synchronized (bound) {
            devices = List.copyOf(bound.keySet());
        }
        for (VirtioDriverDevice d : devices) remove(d);
    }
}
