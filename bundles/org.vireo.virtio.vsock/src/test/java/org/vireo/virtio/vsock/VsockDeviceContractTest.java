package org.vireo.virtio.vsock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class VsockDeviceContractTest extends VirtioDeviceContract {
    private Path dir;

    @Override
    protected VirtioDevice newDevice() throws IOException {
        dir = Files.createTempDirectory("vsock-contract");
        return VsockDevice.open(dir.resolve("v.sock"), FakeGuest.CID, "vsock");
    }

    @Override
    protected void cleanUp(VirtioDevice device) throws IOException {
        ((VsockDevice) device).close();
        Files.deleteIfExists(dir);
    }

    /** A REQUEST to a host port nobody listens on: the transmit chain is used at once (the RST waits for a receive buffer). */
    @Override
    protected Request promptRequest() {
        return Request.of(VsockDevice.TX, FakeGuest.header(1000, 4242, VsockHeader.OP_REQUEST, 0, 0, 65536, 0).encode());
    }
}
