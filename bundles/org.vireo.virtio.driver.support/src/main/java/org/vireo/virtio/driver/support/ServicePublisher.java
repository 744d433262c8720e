package org.vireo.virtio.driver.support;

import org.vireo.virtio.driver.VirtioDriverDevice;

/** Makes a driver's per-device service visible (an OSGi registration in the bundle, a list in tests). */
@FunctionalInterface
public interface ServicePublisher<S> {
    /** @return what withdraws the service again */
    Published publish(VirtioDriverDevice device, S service);

    /** A published service. */
    @FunctionalInterface
    interface Published {
        /** Unregisters the service. */
        void withdraw();
    }
}
