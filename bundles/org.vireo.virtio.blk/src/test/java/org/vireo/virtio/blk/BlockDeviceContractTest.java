package org.vireo.virtio.blk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.testkit.VirtioDeviceContract;

public class BlockDeviceContractTest extends VirtioDeviceContract {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @Override
    protected VirtioDevice newDevice() throws Exception {
        Path p = tmp.newFile().toPath();
        Files.write(p, new byte[64 * 512]);
        return new BlockDevice(RawImage.open(p, false), "contract", "disk");
    }

    @Override
    protected void cleanUp(VirtioDevice device) throws Exception { ((BlockDevice) device).backend().close(); }

    /** Read sector 0. */
    @Override
    protected Request promptRequest() {
        byte[] header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(BlockDevice.T_IN).putInt(0).putLong(0).array();
        return Request.of(0, header, 512, 1);
    }
}
