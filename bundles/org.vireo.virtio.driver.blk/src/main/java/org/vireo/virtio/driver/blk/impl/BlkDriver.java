package org.vireo.virtio.driver.blk.impl;

import java.lang.System.Logger.Level;
import java.util.List;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.support.PublishingDriver;
import org.vireo.virtio.driver.support.ServicePublisher;

/** The Java virtio-blk driver: one {@link BlkDisk} per bound device, published as a {@link VirtioBlockDisk}. */
public class BlkDriver extends PublishingDriver<BlkDisk> {
    public static final String NAME = "virtio-blk";
    private static final System.Logger LOG = System.getLogger(BlkDriver.class.getName());

    public BlkDriver(ServicePublisher<VirtioBlockDisk> publisher) {
        super(publisher);
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.BLOCK)); }

    @Override public long supportedFeatures() { return BlkDisk.SUPPORTED_FEATURES; }

    @Override
    protected BlkDisk open(VirtioDriverDevice device) throws Exception {
        return new BlkDisk(device);
    }

    @Override
    protected void bound(VirtioDriverDevice device, BlkDisk disk) {
        LOG.log(Level.INFO, () -> String.format("%s: %d sectors%s, block size %d, requests up to %d KiB", device.name(),
                disk.capacitySectors(), disk.readOnly() ? " read-only" : "", disk.blockSize(), disk.maxRequestBytes() >> 10));
    }

    /** The disk bound to {@code device}, or null. */
    VirtioBlockDisk disk(VirtioDriverDevice device) {
        return instance(device);
    }
}
