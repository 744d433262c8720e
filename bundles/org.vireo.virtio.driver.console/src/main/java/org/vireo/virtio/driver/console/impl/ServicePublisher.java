package org.vireo.virtio.driver.console.impl;

import org.vireo.virtio.driver.VirtioDriverDevice;

/** Makes a driver's per-device service visible (an OSGi registration in the bundle, a list in tests). */
@FunctionalInterface
public interface ServicePublisher<S> {
    /** @return what withdraws the service again */
    Published publish(VirtioDriverDevice device, S service);

    @FunctionalInterface
    interface Published {
        void withdraw();
    }
}
