package org.vireo.virtio.driver.console.impl;

import java.util.List;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.driver.support.PublishingDriver;
import org.vireo.virtio.driver.support.ServicePublisher;

/** The Java virtio-console driver: port 0 of each bound device, published as a {@link VirtioConsolePort}. */
public class ConsoleDriver extends PublishingDriver<ConsolePort> {
    public static final String NAME = "virtio-console";

    public ConsoleDriver(ServicePublisher<VirtioConsolePort> publisher) {
        super(publisher);
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.CONSOLE)); }

    /** No device-specific features: one port, no size or emergency write. */
    @Override public long supportedFeatures() { return 0; }

    @Override
    protected ConsolePort open(VirtioDriverDevice device) throws Exception {
        return new ConsolePort(device);
    }

    /** The port bound to {@code device}, or null. */
    VirtioConsolePort port(VirtioDriverDevice device) {
        return instance(device);
    }
}
