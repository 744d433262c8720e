package org.vireo.virtio.rng;

import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class RngDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() { return new RngDevice(new SecureRandomSource(), "rng"); }

    @Override
    protected void cleanUp(VirtioDevice device) { ((RngDevice) device).close(); }

    @Override
    protected Request promptRequest() { return Request.of(0, null, 64); }
}
