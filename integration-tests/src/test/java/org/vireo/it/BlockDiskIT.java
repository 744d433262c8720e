package org.vireo.it;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;

/** virtio-blk through the whole stack: configuration → device → transport → bus → Java driver → VirtioBlockDisk. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BlockDiskIT extends VireoTestSupport {
    private static final long IMAGE_BYTES = 16L << 20;
    private static final int SECTOR = 512;

    /** A machine and one disk on it; returns the machine name. */
    private String machineWithDisk(String transport, Path image) throws Exception {
        String machine = uniqueName("m");
        machine(machine);
        device(BLK_PID, machine + "-disk", machine, transport, Map.of("path", image.toString()));
        return machine;
    }

    @Test
    public void aDriverInstalledAfterItsDeviceBindsIt() throws Exception {
        Bundle driver = installedBundle("org.vireo.virtio.driver.blk");
        driver.stop();
        try {
            Path image = image(uniqueName("late-driver"), IMAGE_BYTES);
            String machine = machineWithDisk("mmio", image);
            // The device is plugged and visible to drivers, but no driver is there to bind it.
            VirtioDriverDevice device = await(VirtioDriverDevice.class, machineFilter(machine));
            assertEquals("no disk without the driver", 0, context.getServiceReferences(VirtioBlockDisk.class, machineFilter(machine)).size());

            driver.start();
            VirtioBlockDisk disk = await(VirtioBlockDisk.class, machineFilter(machine));
            assertEquals(device.name(), disk.deviceName());
            assertEquals(IMAGE_BYTES / SECTOR, disk.capacitySectors());
            assertFalse(disk.readOnly());
        } finally {
            if (driver.getState() != Bundle.ACTIVE) driver.start();
        }
    }

    @Test
    public void stoppingTheDeviceBackendRemovesTheDiskAndStartingItRebinds() throws Exception {
        Path image = image(uniqueName("backend-restart"), IMAGE_BYTES);
        String machine = machineWithDisk("mmio", image);
        VirtioBlockDisk disk = await(VirtioBlockDisk.class, machineFilter(machine));
        byte[] sector = pattern(SECTOR, 7);
        disk.write(3, sector, 0, SECTOR);
        disk.flush();

        Bundle backend = installedBundle("org.vireo.virtio.blk");
        backend.stop();
        try {
            awaitAbsent(VirtioBlockDisk.class, machineFilter(machine));
        } finally {
            backend.start();
        }
        VirtioBlockDisk again = await(VirtioBlockDisk.class, machineFilter(machine));
        byte[] read = new byte[SECTOR];
        again.read(3, read, 0, SECTOR);
        assertArrayEquals("the rebound disk reads what was written before the restart", sector, read);
    }

    @Test
    public void eightMiBRoundTripOnMmio() throws Exception {
        roundTrip("mmio");
    }

    @Test
    public void eightMiBRoundTripOnPci() throws Exception {
        roundTrip("pci");
    }

    /**
     * 8 MiB of random data written at a 1 MiB offset by four threads in requests of varying sizes, read back through
     * the driver with a different request size, and compared with the host image file.
     */
    private void roundTrip(String transport) throws Exception {
        Path image = image(uniqueName("roundtrip-" + transport), IMAGE_BYTES);
        String machine = machineWithDisk(transport, image);
        VirtioBlockDisk disk = await(VirtioBlockDisk.class, machineFilter(machine) + "(virtio.transport=" + transport + ")");
        assertEquals(IMAGE_BYTES / SECTOR, disk.capacitySectors());

        int total = 8 << 20;
        long firstSector = (1 << 20) / SECTOR;
        byte[] data = new byte[total];
        new Random(0x5EED + transport.hashCode()).nextBytes(data);

        int regions = 4;
        int regionBytes = total / regions;
        ExecutorService writers = Executors.newFixedThreadPool(regions);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < regions; r++) {
                int start = r * regionBytes;
                int chunk = SECTOR * (8 << r); // 4 KiB, 8 KiB, 16 KiB, 32 KiB requests
                done.add(writers.submit(() -> {
                    for (int off = start; off < start + regionBytes; off += chunk) {
                        disk.write(firstSector + off / SECTOR, data, off, Math.min(chunk, start + regionBytes - off));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(2, TimeUnit.MINUTES);
        } finally {
            writers.shutdownNow();
        }
        disk.flush();

        byte[] readBack = new byte[total];
        int readChunk = 192 * 1024;
        for (int off = 0; off < total; off += readChunk) {
            disk.read(firstSector + off / SECTOR, readBack, off, Math.min(readChunk, total - off));
        }
        assertArrayEquals("read back through the driver", data, readBack);

        byte[] onHost = new byte[total];
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r")) {
            file.seek(firstSector * SECTOR);
            file.readFully(onHost);
        }
        assertArrayEquals("the host image file holds the data", data, onHost);
        byte[] before = new byte[SECTOR];
        disk.read(firstSector - 1, before, 0, SECTOR);
        assertArrayEquals("the sector before the range is untouched", new byte[SECTOR], before);
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
