package org.vireo.virtio.driver.net.impl;

import java.lang.System.Logger.Level;
import java.util.HexFormat;
import java.util.List;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.driver.support.PublishingDriver;
import org.vireo.virtio.driver.support.ServicePublisher;

/** The Java virtio-net driver: one {@link NetInterface} per bound device, published as a {@link VirtioNetInterface}. */
public class NetDriver extends PublishingDriver<NetInterface> {
    public static final String NAME = "virtio-net";
    private static final System.Logger LOG = System.getLogger(NetDriver.class.getName());

    public NetDriver(ServicePublisher<VirtioNetInterface> publisher) {
        super(publisher);
    }

    @Override public String name() { return NAME; }

    @Override public List<VirtioDeviceId> idTable() { return List.of(VirtioDeviceId.of(VirtioIds.NET)); }

    @Override public long supportedFeatures() { return NetInterface.SUPPORTED_FEATURES; }

    @Override
    protected NetInterface open(VirtioDriverDevice device) throws Exception {
        return new NetInterface(device);
    }

    @Override
    protected void bound(VirtioDriverDevice device, NetInterface nic) {
        LOG.log(Level.INFO, () -> device.name() + ": mac " + HexFormat.ofDelimiter(":").formatHex(nic.mac()));
    }

    /** The interface bound to {@code device}, or null. */
    VirtioNetInterface nic(VirtioDriverDevice device) {
        return instance(device);
    }
}
