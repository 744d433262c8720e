package org.vireo.virtio.driver.blk.impl;

import java.lang.System.Logger.Level;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;

/** The Java virtio-blk driver: one {@link BlkDisk} per bound device, published as a {@link VirtioBlockDisk}. */
public class BlkDriver implements VirtioDriver {
    public static final String NAME = "virtio-blk";
    private static final System.Logger LOG = System.getLogger(BlkDriver.class.getName());

    private final ServicePublisher<VirtioBlockDisk> publisher;
    private final Map<VirtioDriverDevice, Bound> bound = new IdentityHashMap<>();

    private record Bound(BlkDisk disk, ServicePublisher.Published published) {}

    public BlkDriver(ServicePublisher<VirtioBlockDisk> publisher) {
        this.publisher = publisher;
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.BLOCK)); }

    @Override public long supportedFeatures() { return BlkDisk.SUPPORTED_FEATURES; }

    @Override
    public void probe(VirtioDriverDevice device) throws Exception {
        BlkDisk disk = new BlkDisk(device);
        try {
            // Users may start I/O as soon as the service appears, so the device must be live first.
            device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK);
            ServicePublisher.Published published = publisher.publish(device, disk);
            synchronized (bound) {
                bound.put(device, new Bound(disk, published));
            }
        } catch (Exception | Error e) {
            disk.shutdown();
            throw e;
        }
        LOG.log(Level.INFO, () -> String.format("%s: %d sectors%s, block size %d, requests up to %d KiB", device.name(),
                disk.capacitySectors(), disk.readOnly() ? " read-only" : "", disk.blockSize(), disk.maxRequestBytes() >> 10));
    }

    @Override
    public void remove(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.remove(device);
        }
        if (b == null) return;
        b.published().withdraw();   // users first, while their last requests can still complete
        b.disk().shutdown();
    }

    @Override
    public void configChanged(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.get(device);
        }
        if (b != null) b.disk().configChanged();
    }

    /** The disk bound to {@code device}, or null. */
    VirtioBlockDisk disk(VirtioDriverDevice device) {
        synchronized (bound) {
            Bound b = bound.get(device);
            return b == null ? null : b.disk();
        }
    }

    /** Unbinds every device (the component is going away without the bus having removed them). */
    protected void removeAll() {
        List<VirtioDriverDevice> devices;
        synchronized (bound) {
            devices = List.copyOf(bound.keySet());
        }
        for (VirtioDriverDevice d : devices) remove(d);
    }
}
