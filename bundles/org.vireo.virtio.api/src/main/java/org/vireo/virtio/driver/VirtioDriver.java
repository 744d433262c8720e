package org.vireo.virtio.driver;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A Java virtio driver, registered as an OSGi service. The virtio bus matches it to devices by {@link #idTable()},
 * negotiates features, and calls {@link #probe} between FEATURES_OK and DRIVER_OK (the bus sets DRIVER_OK after a
 * successful probe, FAILED after a failed one).
 */
@ConsumerType
public interface VirtioDriver {
    String name();

    List<VirtioDeviceId> idTable();

    /** Feature bits the driver understands; the bus accepts {@code device & driver}, always with VERSION_1. */
    long supportedFeatures();

    /**
     * Binds to {@code device}: read config, find queues, post buffers. Queue kicks before DRIVER_OK are allowed by
     * the spec but the device only starts at DRIVER_OK, which the bus sets right after this returns.
     *
     * @throws Exception to refuse the device; the bus then sets FAILED and resets it
     */
    void probe(VirtioDriverDevice device) throws Exception;

    /** Unbinds: the device is going away or the driver is leaving. Stop using the queues; the bus resets the device. */
    void remove(VirtioDriverDevice device);

    /** The device raised a configuration change interrupt. */
    default void configChanged(VirtioDriverDevice device) {}
}
