package org.vireo.virtio.driver.blk.impl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioException;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.support.BoundDevice;
import org.vireo.virtio.driver.support.GuestBuffer;
import org.vireo.virtio.driver.support.RequestQueue;

/**
 * One bound virtio-blk device (virtio 1.x 5.2): a single request queue carrying header, data and status buffers in
 * guest RAM. Large transfers are split into requests within the device's segment limits and kept in flight
 * {@value #PIPELINE} at a time per caller.
 */
final class BlkDisk implements VirtioBlockDisk, BoundDevice {
    // Feature bits (5.2.3)
    static final int F_SIZE_MAX = 1, F_SEG_MAX = 2, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13, F_WRITE_ZEROES = 14;
    static final long SUPPORTED_FEATURES = VirtioFeatures.bit(F_SIZE_MAX) | VirtioFeatures.bit(F_SEG_MAX) | VirtioFeatures.bit(F_RO)
            | VirtioFeatures.bit(F_BLK_SIZE) | VirtioFeatures.bit(F_FLUSH) | VirtioFeatures.bit(F_DISCARD)
            | VirtioFeatures.bit(F_WRITE_ZEROES);
    // Config space offsets (5.2.4)
    static final int CFG_CAPACITY = 0, CFG_SIZE_MAX = 8, CFG_SEG_MAX = 12, CFG_BLK_SIZE = 20,
            CFG_MAX_DISCARD_SECTORS = 36, CFG_MAX_WRITE_ZEROES_SECTORS = 48;
    // Request types and status values (5.2.6)
    static final int T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
    static final int S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
    static final int HEADER_BYTES = 16, ID_BYTES = 20, RANGE_SEGMENT_BYTES = 16;

    /** Upper bound of one request's data, whatever the device allows: bounds guest RAM held per request. */
    static final int MAX_REQUEST_BYTES = 256 << 10;
    /** Requests one caller keeps in flight. */
    static final int PIPELINE = 8;
    private static final long U32_MAX = 0xffff_ffffL;

    private final VirtioDriverDevice device;
    private final GuestMemory memory;
    private final GuestAllocator allocator;
    private final long features;
    private final RequestQueue requests = new RequestQueue();
    private final long maxSegmentBytes;
    private final int maxRequestBytes;
    private final long maxDiscardSectors;
    private final long maxWriteZeroesSectors;
    private final int blockSize;
    private volatile long capacity;

    /** Reads the configuration and sets up the request queue. */
    BlkDisk(VirtioDriverDevice device) throws VirtioException {
        this.device = device;
        this.memory = device.memory();
        this.allocator = device.allocator();
        this.features = device.negotiatedFeatures();
        if (device.queueCount() < 1 || device.queueMaxSize(0) == 0) throw new VirtioException(device.name() + ": no request queue");
        capacity = device.readConfig64(CFG_CAPACITY);
        long sizeMax = has(F_SIZE_MAX) ? device.readConfig(CFG_SIZE_MAX, 4) & U32_MAX : 0;
        maxSegmentBytes = sizeMax == 0 ? Long.MAX_VALUE : sizeMax;
        long segMax = has(F_SEG_MAX) ? device.readConfig(CFG_SEG_MAX, 4) & U32_MAX : 0;
        blockSize = has(F_BLK_SIZE) ? device.readConfig(CFG_BLK_SIZE, 4) : SECTOR_SIZE;
        maxDiscardSectors = limit(has(F_DISCARD) ? device.readConfig(CFG_MAX_DISCARD_SECTORS, 4) & U32_MAX : 0);
        maxWriteZeroesSectors = limit(has(F_WRITE_ZEROES) ? device.readConfig(CFG_MAX_WRITE_ZEROES_SECTORS, 4) & U32_MAX : 0);

        Virtqueue queue = device.setupQueue(0, 0, requests::buffersUsed);
        requests.attach(queue);
        // A chain is header + data segments + status and may not be longer than the queue (2.7.5.3.1).
        long segments = Math.max(1, Math.min(segMax == 0 ? 1 : segMax, queue.size() - 2L));
        long bytes = Math.min(MAX_REQUEST_BYTES, segments * Math.min(maxSegmentBytes, MAX_REQUEST_BYTES));
        maxRequestBytes = (int) (bytes - bytes % SECTOR_SIZE);
        if (maxRequestBytes < SECTOR_SIZE || queue.size() < 3) {
            throw new VirtioException(device.name() + ": the device's limits leave no room for a sector per request (queue "
                    + queue.size() + ", seg_max " + segMax + ", size_max " + sizeMax + ")");
        }
    }

    private boolean has(int bit) {
        return VirtioFeatures.has(features, bit);
    }

    /** 0 in a limit field means "no limit" here; a request carries at most a 32-bit sector count anyway. */
    private static long limit(long fromConfig) {
        return fromConfig == 0 ? U32_MAX : fromConfig;
    }

    int maxRequestBytes() {
        return maxRequestBytes;
    }

    int blockSize() {
        return blockSize;
    }

    @Override public String deviceName() { return device.name(); }

    @Override public long capacitySectors() { return capacity; }

    @Override public boolean readOnly() { return has(F_RO); }

    @Override
    public void read(long sector, byte[] buf, int off, int len) throws IOException {
        transfer(false, sector, buf, off, len);
    }

    @Override
    public void write(long sector, byte[] buf, int off, int len) throws IOException {
        checkWritable();
        transfer(true, sector, buf, off, len);
    }

    @Override
    public void flush() throws IOException {
        if (!has(F_FLUSH)) {
            requests.ensureOpen();
            return;
        }
        finish(start(T_FLUSH, 0, 0, false, null, 0));
    }

    @Override
    public String serial() throws IOException {
        Pending p = start(T_GET_ID, 0, ID_BYTES, true, null, 0);
        byte[] id = new byte[ID_BYTES];
        finish(p, id, 0);
        int n = 0;
        while (n < id.length && id[n] != 0) n++;
        return new String(id, 0, n, StandardCharsets.ISO_8859_1);
    }

    @Override
    public void discard(long sector, long sectors) throws IOException {
        if (!has(F_DISCARD)) throw new IOException(device.name() + ": the device does not support discard");
        checkWritable();
        rangeCommand(T_DISCARD, sector, sectors, maxDiscardSectors);
    }

    @Override
    public void writeZeroes(long sector, long sectors) throws IOException {
        checkWritable();
        if (has(F_WRITE_ZEROES)) {
            rangeCommand(T_WRITE_ZEROES, sector, sectors, maxWriteZeroesSectors);
            return;
        }
        checkRange(sector, sectors);
        byte[] zeroes = new byte[(int) Math.min(sectors * SECTOR_SIZE, (long) PIPELINE * maxRequestBytes)];
        for (long done = 0; done < sectors; ) {
            int n = (int) Math.min(zeroes.length / SECTOR_SIZE, sectors - done);
            transfer(true, sector + done, zeroes, 0, n * SECTOR_SIZE);
            done += n;
        }
    }

    private void checkWritable() throws IOException {
        if (has(F_RO)) throw new IOException(device.name() + ": read-only device");
    }

    private void checkRange(long sector, long sectors) throws IOException {
        if (sector < 0 || sectors < 0) throw new IllegalArgumentException("negative sector or count");
        long cap = capacity;
        if (sector > cap || sectors > cap - sector) {
            throw new IOException(String.format("%s: sectors [%d, +%d) are beyond the end of the device (%d sectors)",
                    device.name(), sector, sectors, cap));
        }
    }

    /** Reads or writes in requests of at most maxRequestBytes, {@value #PIPELINE} in flight. */
    private void transfer(boolean write, long sector, byte[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len % SECTOR_SIZE != 0) throw new IllegalArgumentException("length " + len + " is not a multiple of " + SECTOR_SIZE);
        checkRange(sector, len / SECTOR_SIZE);
        ArrayDeque<Pending> window = new ArrayDeque<>();
        ArrayDeque<Integer> offsets = new ArrayDeque<>();
        int submitted = 0;
        try {
            while (submitted < len || !window.isEmpty()) {
                while (submitted < len && window.size() < PIPELINE) {
                    int n = Math.min(maxRequestBytes, len - submitted);
                    long at = sector + submitted / SECTOR_SIZE;
                    window.add(write ? start(T_OUT, at, n, false, buf, off + submitted) : start(T_IN, at, n, true, null, 0));
                    offsets.add(off + submitted);
                    submitted += n;
                }
                Pending p = window.poll();
                int to = offsets.poll();
                if (write) finish(p);
                else finish(p, buf, to);
            }
        } finally {
            for (Pending p : window) p.abandon();
        }
    }

    /** One range segment per request, each at most {@code maxSectors} long. */
    private void rangeCommand(int type, long sector, long sectors, long maxSectors) throws IOException {
        checkRange(sector, sectors);
        for (long done = 0; done < sectors; ) {
            long n = Math.min(maxSectors, sectors - done);
            byte[] segment = new byte[RANGE_SEGMENT_BYTES];
            putLong(segment, 0, sector + done);
            putInt(segment, 8, (int) n);
            putInt(segment, 12, 0);   // flags: no unmap requested for write-zeroes, reserved for discard
            finish(start(type, 0, RANGE_SEGMENT_BYTES, false, segment, 0));
            done += n;
        }
    }

    /** A request in flight: its guest buffer (data, then header, then status) and completion. */
    private record Pending(GuestBuffer buffer, long data, int dataLength, long status, CompletableFuture<Integer> used) {
        void abandon() {
            if (used.isDone()) buffer.free();
            else used.whenComplete((n, t) -> buffer.free());
        }
    }

    /**
     * Builds and queues one request. Data first, 512-aligned; the header and the status byte follow it. Out:
     * header (+ data for writes); in: (data for reads +) status, which is last as the device requires.
     */
    private Pending start(int type, long sector, int dataLength, boolean dataIn, byte[] src, int srcOff) throws IOException {
        int headerAt = (dataLength + 15) & ~15;
        GuestBuffer buffer = GuestBuffer.allocate(allocator, headerAt + HEADER_BYTES + 1, SECTOR_SIZE);
        try {
            long data = buffer.address(), header = data + headerAt, status = header + HEADER_BYTES;
            memory.writeInt(header, type);
            memory.writeInt(header + 4, 0);
            memory.writeLong(header + 8, sector);
            memory.writeByte(status, (byte) 0xff);   // a device that never writes the status is caught
            if (!dataIn && dataLength > 0) memory.write(data, src, srcOff, dataLength);
            List<GuestRange> out = new ArrayList<>(2);
            List<GuestRange> in = new ArrayList<>(2);
            out.add(new GuestRange(header, HEADER_BYTES));
            segments(dataIn ? in : out, data, dataLength);
            in.add(new GuestRange(status, 1));
            return new Pending(buffer, data, dataLength, status, requests.submit(out, in));
        } catch (IOException | RuntimeException e) {
            buffer.free();
            throw e;
        }
    }

    private void segments(List<GuestRange> into, long address, int length) {
        for (long done = 0; done < length; ) {
            long n = Math.min(maxSegmentBytes, length - done);
            into.add(new GuestRange(address + done, n));
            done += n;
        }
    }

    private void finish(Pending p) throws IOException {
        finish(p, null, 0);
    }

    /** Waits for {@code p}, maps its status, copies read data into {@code dst}, and frees its buffer. */
    private void finish(Pending p, byte[] dst, int dstOff) throws IOException {
        RequestQueue.await(p.used(), p.buffer());
        try {
            int status = memory.readByte(p.status()) & 0xff;
            switch (status) {
                case S_OK -> { }
                case S_IOERR -> throw new IOException(device.name() + ": I/O error");
                case S_UNSUPP -> throw new IOException(device.name() + ": request not supported by the device");
                default -> throw new IOException(device.name() + ": the device returned status " + status);
            }
            if (dst != null) memory.read(p.data(), dst, dstOff, p.dataLength());
        } finally {
            p.buffer().free();
        }
    }

    /** The device changed its configuration: capacity (resize) or NEEDS_RESET. */
    @Override
    public void configChanged() {
        if (requests.closeIfNeedsReset(device)) return;
        capacity = device.readConfig64(CFG_CAPACITY);
    }

    /** Stops accepting requests; after the device is reset, fails those in flight and releases the queue. */
    @Override
    public void shutdown() {
        requests.shutdown(device);
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) b[at + i] = (byte) (v >>> (8 * i));
    }
}
