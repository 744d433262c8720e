package org.vireo.virtio.driver.blk.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.blk.BlockDevice;
import org.vireo.virtio.blk.RawImage;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.testkit.transport.TransportRig;

/** The driver against the real virtio-blk device on a raw image, through virtio-mmio and virtio-pci. */
@RunWith(Parameterized.class)
public class BlkRoundTripTest {
    private static final int OK = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK;

    @Parameters(name = "{0}")
    public static List<Object[]> transports() { return TransportRig.TRANSPORTS; }

    @Parameter
    public String transport;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final List<VirtioBlockDisk> published = new ArrayList<>();
    private final BlkDriver driver = new BlkDriver((device, disk) -> {
        synchronized (published) {
            published.add(disk);
        }
        return () -> {
            synchronized (published) {
                published.remove(disk);
            }
        };
    });

    private Path image(long bytes) throws IOException {
        Path p = tmp.newFile("disk.img").toPath();
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return p;
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test(timeout = 120_000)
    public void severalMebibytesRoundTrip() throws Exception {
        Path path = image(16 << 20);
        try (RawImage raw = RawImage.open(path, false);
             TransportRig rig = new TransportRig(transport, new BlockDevice(raw, "serial-" + transport, "disk0"), "disk0")) {
            rig.bind(driver);
            assertEquals(BlkDriver.NAME, rig.binding().driver());
            assertEquals(OK, rig.binding().status());
            assertEquals(OK, rig.plugged.info().status());
            VirtioBlockDisk disk = published.getFirst();
            assertEquals(rig.driverSide.name(), disk.deviceName());
            assertEquals(32768, disk.capacitySectors());
            assertFalse(disk.readOnly());
            assertEquals("serial-" + transport, disk.serial());

            byte[] data = random(6 << 20, 42);
            disk.write(100, data, 0, data.length);
            disk.flush();
            byte[] back = new byte[data.length];
            disk.read(100, back, 0, back.length);
            assertArrayEquals(data, back);
            byte[] onFile = Files.readAllBytes(path);
            assertArrayEquals("the image file holds what was written", data, Arrays.copyOfRange(onFile, 100 * 512, 100 * 512 + data.length));

            disk.writeZeroes(100, 8);
            disk.read(100, back, 0, 8 * 512);
            assertArrayEquals(new byte[8 * 512], Arrays.copyOf(back, 8 * 512));
            disk.discard(200, 16);   // accepted; what discarded sectors read back as is the device's choice
            assertThrows(IOException.class, () -> disk.read(32767, new byte[1024], 0, 1024));

            rig.unbind();
            assertTrue(published.isEmpty());
            assertEquals("rings and buffers went back to the allocator", 0, rig.guestBytesHeld());
            assertEquals(VirtioStatus.ACKNOWLEDGE, rig.plugged.info().status());
            assertThrows(IOException.class, () -> disk.read(0, new byte[512], 0, 512));
        }
    }

    @Test(timeout = 120_000)
    public void concurrentCallersShareTheQueue() throws Exception {
        Path path = image(8 << 20);
        try (RawImage raw = RawImage.open(path, false);
             TransportRig rig = new TransportRig(transport, new BlockDevice(raw, "s", "disk0"), "disk0")) {
            rig.bind(driver);
            VirtioBlockDisk disk = published.getFirst();
            int callers = 6, region = 1 << 20;
            List<CompletableFuture<Void>> work = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int id = c;
                work.add(CompletableFuture.runAsync(() -> {
                    try {
                        byte[] mine = random(region, id);
                        long sector = (long) id * region / 512;
                        for (int round = 0; round < 3; round++) {
                            disk.write(sector, mine, 0, region);
                            byte[] back = new byte[region];
                            disk.read(sector, back, 0, region);
                            assertArrayEquals(mine, back);
                        }
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (CompletableFuture<Void> w : work) w.get(100, TimeUnit.SECONDS);
            rig.unbind();
            assertEquals(0, rig.guestBytesHeld());
        }
    }

    @Test(timeout = 60_000)
    public void aReadOnlyImageRefusesWrites() throws Exception {
        Path path = image(1 << 20);
        try (RawImage raw = RawImage.open(path, true);
             TransportRig rig = new TransportRig(transport, new BlockDevice(raw, "ro", "disk0"), "disk0")) {
            rig.bind(driver);
            VirtioBlockDisk disk = published.getFirst();
            assertTrue(disk.readOnly());
            assertThrows(IOException.class, () -> disk.write(0, new byte[512], 0, 512));
            disk.read(0, new byte[4096], 0, 4096);
        }
    }
}
