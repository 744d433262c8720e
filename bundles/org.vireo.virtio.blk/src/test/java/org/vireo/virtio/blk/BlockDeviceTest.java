package org.vireo.virtio.blk;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.VirtqueueException;

/** The block device's request handling on hand-made chains (no ring), including layouts a ring would refuse. */
public class BlockDeviceTest {
    private static final long ALL = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(BlockDevice.F_DISCARD)
            | VirtioFeatures.bit(BlockDevice.F_WRITE_ZEROES) | VirtioFeatures.bit(BlockDevice.F_FLUSH);

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @After
    public void closeAll() throws Exception {
        for (AutoCloseable c : closeables) c.close();
    }

    private Path image(int sectors) throws IOException {
        Path p = tmp.newFile().toPath();
        byte[] data = new byte[sectors * 512];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7 + i / 512);
        Files.write(p, data);
        return p;
    }

    private BlockDevice device(Path path, boolean readOnly) throws IOException {
        RawImage img = RawImage.open(path, readOnly);
        closeables.add(img);
        return new BlockDevice(img, "serial-123", "disk0");
    }

    private FakeQueueContext context(BlockDevice device, long features) {
        FakeQueueContext ctx = new FakeQueueContext(1 << 20, features);
        closeables.add(0, ctx);
        device.activate(ctx);
        return ctx;
    }

    private static byte[] header(int type, long sector) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(0).putLong(sector).array();
    }

    private GuestRange put(FakeQueueContext ctx, byte[] bytes) {
        GuestRange r = ctx.alloc(bytes.length);
        ctx.memory.write(r.address(), bytes, 0, bytes.length);
        return r;
    }

    private static byte[] expected(Path p, long offset, int len) throws IOException {
        return Arrays.copyOfRange(Files.readAllBytes(p), (int) offset, (int) offset + len);
    }

    private byte[] bytesOf(FakeQueueContext ctx, GuestRange... ranges) {
        int total = 0;
        for (GuestRange r : ranges) total += (int) r.length();
        byte[] out = new byte[total];
        int at = 0;
        for (GuestRange r : ranges) {
            ctx.memory.read(r.address(), out, at, (int) r.length());
            at += (int) r.length();
        }
        return out;
    }

    private int status(FakeQueueContext ctx, GuestRange statusRange) {
        return ctx.memory.readByte(statusRange.end() - 1) & 0xff;
    }

    @Test
    public void readsSectorsIntoScatteredBuffers() throws Exception {
        Path p = image(8);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange a = ctx.alloc(700), b = ctx.alloc(324), st = ctx.alloc(1);
        ctx.memory.writeByte(st.address(), (byte) 0x55);
        int head = ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_IN, 3))), List.of(a, b, st));
        dev.queueNotify(0);
        assertEquals(List.of(new FakeQueueContext.Used(head, 1025)), ctx.queue.used);
        assertEquals(BlockDevice.S_OK, status(ctx, st));
        assertArrayEquals(expected(p, 3 * 512, 1024), bytesOf(ctx, a, b));
        assertEquals(1, ctx.signals);
    }

    @Test
    public void statusByteMayShareTheLastDataBuffer() throws Exception {
        Path p = image(4);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange data = ctx.alloc(513);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_IN, 1))), List.of(data));
        dev.queueNotify(0);
        assertEquals(513, ctx.queue.used.get(0).length());
        assertEquals(BlockDevice.S_OK, status(ctx, data));
        assertArrayEquals(expected(p, 512, 512), Arrays.copyOf(bytesOf(ctx, data), 512));
    }

    @Test
    public void writesDataFollowingTheHeaderInOneBuffer() throws Exception {
        Path p = image(4);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        byte[] payload = new byte[1024];
        Arrays.fill(payload, 0, 512, (byte) 0xAB);
        Arrays.fill(payload, 512, 1024, (byte) 0xCD);
        byte[] headerAndFirst = new byte[16 + 300];
        System.arraycopy(header(BlockDevice.T_OUT, 2), 0, headerAndFirst, 0, 16);
        System.arraycopy(payload, 0, headerAndFirst, 16, 300);
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, headerAndFirst), put(ctx, Arrays.copyOfRange(payload, 300, 1024))), List.of(st));
        dev.queueNotify(0);
        assertEquals(1, ctx.queue.used.get(0).length());
        assertEquals(BlockDevice.S_OK, status(ctx, st));
        assertArrayEquals(payload, expected(p, 1024, 1024));
        assertArrayEquals("neighbouring sectors untouched", expected(image(4), 0, 1024), expected(p, 0, 1024));
    }

    @Test
    public void flushSucceeds() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange st = ctx.alloc(1);
        ctx.memory.writeByte(st.address(), (byte) 0x77);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_FLUSH, 0))), List.of(st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_OK, status(ctx, st));
        assertEquals(1, ctx.queue.used.get(0).length());
    }

    @Test
    public void getIdReturnsTheSerialPaddedToTwentyBytes() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange id = ctx.alloc(20), st = ctx.alloc(1);
        ctx.memory.fill(id.address(), 20, (byte) 0xFF);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_GET_ID, 0))), List.of(id, st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_OK, status(ctx, st));
        assertEquals(21, ctx.queue.used.get(0).length());
        assertArrayEquals(Arrays.copyOf("serial-123".getBytes(StandardCharsets.US_ASCII), 20), bytesOf(ctx, id));
    }

    @Test
    public void getIdTruncatesALongSerial() throws Exception {
        RawImage img = RawImage.open(image(1), true);
        closeables.add(img);
        BlockDevice dev = new BlockDevice(img, "0123456789abcdefghijKLMN", "d");
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange id = ctx.alloc(20), st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_GET_ID, 0))), List.of(id, st));
        dev.queueNotify(0);
        assertArrayEquals("0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII), bytesOf(ctx, id));
    }

    private byte[] segment(long sector, int sectors, int flags) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(sector).putInt(sectors).putInt(flags).array();
    }

    private int zeroRequest(BlockDevice dev, FakeQueueContext ctx, int type, byte[]... segments) {
        List<GuestRange> readable = new ArrayList<>();
        readable.add(put(ctx, header(type, 0)));
        for (byte[] s : segments) readable.add(put(ctx, s));
        GuestRange st = ctx.alloc(1);
        ctx.memory.writeByte(st.address(), (byte) 0x77);
        ctx.queue.add(readable, List.of(st));
        dev.queueNotify(0);
        assertEquals(1, ctx.queue.used.getLast().length());
        return status(ctx, st);
    }

    @Test
    public void discardAndWriteZeroesZeroTheRange() throws Exception {
        Path p = image(8);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        assertEquals(BlockDevice.S_OK, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, segment(1, 2, 0)));
        assertArrayEquals(new byte[1024], expected(p, 512, 1024));
        assertArrayEquals(expected(image(8), 0, 512), expected(p, 0, 512));
        assertArrayEquals(expected(image(8), 1536, 512), expected(p, 1536, 512));
        assertEquals(BlockDevice.S_OK, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(6, 2, 1)));
        assertArrayEquals(new byte[1024], expected(p, 6 * 512, 1024));
    }

    @Test
    public void discardAndWriteZeroesRejectBadSegments() throws Exception {
        Path p = image(8);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        assertEquals("two segments", BlockDevice.S_UNSUPP, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, segment(0, 1, 0), segment(2, 1, 0)));
        assertEquals("unmap on discard", BlockDevice.S_UNSUPP, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, segment(0, 1, 1)));
        assertEquals("unknown flag", BlockDevice.S_UNSUPP, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(0, 1, 2)));
        assertEquals("beyond capacity", BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(7, 2, 0)));
        assertEquals("huge sector", BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(-1L, 1, 0)));
        assertEquals("too many sectors", BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, segment(0, BlockDevice.MAX_DISCARD_SECTORS + 1, 0)));
        assertEquals("partial segment", BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, new byte[10]));
        assertEquals("no segment", BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_DISCARD));
        assertArrayEquals("nothing was zeroed", Files.readAllBytes(image(8)), Files.readAllBytes(p));
    }

    @Test
    public void discardIsUnsupportedWhenNotNegotiated() throws Exception {
        Path p = image(4);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, VirtioFeatures.bit(VirtioFeatures.VERSION_1));
        assertEquals(BlockDevice.S_UNSUPP, zeroRequest(dev, ctx, BlockDevice.T_DISCARD, segment(0, 1, 0)));
        assertEquals(BlockDevice.S_UNSUPP, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(0, 1, 0)));
        assertArrayEquals(Files.readAllBytes(image(4)), Files.readAllBytes(p));
    }

    @Test
    public void readOnlyDiskRefusesWritesAndOffersRo() throws Exception {
        Path p = image(4);
        BlockDevice dev = device(p, true);
        assertTrue(VirtioFeatures.has(dev.offeredFeatures(), BlockDevice.F_RO));
        assertFalse(VirtioFeatures.has(dev.offeredFeatures(), BlockDevice.F_DISCARD));
        assertFalse(VirtioFeatures.has(dev.offeredFeatures(), BlockDevice.F_WRITE_ZEROES));
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_OUT, 0)), put(ctx, new byte[512])), List.of(st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_IOERR, status(ctx, st));
        assertEquals(BlockDevice.S_IOERR, zeroRequest(dev, ctx, BlockDevice.T_WRITE_ZEROES, segment(0, 1, 0)));
        assertArrayEquals(Files.readAllBytes(image(4)), Files.readAllBytes(p));
        assertTrue(dev.describe(), dev.describe().endsWith(", 0 MiB, ro"));
    }

    private int readStatus(BlockDevice dev, FakeQueueContext ctx, long sector, int length) {
        GuestRange data = ctx.alloc(length + 1);
        ctx.memory.writeByte(data.end() - 1, (byte) 0x77);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_IN, sector))), List.of(data));
        dev.queueNotify(0);
        return status(ctx, data);
    }

    @Test
    public void outOfRangeSectorsFail() throws Exception {
        BlockDevice dev = device(image(4), false);
        FakeQueueContext ctx = context(dev, ALL);
        assertEquals(BlockDevice.S_OK, readStatus(dev, ctx, 3, 512));
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, 4, 512));
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, 3, 1024));
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, Long.MAX_VALUE, 512));
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, -1L, 512));
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, 0, 100));
        assertEquals("an error reports only the status byte", 1, ctx.queue.used.getLast().length());
    }

    @Test
    public void hugeLengthsFailWithoutTouchingMemory() throws Exception {
        BlockDevice dev = device(image(4), false);
        FakeQueueContext ctx = context(dev, ALL);
        // 5 GiB of "writable" ranges mostly outside guest memory: the device must judge lengths before any access.
        GuestRange st = ctx.alloc(1);
        List<GuestRange> writable = List.of(new GuestRange(1L << 40, 0xFFFF_FFFFL), new GuestRange(1L << 41, 0x4000_0000L), st);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_IN, 0))), writable);
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_IOERR, status(ctx, st));
        assertEquals(1, ctx.queue.used.get(0).length());
        assertNull(ctx.needsReset);
    }

    @Test
    public void missingStatusByteCompletesWithLengthZero() throws Exception {
        Path p = image(2);
        BlockDevice dev = device(p, false);
        FakeQueueContext ctx = context(dev, ALL);
        int head = ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_OUT, 0)), put(ctx, new byte[512])), List.of());
        dev.queueNotify(0);
        assertEquals(List.of(new FakeQueueContext.Used(head, 0)), ctx.queue.used);
        assertArrayEquals("a request that cannot report its status is not executed", Files.readAllBytes(image(2)), Files.readAllBytes(p));
    }

    @Test
    public void shortHeaderFails() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, Arrays.copyOf(header(BlockDevice.T_IN, 0), 8))), List.of(st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_IOERR, status(ctx, st));
        assertEquals(1, ctx.queue.used.get(0).length());
    }

    @Test
    public void headerInAWritableBufferFails() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        byte[] hdr = Arrays.copyOf(header(BlockDevice.T_IN, 0), 16 + 512 + 1);
        GuestRange all = put(ctx, hdr);
        ctx.queue.add(List.of(), List.of(all));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_IOERR, status(ctx, all));
        assertEquals(1, ctx.queue.used.get(0).length());
    }

    @Test
    public void unknownRequestTypeIsUnsupported() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(99, 0))), List.of(st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_UNSUPP, status(ctx, st));
    }

    @Test
    public void hostIoErrorBecomesIoerr() throws Exception {
        BlockBackend failing = new BlockBackend() {
            @Override public long capacitySectors() { return 8; }
            @Override public boolean readOnly() { return false; }
            @Override public void read(long position, ByteBuffer dst) throws IOException { throw new IOException("disk on fire"); }
            @Override public void write(long position, ByteBuffer src) throws IOException { throw new IOException("disk on fire"); }
            @Override public void writeZeroes(long position, long length) throws IOException { throw new IOException("disk on fire"); }
            @Override public void flush() throws IOException { throw new IOException("disk on fire"); }
            @Override public String location() { return "failing"; }
            @Override public void close() {}
        };
        BlockDevice dev = new BlockDevice(failing, "s", "d");
        FakeQueueContext ctx = context(dev, ALL);
        assertEquals(BlockDevice.S_IOERR, readStatus(dev, ctx, 0, 512));
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_FLUSH, 0))), List.of(st));
        dev.queueNotify(0);
        assertEquals(BlockDevice.S_IOERR, status(ctx, st));
        assertNull(ctx.needsReset);
        assertEquals(2, dev.failures());
    }

    @Test
    public void brokenRingAsksForResetAndStops() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        ctx.queue.failure = new VirtqueueException("loop");
        dev.queueNotify(0);
        assertNotNull(ctx.needsReset);
        ctx.queue.failure = null;
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_FLUSH, 0))), List.of(st));
        dev.queueNotify(0);
        assertTrue("stopped until reset", ctx.queue.used.isEmpty());
        dev.reset();
        dev.activate(ctx);
        dev.queueNotify(0);
        assertEquals(1, ctx.queue.used.size());
    }

    @Test
    public void resetStopsProcessing() throws Exception {
        BlockDevice dev = device(image(2), false);
        FakeQueueContext ctx = context(dev, ALL);
        dev.reset();
        GuestRange st = ctx.alloc(1);
        ctx.queue.add(List.of(put(ctx, header(BlockDevice.T_FLUSH, 0))), List.of(st));
        dev.queueNotify(0);
        assertTrue(ctx.queue.used.isEmpty());
    }

    @Test
    public void configSpaceDescribesTheDisk() throws Exception {
        BlockDevice dev = device(image(2048 + 3), false);
        assertEquals(2051, dev.readConfig(BlockDevice.CFG_CAPACITY, 4));
        assertEquals(0, dev.readConfig(BlockDevice.CFG_CAPACITY + 4, 4));
        assertEquals(BlockDevice.SEG_MAX, dev.readConfig(BlockDevice.CFG_SEG_MAX, 4));
        assertEquals(512, dev.readConfig(BlockDevice.CFG_BLK_SIZE, 4));
        assertEquals(BlockDevice.MAX_DISCARD_SECTORS, dev.readConfig(BlockDevice.CFG_MAX_DISCARD_SECTORS, 4));
        assertEquals(1, dev.readConfig(BlockDevice.CFG_MAX_DISCARD_SEG, 4));
        assertEquals(1, dev.readConfig(BlockDevice.CFG_DISCARD_SECTOR_ALIGNMENT, 4));
        assertEquals(BlockDevice.MAX_WRITE_ZEROES_SECTORS, dev.readConfig(BlockDevice.CFG_MAX_WRITE_ZEROES_SECTORS, 4));
        assertEquals(1, dev.readConfig(BlockDevice.CFG_MAX_WRITE_ZEROES_SEG, 4));
        assertEquals(0, dev.readConfig(BlockDevice.CFG_WRITE_ZEROES_MAY_UNMAP, 1));
        dev.writeConfig(BlockDevice.CFG_CAPACITY, 4, 7);
        assertEquals("config is read-only", 2051, dev.readConfig(BlockDevice.CFG_CAPACITY, 4));
        long f = dev.offeredFeatures();
        for (int bit : new int[] {BlockDevice.F_SEG_MAX, BlockDevice.F_BLK_SIZE, BlockDevice.F_FLUSH, BlockDevice.F_DISCARD, BlockDevice.F_WRITE_ZEROES}) {
            assertTrue("feature " + bit, VirtioFeatures.has(f, bit));
        }
        assertFalse(VirtioFeatures.has(f, BlockDevice.F_RO));
        assertTrue(dev.describe(), dev.describe().endsWith(", 1 MiB, rw"));
    }

    @Test
    public void imageInUseIsRefused() throws Exception {
        Path p = image(2);
        device(p, false);
        try {
            RawImage.open(p, false).close();
            throw new AssertionError("second writer opened the image");
        } catch (IOException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("in use"));
        }
    }
}
