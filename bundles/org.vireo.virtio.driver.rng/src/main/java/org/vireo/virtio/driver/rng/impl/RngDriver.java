package org.vireo.virtio.driver.rng.impl;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.rng.VirtioEntropySource;

/** The Java virtio-rng driver: each bound device is published as a {@link VirtioEntropySource}. */
public class RngDriver implements VirtioDriver {
    public static final String NAME = "virtio-rng";

    private final ServicePublisher<VirtioEntropySource> publisher;
    private final Map<VirtioDriverDevice, Bound> bound = new IdentityHashMap<>();

    private record Bound(EntropySource source, ServicePublisher.Published published) {}

    public RngDriver(ServicePublisher<VirtioEntropySource> publisher) {
        this.publisher = publisher;
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.RNG)); }

    @Override public long supportedFeatures() { return 0; }

    @Override
    public void probe(VirtioDriverDevice device) throws Exception {
        EntropySource source = new EntropySource(device);
        try {
            device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK);
            ServicePublisher.Published published = publisher.publish(device, source);
            synchronized (bound) {
                bound.put(device, new Bound(source, published));
            }
        } catch (Exception | Error e) {
            source.shutdown();
            throw e;
        }
    }

    @Override
    public void remove(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.remove(device);
        }
        if (b == null) return;
        b.published().withdraw();
        b.source().shutdown();
    }

    @Override
    public void configChanged(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.get(device);
        }
        if (b != null) b.source().configChanged();
    }

    /** The source bound to {@code device}, or null. */
    VirtioEntropySource source(VirtioDriverDevice device) {
        synchronized (bound) {
            Bound b = bound.get(device);
            return b == null ? null : b.source();
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
