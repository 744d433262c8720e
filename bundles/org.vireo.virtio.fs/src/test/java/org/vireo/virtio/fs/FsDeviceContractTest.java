package org.vireo.virtio.fs;

import org.junit.Rule;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class FsDeviceContractTest extends VirtioDeviceContract {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @Override
    protected VirtioDevice newDevice() throws Exception {
        return new FsDevice(tmp.newFolder().toPath(), "share", false, "fs0");
    }

    @Override
    protected void cleanUp(VirtioDevice device) { ((FsDevice) device).close(); }

    /** An INIT: answered on the request queue whatever came before. */
    @Override
    protected Request promptRequest() {
        byte[] init = FuseClient.request(Fuse.INIT, 1, 0, FuseClient.args().u32(7).u32(38).u32(0).u32(0).bytes(new byte[48]).build());
        return Request.of(FsDevice.REQUEST_QUEUE, init, Fuse.OUT_HEADER + Fuse.INIT_OUT);
    }
}
