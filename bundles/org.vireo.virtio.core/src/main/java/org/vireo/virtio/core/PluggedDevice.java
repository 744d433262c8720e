package org.vireo.virtio.core;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.driver.VirtioDriverDevice;

/** A device plugged into a machine by a transport ({@code VirtioMmio.plug}, {@code VirtioPci.plug}). */
@ProviderType
public interface PluggedDevice extends AutoCloseable {
    /** The device-side view: status, features, queues. */
    VirtioTransportInfo info();

    /** The driver side of the transport, present when the machine has a Java guest. */
    Optional<VirtioDriverDevice> driverSide();

    /** Unplugs: the driver side first, then the device side (registers, interrupts); the device is reset. Idempotent. */
    @Override
    void close();

    /**
     * The plug both transports hand out: {@code close()} closes {@code driverSide} (may be null: no Java guest), then
     * runs {@code unplug} for the device side, once.
     */
    static PluggedDevice of(VirtioTransportInfo info, DriverSideDevice driverSide, Runnable unplug) {
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        return new PluggedDevice() {
            @Override public VirtioTransportInfo info() { return info; }

            @Override public Optional<VirtioDriverDevice> driverSide() { return Optional.ofNullable(driverSide); }

            @Override
            public void close() {
                if (!closed.compareAndSet(false, true)) return;
                try {
                    if (driverSide != null) driverSide.close();
                } finally {
                    unplug.run();
                }
            }

            @Override public String toString() { return info.toString(); }
        };
    }
}
