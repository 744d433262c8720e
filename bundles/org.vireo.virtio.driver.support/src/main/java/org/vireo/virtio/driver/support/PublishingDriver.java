package org.vireo.virtio.driver.support;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/**
 * A driver whose every bound device becomes one service: probe opens the device, sets DRIVER_OK, starts it and
 * publishes it; remove withdraws the service before shutting the device down; configuration changes are passed on.
 *
 * @param <T> the per-device object, published through a {@link ServicePublisher} of one of its supertypes
 */
public abstract class PublishingDriver<T extends BoundDevice> implements VirtioDriver {
    private final ServicePublisher<? super T> publisher;
    private final Map<VirtioDriverDevice, Bound<T>> bound = new IdentityHashMap<>();

    private record Bound<T>(T instance, ServicePublisher.Published published) {}

    protected PublishingDriver(ServicePublisher<? super T> publisher) {
        this.publisher = publisher;
    }

    /** Negotiates features and sets up the queues of {@code device} (FEATURES_OK is already set). */
    protected abstract T open(VirtioDriverDevice device) throws Exception;

    /** Runs after {@code instance} was published for {@code device}: e.g. logs what was found. */
    protected void bound(VirtioDriverDevice device, T instance) {}

    @Override
    public final void probe(VirtioDriverDevice device) throws Exception {
        T instance = open(device);
        try {
            // Users may start I/O as soon as the service appears, so the device must be live first.
            device.setStatus(device.getStatus() | VirtioStatus.DRIVER_OK);
            instance.start();
            ServicePublisher.Published published = publisher.publish(device, instance);
            synchronized (bound) {
                bound.put(device, new Bound<>(instance, published));
            }
        } catch (Exception | Error e) {
            instance.shutdown();
            throw e;
        }
        bound(device, instance);
    }

    @Override
    public final void remove(VirtioDriverDevice device) {
        Bound<T> b;
        synchronized (bound) {
            b = bound.remove(device);
        }
        if (b == null) return;
        b.published().withdraw();   // users first, while their last requests can still complete
        b.instance().shutdown();
    }

    @Override
    public final void configChanged(VirtioDriverDevice device) {
        T instance = instance(device);
        if (instance != null) instance.configChanged();
    }

    /** The object bound to {@code device}, or null. */
    protected final T instance(VirtioDriverDevice device) {
        synchronized (bound) {
            Bound<T> b = bound.get(device);
            return b == null ? null : b.instance();
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
