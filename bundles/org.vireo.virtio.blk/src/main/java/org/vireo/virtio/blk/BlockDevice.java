package org.vireo.virtio.blk;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestMemoryException;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.RateLimitedLog;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;

/**
 * virtio-blk (virtio 1.x 5.2) with one request queue over a {@link BlockBackend}. Requests run on the thread that
 * notifies the queue; data moves between the backend and zero-copy slices of guest memory.
 * <p>
 * Every request is judged by its byte layout, not by how the driver split it into descriptors: the first 16
 * readable bytes are the header, the last writable byte is the status, and what lies between is the data.
 */
public final class BlockDevice implements VirtioDevice {
    public static final int F_SEG_MAX = 2;
    public static final int F_RO = 5;
    public static final int F_BLK_SIZE = 6;
    public static final int F_FLUSH = 9;
    public static final int F_DISCARD = 13;
    public static final int F_WRITE_ZEROES = 14;

    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;

    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    /** virtio_blk_config offsets (5.2.4). */
    public static final int CFG_CAPACITY = 0;
    public static final int CFG_SEG_MAX = 12;
    public static final int CFG_BLK_SIZE = 20;
    public static final int CFG_MAX_DISCARD_SECTORS = 36;
    public static final int CFG_MAX_DISCARD_SEG = 40;
    public static final int CFG_DISCARD_SECTOR_ALIGNMENT = 44;
    public static final int CFG_MAX_WRITE_ZEROES_SECTORS = 48;
    public static final int CFG_MAX_WRITE_ZEROES_SEG = 52;
    public static final int CFG_WRITE_ZEROES_MAY_UNMAP = 56;
    /** Up to and including unused1[3] after write_zeroes_may_unmap; secure erase and zoned fields are not offered. */
    public static final int CONFIG_SIZE = 60;

    public static final int QUEUE_SIZE = 256;
    public static final int SEG_MAX = QUEUE_SIZE - 2;
    public static final int HEADER_SIZE = 16;
    public static final int ID_BYTES = 20;
    public static final int DISCARD_SEGMENT_SIZE = 16;
    /** 16 MiB per discard or write-zeroes request: bounded work per request on the notifying thread. */
    public static final int MAX_DISCARD_SECTORS = 32768;
    public static final int MAX_WRITE_ZEROES_SECTORS = 32768;
    /** Largest data part of a read or write; larger requests fail with IOERR (keeps used lengths in range). */
    public static final long MAX_DATA_BYTES = 1L << 30;
    private static final int FLAG_UNMAP = 1;
    /** ByteBuffers over guest memory are limited to int sizes; larger guest ranges are moved in pieces. */
    private static final long MAX_CHUNK = 1L << 30;

    private static final System.Logger LOG = System.getLogger(BlockDevice.class.getName());

    private final BlockBackend backend;
    private final byte[] serial;
    private final String name;
    private final ConfigSpace config = new ConfigSpace(CONFIG_SIZE);
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final RateLimitedLog log = new RateLimitedLog(LOG);
    /** The driver's view while DRIVER_OK: cleared by reset, stopped after a broken ring. */
    private final ActivationGuard activations;

    /**
     * @param serial the GET_ID answer; at most 20 bytes of its UTF-8 encoding are used
     * @param name   the device's name, for log messages
     */
    public BlockDevice(BlockBackend backend, String serial, String name) {
        this.backend = backend;
        this.name = name;
        this.activations = new ActivationGuard(LOG, "virtio-blk " + name, lock);
        byte[] s = serial.getBytes(StandardCharsets.UTF_8);
        this.serial = java.util.Arrays.copyOf(s, Math.min(s.length, ID_BYTES));
        config.put64(CFG_CAPACITY, backend.capacitySectors());
        config.put32(CFG_SEG_MAX, SEG_MAX);
        config.put32(CFG_BLK_SIZE, BlockBackend.SECTOR_SIZE);
        if (!backend.readOnly()) {
            config.put32(CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS);
            config.put32(CFG_MAX_DISCARD_SEG, 1);
            config.put32(CFG_DISCARD_SECTOR_ALIGNMENT, 1);
            config.put32(CFG_MAX_WRITE_ZEROES_SECTORS, MAX_WRITE_ZEROES_SECTORS);
            config.put32(CFG_MAX_WRITE_ZEROES_SEG, 1);
            config.put8(CFG_WRITE_ZEROES_MAY_UNMAP, 0);
        }
    }

    public BlockBackend backend() { return backend; }

    /** Requests completed, and those completed with a status other than OK. */
    public long requests() { return requests.get(); }

    public long failures() { return failures.get(); }

    @Override public int deviceId() { return VirtioIds.BLOCK; }

    @Override
    public long offeredFeatures() {
        long f = VirtioFeatures.bit(F_SEG_MAX) | VirtioFeatures.bit(F_BLK_SIZE) | VirtioFeatures.bit(F_FLUSH);
        // A read-only disk offers RO and nothing that would write.
        return backend.readOnly() ? f | VirtioFeatures.bit(F_RO)
                : f | VirtioFeatures.bit(F_DISCARD) | VirtioFeatures.bit(F_WRITE_ZEROES);
    }

    @Override public int queueCount() { return 1; }

    @Override public int queueMaxSize(int index) { return index == 0 ? QUEUE_SIZE : 0; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override public int readConfig(int offset, int size) { return config.read(offset, size); }

    @Override public void writeConfig(int offset, int size, int value) { /* every field is read-only */ }

    @Override
    public void activate(VirtioDeviceContext context) {
        activations.activate(context);
    }

    @Override
    public void reset() {
        // Waits for a request in flight on another thread: after reset returns, no queue is touched.
        activations.reset();
    }

    @Override
    public String describe() {
        long mib = backend.capacitySectors() * BlockBackend.SECTOR_SIZE >> 20;
        return backend.location() + ", " + mib + " MiB, " + (backend.readOnly() ? "ro" : "rw");
    }

    @Override
    public void queueNotify(int index) {
        if (index != 0) return;
        lock.lock();
        try {
            ActivationGuard.Activation act = activations.current();
            activations.serve(act, 0, "request queue", "", chain -> process(act.context(), chain));
        } finally {
            lock.unlock();
        }
    }

    /** Runs one request and returns the used length: data bytes written to the guest plus the status byte. */
    int process(VirtioDeviceContext context, DescriptorChain chain) {
        requests.incrementAndGet();
        long writable = chain.writableLength();
        if (writable < 1) {
            failures.incrementAndGet();
            guestError("request without a status byte (no writable buffer); completed with length 0");
            return 0;
        }
        Outcome outcome;
        if (chain.readableLength() < HEADER_SIZE) {
            guestError("request header shorter than 16 readable bytes (" + chain.readableLength() + ")");
            outcome = Outcome.IOERR;
        } else {
            byte[] header = new byte[HEADER_SIZE];
            chain.read(0, header, 0, HEADER_SIZE);
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            int type = h.getInt(0);
            long sector = h.getLong(8);
            outcome = execute(context, chain, type, sector, writable - 1);
        }
        if (outcome.status != S_OK) failures.incrementAndGet();
        byte[] status = {(byte) outcome.status};
        if (chain.write(writable - 1, status, 0, 1) != 1) return 0;
        return (int) (outcome.dataWritten + 1);
    }

    /** A request's status and how many data bytes it wrote to the guest before the status byte. */
    private record Outcome(int status, long dataWritten) {
        static final Outcome OK = new Outcome(S_OK, 0);
        static final Outcome IOERR = new Outcome(S_IOERR, 0);
        static final Outcome UNSUPP = new Outcome(S_UNSUPP, 0);
    }

    private Outcome execute(VirtioDeviceContext context, DescriptorChain chain, int type, long sector, long inDataLength) {
        try {
            return switch (type) {
                case T_IN -> read(context.memory(), chain, sector, inDataLength);
                case T_OUT -> write(context.memory(), chain, sector);
                case T_FLUSH -> {
                    backend.flush();
                    yield Outcome.OK;
                }
                case T_GET_ID -> {
                    int n = (int) Math.min(ID_BYTES, inDataLength);
                    byte[] id = java.util.Arrays.copyOf(serial, n);
                    chain.write(0, id, 0, n);
                    yield new Outcome(S_OK, n);
                }
                case T_DISCARD, T_WRITE_ZEROES -> zeroRange(context, chain, type);
                default -> Outcome.UNSUPP;
            };
        } catch (IOException e) {
            hostError(e);
            return Outcome.IOERR;
        } catch (GuestMemoryException e) {
            guestError(e.getMessage());
            return Outcome.IOERR;
        }
    }

    private Outcome read(GuestMemory memory, DescriptorChain chain, long sector, long length) throws IOException {
        if (!validRange(sector, length)) return Outcome.IOERR;
        long position = sector * BlockBackend.SECTOR_SIZE;
        for (GuestRange r : prefix(chain.writable(), length)) {
            for (long done = 0; done < r.length(); ) {
                long n = Math.min(MAX_CHUNK, r.length() - done);
                MemorySegment target = memory.slice(r.address() + done, n);
                backend.read(position, target.asByteBuffer());
                position += n;
                done += n;
            }
        }
        return new Outcome(S_OK, length);
    }

    private Outcome write(GuestMemory memory, DescriptorChain chain, long sector) throws IOException {
        long length = chain.readableLength() - HEADER_SIZE;
        if (backend.readOnly()) return Outcome.IOERR;
        if (!validRange(sector, length)) return Outcome.IOERR;
        long position = sector * BlockBackend.SECTOR_SIZE;
        List<GuestRange> data = suffix(chain.readable(), HEADER_SIZE);
        for (GuestRange r : data) {
            for (long done = 0; done < r.length(); ) {
                long n = Math.min(MAX_CHUNK, r.length() - done);
                MemorySegment source = memory.slice(r.address() + done, n);
                backend.write(position, source.asByteBuffer());
                position += n;
                done += n;
            }
        }
        return Outcome.OK;
    }

    /** DISCARD and WRITE_ZEROES: one segment {le64 sector, le32 num_sectors, le32 flags}; both write zeroes. */
    private Outcome zeroRange(VirtioDeviceContext context, DescriptorChain chain, int type) throws IOException {
        boolean discard = type == T_DISCARD;
        if (!VirtioFeatures.has(context.negotiatedFeatures(), discard ? F_DISCARD : F_WRITE_ZEROES)) return Outcome.UNSUPP;
        if (backend.readOnly()) return Outcome.IOERR;
        long length = chain.readableLength() - HEADER_SIZE;
        if (length == 0 || length % DISCARD_SEGMENT_SIZE != 0) {
            guestError("discard/write-zeroes payload of " + length + " bytes is not a whole number of 16-byte segments");
            return Outcome.IOERR;
        }
        if (length / DISCARD_SEGMENT_SIZE > 1) return Outcome.UNSUPP;   // max_discard_seg = max_write_zeroes_seg = 1
        byte[] segment = new byte[DISCARD_SEGMENT_SIZE];
        chain.read(HEADER_SIZE, segment, 0, DISCARD_SEGMENT_SIZE);
        ByteBuffer s = ByteBuffer.wrap(segment).order(ByteOrder.LITTLE_ENDIAN);
        long sector = s.getLong(0);
        long sectors = Integer.toUnsignedLong(s.getInt(8));
        int flags = s.getInt(12);
        if ((flags & ~FLAG_UNMAP) != 0) return Outcome.UNSUPP;          // unknown flags
        if (discard && (flags & FLAG_UNMAP) != 0) return Outcome.UNSUPP; // the spec reserves unmap for write zeroes
        if (sectors > (discard ? MAX_DISCARD_SECTORS : MAX_WRITE_ZEROES_SECTORS)) return Outcome.IOERR;
        if (!validSectors(sector, sectors)) return Outcome.IOERR;
        if (sectors > 0) backend.writeZeroes(sector * BlockBackend.SECTOR_SIZE, sectors * BlockBackend.SECTOR_SIZE);
        return Outcome.OK;
    }

    /** A whole number of sectors, not too large, inside the disk. */
    private boolean validRange(long sector, long bytes) {
        if (bytes < 0 || bytes % BlockBackend.SECTOR_SIZE != 0) {
            guestError("data length " + bytes + " is not a multiple of 512");
            return false;
        }
        if (bytes > MAX_DATA_BYTES) {
            guestError("data length " + bytes + " exceeds the device's limit of " + MAX_DATA_BYTES);
            return false;
        }
        return validSectors(sector, bytes / BlockBackend.SECTOR_SIZE);
    }

    private boolean validSectors(long sector, long sectors) {
        long capacity = backend.capacitySectors();
        // Unsigned: the guest's le64 sector may have its top bit set; overflow-safe comparison against capacity.
        if (Long.compareUnsigned(sector, capacity) > 0 || sectors > capacity - sector) {
            guestError("sectors [" + Long.toUnsignedString(sector) + ", +" + sectors + ") beyond capacity " + capacity);
            return false;
        }
        return true;
    }

    /** The first {@code length} bytes of {@code ranges}. */
    static List<GuestRange> prefix(List<GuestRange> ranges, long length) {
        List<GuestRange> out = new ArrayList<>();
        long left = length;
        for (GuestRange r : ranges) {
            if (left <= 0) break;
            long n = Math.min(left, r.length());
            if (n > 0) out.add(new GuestRange(r.address(), n));
            left -= n;
        }
        return out;
    }

    /** {@code ranges} without their first {@code skip} bytes. */
    static List<GuestRange> suffix(List<GuestRange> ranges, long skip) {
        List<GuestRange> out = new ArrayList<>();
        long left = skip;
        for (GuestRange r : ranges) {
            if (left >= r.length()) {
                left -= r.length();
                continue;
            }
            out.add(new GuestRange(r.address() + left, r.length() - left));
            left = 0;
        }
        return out;
    }

    private void guestError(String message) {
        // Guest-controlled: warn once, then only a count now and then, so a hostile guest cannot flood the log.
        log.warn("bad request", () -> "virtio-blk " + name + ": bad request: " + message);
    }

    private void hostError(IOException e) {
        log.log(System.Logger.Level.ERROR, "I/O error", () -> "virtio-blk " + name + ": I/O error on " + backend.location() + ": " + e.getMessage());
    }
}
