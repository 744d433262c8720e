package org.vireo.virtio.driver.net.impl;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.driver.support.OsgiPublisher;

/** Registers the virtio-net driver; each bound device becomes a {@link VirtioNetInterface} service. */
@Component(immediate = true, service = VirtioDriver.class)
public final class NetDriverComponent extends NetDriver {
    @Activate
    public NetDriverComponent(BundleContext context) {
        super(new OsgiPublisher<>(context, VirtioNetInterface.class));
    }

    @Deactivate
    void deactivate() {
        removeAll();
    }
}
