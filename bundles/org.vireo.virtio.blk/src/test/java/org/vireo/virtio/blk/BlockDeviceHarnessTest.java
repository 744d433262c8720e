package org.vireo.virtio.blk;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;

/** virtio-blk through real split rings driven by the testkit's mock driver. */
public class BlockDeviceHarnessTest {
    private static final long TIMEOUT = 10;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private RawImage image;
    private DeviceHarness harness;

    @After
    public void tearDown() throws IOException {
        if (harness != null) harness.close();
        if (image != null) image.close();
    }

    private static byte[] pattern(int sectors) {
        byte[] data = new byte[sectors * 512];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 13 + i / 512);
        return data;
    }

    private Path start(int sectors, boolean readOnly) throws IOException {
        Path p = tmp.newFile().toPath();
        Files.write(p, pattern(sectors));
        image = RawImage.open(p, readOnly);
        harness = DeviceHarness.activated(new BlockDevice(image, "vireo-disk-7", "disk0"));
        return p;
    }

    private static byte[] header(int type, long sector) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(0).putLong(sector).array();
    }

    private static byte[] segment(long sector, int sectors, int flags) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putInt(sectors).putInt(flags).array();
    }

    private Completion request(List<byte[]> out, int... in) throws InterruptedException {
        Completion c = harness.roundTrip(0, out, in, TIMEOUT, TimeUnit.SECONDS);
        assertNotNull("request completed", c);
        return c;
    }

    private static int status(Completion c) {
        return c.in()[c.in().length - 1] & 0xff;
    }

    /**
     * Issue 18: on IOERR and UNSUPP the status byte, the last writable byte, lies beyond the used length; it must
     * still be reported as a device write, or a CPU could run stale code decoded from the page that holds it.
     */
    @Test
    public void theStatusByteIsReportedAsADeviceWriteWhateverTheStatus() throws Exception {
        start(16, false);
        java.util.List<org.vireo.memory.GuestRange> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
        harness.memory().setDeviceWriteObserver((address, length) -> reported.add(new org.vireo.memory.GuestRange(address, length)));
        int[][] cases = {{99, 0}, {BlockDevice.T_IN, 1000}, {BlockDevice.T_GET_ID, 0}};   // UNSUPP, IOERR (beyond the disk), OK
        int[] expected = {BlockDevice.S_UNSUPP, BlockDevice.S_IOERR, BlockDevice.S_OK};
        for (int i = 0; i < cases.length; i++) {
            reported.clear();
            DeviceHarness.Token t = harness.submit(0, List.of(header(cases[i][0], cases[i][1])), 512, 1);
            harness.kick(0);
            Completion c = harness.awaitUsed(0, TIMEOUT, TimeUnit.SECONDS);
            assertNotNull(c);
            assertEquals(expected[i], status(c));
            long statusAddress = t.in().get(1).address();
            assertTrue("status byte at 0x" + Long.toHexString(statusAddress) + " not in " + reported,
                    reported.stream().anyMatch(r -> r.address() <= statusAddress && statusAddress < r.address() + r.length()));
        }
    }

    @Test
    public void readReturnsTheImageBytes() throws Exception {
        start(16, false);
        Completion c = request(List.of(header(BlockDevice.T_IN, 5)), 1024, 512, 1);
        assertEquals(BlockDevice.S_OK, status(c));
        assertEquals(1537, c.length());
        assertArrayEquals(Arrays.copyOfRange(pattern(16), 5 * 512, 8 * 512), Arrays.copyOf(c.in(), 1536));
        assertTrue(harness.signals(0) > 0);
    }

    @Test
    public void writeThenReadBack() throws Exception {
        Path p = start(16, false);
        byte[] data = new byte[2048];
        Arrays.fill(data, (byte) 0x5A);
        Completion w = request(List.of(header(BlockDevice.T_OUT, 7), Arrays.copyOf(data, 1000), Arrays.copyOfRange(data, 1000, 2048)), 1);
        assertEquals(BlockDevice.S_OK, status(w));
        assertEquals(1, w.length());
        byte[] file = Files.readAllBytes(p);
        assertArrayEquals(data, Arrays.copyOfRange(file, 7 * 512, 11 * 512));
        assertArrayEquals(Arrays.copyOf(pattern(16), 7 * 512), Arrays.copyOf(file, 7 * 512));
        Completion r = request(List.of(header(BlockDevice.T_IN, 7)), 2048, 1);
        assertArrayEquals(data, Arrays.copyOf(r.in(), 2048));
    }

    @Test
    public void flushAndGetId() throws Exception {
        start(4, false);
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_FLUSH, 0)), 1)));
        Completion id = request(List.of(header(BlockDevice.T_GET_ID, 0)), 20, 1);
        assertEquals(BlockDevice.S_OK, status(id));
        assertEquals(21, id.length());
        assertArrayEquals(Arrays.copyOf("vireo-disk-7".getBytes(StandardCharsets.US_ASCII), 20), Arrays.copyOf(id.in(), 20));
    }

    @Test
    public void discardAndWriteZeroes() throws Exception {
        Path p = start(16, false);
        assertTrue(VirtioFeatures.has(harness.features(), BlockDevice.F_DISCARD));
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_DISCARD, 0), segment(2, 3, 0)), 1)));
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_WRITE_ZEROES, 0), segment(10, 1, 1)), 1)));
        byte[] expected = pattern(16);
        Arrays.fill(expected, 2 * 512, 5 * 512, (byte) 0);
        Arrays.fill(expected, 10 * 512, 11 * 512, (byte) 0);
        assertArrayEquals(expected, Files.readAllBytes(p));
        assertEquals(BlockDevice.S_UNSUPP, status(request(List.of(header(BlockDevice.T_DISCARD, 0), segment(0, 1, 0), segment(4, 1, 0)), 1)));
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_WRITE_ZEROES, 0), segment(15, 2, 0)), 1)));
        assertArrayEquals(expected, Files.readAllBytes(p));
    }

    @Test
    public void readOnlyDiskRejectsWrites() throws Exception {
        Path p = start(4, true);
        assertTrue(VirtioFeatures.has(harness.features(), BlockDevice.F_RO));
        assertFalse(VirtioFeatures.has(harness.features(), BlockDevice.F_WRITE_ZEROES));
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_OUT, 0), new byte[512]), 1)));
        assertEquals("not offered on a read-only disk", BlockDevice.S_UNSUPP, status(request(List.of(header(BlockDevice.T_DISCARD, 0), segment(0, 1, 0)), 1)));
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_IN, 0)), 512, 1)));
        assertArrayEquals(pattern(4), Files.readAllBytes(p));
    }

    @Test
    public void outOfRangeSectorIsAnIoError() throws Exception {
        start(4, false);
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_IN, 4)), 512, 1)));
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_IN, 3)), 1024, 1)));
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_OUT, -2L), new byte[1024]), 1)));
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_IN, 3)), 512, 1)));
        assertTrue(harness.needsResetReasons().isEmpty());
    }

    @Test
    public void missingStatusByteCompletesWithLengthZero() throws Exception {
        Path p = start(4, false);
        Completion c = request(List.of(header(BlockDevice.T_OUT, 0), new byte[512]));
        assertEquals(0, c.length());
        assertArrayEquals(pattern(4), Files.readAllBytes(p));
        // The device keeps serving.
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_FLUSH, 0)), 1)));
    }

    @Test
    public void statusSharingTheDataBufferShortensTheDataAndFails() throws Exception {
        start(4, false);
        // 512 writable bytes in all: the last is the status, leaving 511 for data, which is not whole sectors.
        Completion c = request(List.of(header(BlockDevice.T_IN, 0)), 512);
        assertEquals(BlockDevice.S_IOERR, status(c));
        assertEquals(1, c.length());
    }

    @Test
    public void headerInAWritableBufferFails() throws Exception {
        start(4, false);
        Completion c = request(List.of(), 16, 512, 1);
        assertEquals(BlockDevice.S_IOERR, status(c));
        assertEquals(1, c.length());
    }

    @Test
    public void hugeLengthsFail() throws Exception {
        start(4, false);
        // 8 MiB read of a 2 KiB disk, and an 8 MiB write: refused before any I/O.
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_IN, 0)), 8 << 20, 1)));
        assertEquals(BlockDevice.S_IOERR, status(request(List.of(header(BlockDevice.T_OUT, 0), new byte[8 << 20]), 1)));
        assertTrue(harness.needsResetReasons().isEmpty());
    }

    @Test
    public void descriptorBeyondGuestMemoryBreaksTheQueueNotTheDevice() throws Exception {
        start(4, false);
        // A 4 GiB - 1 descriptor: the ring refuses it; the device asks for a reset and stops.
        harness.writeRawDescriptor(0, 0, 0x1000, 0xFFFF_FFFFL, 0, 0);
        harness.publishRawHead(0, 0);
        harness.notifyDevice(0);
        assertTrue(harness.awaitNeedsReset(TIMEOUT, TimeUnit.SECONDS));
        harness.reset();
        harness.activate();
        assertEquals(BlockDevice.S_OK, status(request(List.of(header(BlockDevice.T_FLUSH, 0)), 1)));
        assertEquals(0, harness.staleCalls());
    }
}
