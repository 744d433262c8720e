package org.vireo.virtio.driver.console.impl;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.console.VirtioConsolePort;

/** The Java virtio-console driver: port 0 of each bound device, published as a {@link VirtioConsolePort}. */
public class ConsoleDriver implements VirtioDriver {
    public static final String NAME = "virtio-console";

    private final ServicePublisher<VirtioConsolePort> publisher;
    private final Map<VirtioDriverDevice, Bound> bound = new IdentityHashMap<>();

    private record Bound(ConsolePort port, ServicePublisher.Published published) {}

    public ConsoleDriver(ServicePublisher<VirtioConsolePort> publisher) {
        this.publisher = publisher;
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.CONSOLE)); }

    /** No device-specific features: one port, no size or emergency write. */
    @Override public long supportedFeatures() { return 0; }

    @Override
    public void probe(VirtioDriverDevice device) throws Exception {
        ConsolePort port = new ConsolePort(device);
        try {
            device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK);
            port.start();
            ServicePublisher.Published published = publisher.publish(device, port);
            synchronized (bound) {
                bound.put(device, new Bound(port, published));
            }
        } catch (Exception | Error e) {
            port.shutdown();
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
        b.port().shutdown();
    }

    @Override
    public void configChanged(VirtioDriverDevice device) {
        Bound b;
        synchronized (bound) {
            b = bound.get(device);
        }
        if (b != null) b.port().configChanged();
    }

    /** The port bound to {@code device}, or null. */
    VirtioConsolePort port(VirtioDriverDevice device) {
        synchronized (bound) {
            Bound b = bound.get(device);
            return b == null ? null : b.port();
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
