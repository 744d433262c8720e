package org.vireo.virtio.console;

import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class ConsoleDeviceContractTest extends VirtioDeviceContract {
    @Override
    protected VirtioDevice newDevice() { return new ConsoleDevice(new LinkBackend("contract"), "console"); }

    @Override
    protected void cleanUp(VirtioDevice device) { ((ConsoleDevice) device).close(); }

    /** Guest output: completes at once, whether or not anyone reads the link. */
    @Override
    protected Request promptRequest() { return Request.of(ConsoleDevice.TX, "x".getBytes()); }
}
