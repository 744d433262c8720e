package org.vireo.virtio.driver.blk.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;

public class BlkDriverTest {
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
    private FakeBlkDevice device;

    @After
    public void tearDown() throws Exception {
        if (device != null) device.close();
    }

    private VirtioBlockDisk bind(FakeBlkDevice dev) throws Exception {
        device = dev;
        dev.negotiate(driver.supportedFeatures() | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC));
        driver.probe(dev);
        assertTrue("the driver sets DRIVER_OK before publishing", (dev.status & VirtioStatus.DRIVER_OK) != 0);
        assertEquals(1, published.size());
        return published.getFirst();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test(timeout = 60_000)
    public void largeTransfersAreSplitWithinTheDeviceLimits() throws Exception {
        FakeBlkDevice dev = new FakeBlkDevice(16384).offer(BlkDisk.F_SEG_MAX).offer(BlkDisk.F_SIZE_MAX);
        dev.config32.put(BlkDisk.CFG_SEG_MAX, 4);
        dev.config32.put(BlkDisk.CFG_SIZE_MAX, 8192);
        VirtioBlockDisk disk = bind(dev);
        long freeBefore = dev.allocator.freeBytes();

        byte[] data = random(3 << 20, 1);
        disk.write(5, data, 0, data.length);
        byte[] back = new byte[data.length];
        disk.read(5, back, 0, back.length);

        assertArrayEquals(data, back);
        assertArrayEquals(Arrays.copyOf(data, 4096), Arrays.copyOfRange(dev.disk, 5 * 512, 5 * 512 + 4096));
        assertEquals(2 * (3 << 20) / (4 * 8192), dev.dataSegmentsPerRequest.size());
        assertTrue(dev.dataSegmentsPerRequest.stream().allMatch(n -> n == 4));
        assertTrue("header + 4 segments + status", dev.queue.maxChainLength <= 6);
        assertEquals("every request buffer was freed", freeBefore, dev.allocator.freeBytes());
    }

    @Test(timeout = 60_000)
    public void withoutSegMaxEachRequestHasOneDataSegment() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(4096));
        byte[] data = random(1 << 20, 2);
        disk.write(0, data, 0, data.length);
        byte[] back = new byte[data.length];
        disk.read(0, back, 0, back.length);
        assertArrayEquals(data, back);
        assertTrue(device.dataSegmentsPerRequest.stream().allMatch(n -> n == 1));
        assertEquals(2 * (1 << 20) / BlkDisk.MAX_REQUEST_BYTES, device.dataSegmentsPerRequest.size());
    }

    @Test(timeout = 60_000)
    public void aFullRingMakesCallersWait() throws Exception {
        FakeBlkDevice dev = new FakeBlkDevice(2048);
        dev.queueMax = 4;           // 3 descriptors per request, no indirect: one request at a time
        dev.indirect = false;
        VirtioBlockDisk disk = bind(dev);
        byte[] data = random(1 << 20, 3);
        List<CompletableFuture<byte[]>> readers = new ArrayList<>();
        disk.write(0, data, 0, data.length);
        for (int t = 0; t < 4; t++) {
            int part = t;
            readers.add(CompletableFuture.supplyAsync(() -> {
                byte[] b = new byte[256 << 10];
                try {
                    disk.read(part * 512L, b, 0, b.length);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
                return b;
            }));
        }
        for (int t = 0; t < 4; t++) {
            assertArrayEquals(Arrays.copyOfRange(data, t * (256 << 10), (t + 1) * (256 << 10)), readers.get(t).get(30, TimeUnit.SECONDS));
        }
        assertEquals(3, dev.queue.maxChainLength);
    }

    @Test(timeout = 30_000)
    public void serialFlushAndStatusMapping() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(64).offer(BlkDisk.F_FLUSH));
        assertEquals("fake-serial", disk.serial());
        disk.flush();
        assertTrue(device.commands.contains(BlkDisk.T_FLUSH + "@0"));
        byte[] b = new byte[512];
        device.failWithStatus = BlkDisk.S_IOERR;
        assertTrue(assertThrows(IOException.class, () -> disk.read(0, b, 0, 512)).getMessage().contains("I/O error"));
        device.failWithStatus = BlkDisk.S_UNSUPP;
        assertTrue(assertThrows(IOException.class, () -> disk.flush()).getMessage().contains("not supported"));
        device.failWithStatus = 77;
        assertTrue(assertThrows(IOException.class, () -> disk.write(0, b, 0, 512)).getMessage().contains("status 77"));
    }

    @Test(timeout = 30_000)
    public void argumentsAndBoundsAreChecked() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(64));
        assertEquals(64, disk.capacitySectors());
        byte[] b = new byte[1024];
        assertThrows(IOException.class, () -> disk.read(63, b, 0, 1024));
        assertThrows(IOException.class, () -> disk.read(Long.MAX_VALUE, b, 0, 512));
        assertThrows(IllegalArgumentException.class, () -> disk.read(0, b, 0, 100));
        assertThrows(IndexOutOfBoundsException.class, () -> disk.read(0, b, 600, 512));
        disk.read(62, b, 0, 1024);   // the last two sectors are fine
        assertThrows(IOException.class, () -> disk.discard(0, 1));   // no DISCARD offered
    }

    @Test(timeout = 30_000)
    public void readOnlyDevicesRefuseWrites() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(64).offer(BlkDisk.F_RO));
        assertTrue(disk.readOnly());
        assertThrows(IOException.class, () -> disk.write(0, new byte[512], 0, 512));
        assertThrows(IOException.class, () -> disk.writeZeroes(0, 1));
        assertTrue(device.commands.isEmpty());
    }

    @Test(timeout = 30_000)
    public void discardAndWriteZeroesRespectTheirLimits() throws Exception {
        FakeBlkDevice dev = new FakeBlkDevice(1024).offer(BlkDisk.F_DISCARD).offer(BlkDisk.F_WRITE_ZEROES);
        dev.config32.put(BlkDisk.CFG_MAX_DISCARD_SECTORS, 100);
        VirtioBlockDisk disk = bind(dev);
        disk.discard(10, 250);
        assertEquals(List.of("range 10+100", "range 110+100", "range 210+50"), dev.commands.stream().filter(c -> c.startsWith("range")).toList());
        Arrays.fill(dev.disk, (byte) 7);
        disk.writeZeroes(1, 2);
        assertEquals(7, dev.disk[511]);
        assertEquals(0, dev.disk[512]);
        assertEquals(0, dev.disk[3 * 512 - 1]);
        assertEquals(7, dev.disk[3 * 512]);
    }

    @Test(timeout = 30_000)
    public void writeZeroesWithoutTheFeatureWritesZeroes() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(4096));
        Arrays.fill(device.disk, (byte) 9);
        disk.writeZeroes(3, 4000);
        assertEquals(9, device.disk[3 * 512 - 1]);
        for (int i = 3 * 512; i < 4003 * 512; i++) if (device.disk[i] != 0) fail("byte " + i + " not zeroed");
        assertEquals(9, device.disk[4003 * 512]);
    }

    @Test(timeout = 30_000)
    public void removeFailsRequestsInFlightAndFreesTheirMemory() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(4096));
        long freeBefore = device.allocator.freeBytes();
        device.hold = true;
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try {
                disk.read(0, new byte[1 << 20], 0, 1 << 20);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(device.firstHeld.await(30, TimeUnit.SECONDS));
        assertFalse(reader.isDone());

        driver.remove(device);

        ExecutionException failure = assertThrows(ExecutionException.class, () -> reader.get(30, TimeUnit.SECONDS));
        assertTrue(failure.getCause().getCause() instanceof IOException);
        assertTrue(failure.getCause().getCause().getMessage().contains("device removed"));
        assertTrue("the service was withdrawn", published.isEmpty());
        assertTrue("the device was reset before the buffers were freed", device.resets > 0);
        assertNull(device.queue);
        assertEquals(freeBefore, device.allocator.freeBytes());
        assertThrows(IOException.class, () -> disk.read(0, new byte[512], 0, 512));
        assertNull(driver.disk(device));
    }

    @Test(timeout = 30_000)
    public void needsResetFailsWhatIsInFlight() throws Exception {
        VirtioBlockDisk disk = bind(new FakeBlkDevice(64));
        device.hold = true;
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                disk.write(0, new byte[512], 0, 512);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(device.firstHeld.await(30, TimeUnit.SECONDS));
        device.status |= VirtioStatus.NEEDS_RESET;
        driver.configChanged(device);
        ExecutionException failure = assertThrows(ExecutionException.class, () -> writer.get(30, TimeUnit.SECONDS));
        assertTrue(failure.getCause().getCause().getMessage().contains("needs reset"));
        assertSame(disk, driver.disk(device));   // still bound until the bus removes it
    }

    @Test(timeout = 30_000)
    public void probeRefusesADeviceWithoutQueueRoom() throws Exception {
        FakeBlkDevice dev = new FakeBlkDevice(64);
        dev.queueMax = 2;
        device = dev;
        dev.negotiate(driver.supportedFeatures());
        assertThrows(Exception.class, () -> driver.probe(dev));
        assertTrue(published.isEmpty());
        assertNull(driver.disk(dev));
    }
}
