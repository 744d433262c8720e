package org.vireo.virtio.driver.support;

/** What a {@link PublishingDriver} keeps for one bound device: the object it also publishes as the device's service. */
public interface BoundDevice {
    /** Runs once the device is live (DRIVER_OK), before the service is published: e.g. hands receive buffers over. */
    default void start() {}

    /** The device signalled a configuration change (which may be NEEDS_RESET). */
    void configChanged();

    /** Resets the device and releases what it held; requests still waiting fail. */
    void shutdown();
}
