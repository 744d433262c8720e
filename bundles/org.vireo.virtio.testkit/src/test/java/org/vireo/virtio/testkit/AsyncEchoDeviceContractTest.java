package org.vireo.virtio.testkit;

import org.vireo.virtio.device.VirtioDevice;

/** The contract suite against a device that serves its queues on a worker thread. */
public class AsyncEchoDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() { return new HarnessEchoDevice(true); }

    @Override
    protected Request promptRequest() { return Request.of(0, new byte[] {9, 8}, 1, 1); }

    @Override
    protected DeviceHarness.Builder configure(DeviceHarness.Builder builder) {
        return builder.eventIdx(false).indirect(false).queueSize(16);
    }
}
