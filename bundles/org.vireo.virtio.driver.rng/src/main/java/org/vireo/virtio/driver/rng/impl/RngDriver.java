package org.vireo.virtio.driver.rng.impl;

import java.util.List;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.driver.support.PublishingDriver;
import org.vireo.virtio.driver.support.ServicePublisher;

/** The Java virtio-rng driver: each bound device is published as a {@link VirtioEntropySource}. */
public class RngDriver extends PublishingDriver<EntropySource> {
    public static final String NAME = "virtio-rng";

    public RngDriver(ServicePublisher<VirtioEntropySource> publisher) {
        super(publisher);
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.RNG)); }

    @Override public long supportedFeatures() { return 0; }

    @Override
    protected EntropySource open(VirtioDriverDevice device) throws Exception {
        return new EntropySource(device);
    }

    /** The source bound to {@code device}, or null. */
    VirtioEntropySource source(VirtioDriverDevice device) {
        return instance(device);
    }
}
