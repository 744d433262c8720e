package org.vireo.virtio.driver.console.impl;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.driver.support.OsgiPublisher;

/** Registers the virtio-console driver; each bound device becomes a {@link VirtioConsolePort} service. */
@Component(immediate = true, service = VirtioDriver.class)
public final class ConsoleDriverComponent extends ConsoleDriver {
    @Activate
    public ConsoleDriverComponent(BundleContext context) {
        super(new OsgiPublisher<>(context, VirtioConsolePort.class));
    }

    @Deactivate
    void deactivate() {
        removeAll();
    }
}
