package org.vireo.virtio.testkit;

import org.vireo.virtio.device.VirtioDevice;

/** The contract suite against a device that handles notifications inline. */
public class EchoDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() { return new HarnessEchoDevice(false); }

    @Override
    protected Request promptRequest() { return Request.of(1, new byte[] {1, 2, 3}, 3); }
}
