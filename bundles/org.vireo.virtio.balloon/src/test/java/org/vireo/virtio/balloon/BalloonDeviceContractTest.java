package org.vireo.virtio.balloon;

import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class BalloonDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() { return new BalloonDevice("balloon", 0, false); }

    /** An inflate of one page outside guest RAM: skipped with a warning, and the buffer comes back at once. */
    @Override
    protected Request promptRequest() { return Request.of(0, new byte[] {0, 0, 0, 0x7f}); }
}
