package org.vireo.virtio.driver.blk.impl;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.support.OsgiPublisher;

/** Registers the virtio-blk driver; each bound device becomes a {@link VirtioBlockDisk} service. */
@Component(immediate = true, service = VirtioDriver.class)
public final class BlkDriverComponent extends BlkDriver {
    @Activate
    public BlkDriverComponent(BundleContext context) {
        super(new OsgiPublisher<>(context, VirtioBlockDisk.class));
    }

    @Deactivate
    void deactivate() {
        removeAll();
    }
}
