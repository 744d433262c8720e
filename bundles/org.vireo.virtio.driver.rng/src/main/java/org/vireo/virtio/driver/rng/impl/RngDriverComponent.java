package org.vireo.virtio.driver.rng.impl;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.driver.support.OsgiPublisher;

/** Registers the virtio-rng driver; each bound device becomes a {@link VirtioEntropySource} service. */
@Component(immediate = true, service = VirtioDriver.class)
public final class RngDriverComponent extends RngDriver {
    @Activate
    public RngDriverComponent(BundleContext context) {
        super(new OsgiPublisher<>(context, VirtioEntropySource.class));
    }

    @Deactivate
    void deactivate() {
        removeAll();
    }
}
