package org.vireo.virtio.net;

import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class NetDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() {
        return new NetDevice(new byte[] {0x52, 0x54, 0, 0, 0, 1}, new LinkBackend("contract"), "net");
    }

    @Override
    protected void cleanUp(VirtioDevice device) { ((NetDevice) device).close(); }

    /** A transmit: completes at once, whether or not anyone reads the link. */
    @Override
    protected Request promptRequest() { return Request.of(NetDevice.TX, new byte[NetDevice.HEADER_SIZE + 60]); }
}
