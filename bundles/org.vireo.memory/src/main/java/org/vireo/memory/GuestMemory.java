package org.vireo.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Guest physical memory: a fixed set of non-overlapping regions. Every access is bounds-checked against the
 * regions, so a guest-supplied address can never reach host memory outside them; a miss throws
 * {@link GuestMemoryException}. Multi-byte values are little-endian, as on every virtio and x86 guest.
 * Thread-safe: the region table is immutable, the bytes are shared with the guest by design.
 */
public final class GuestMemory {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Told when a device, not the CPU, wrote guest RAM, so caches of guest memory (decoded code) drop stale entries. */
    @FunctionalInterface
    public interface DeviceWriteObserver {
        void written(long address, long length);
    }

    private final MemoryRegion[] regions;
    private final long size;
    private volatile DeviceWriteObserver deviceWriteObserver;

    public GuestMemory(List<MemoryRegion> regions) {
        List<MemoryRegion> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(MemoryRegion::base));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).base() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("overlapping guest memory regions " + sorted.get(i - 1) + " and " + sorted.get(i));
            }
        }
        this.regions = sorted.toArray(MemoryRegion[]::new);
        long total = 0;
        for (MemoryRegion r : this.regions) total += r.size();
        this.size = total;
    }

    /**
     * Guest RAM of {@code bytes} at guest-physical 0, zero-filled, page-aligned, living as long as {@code arena}.
     * On Linux the pages are reserved, not committed: the host backs a page only once it is touched, so a guest
     * that uses 40 MiB of its 512 costs about 40 MiB (see {@link #discard}).
     */
    public static GuestMemory allocate(Arena arena, long bytes) {
        return new GuestMemory(List.of(new MemoryRegion(0, HostPages.reserve(arena, bytes))));
    }

    /**
     * Bytes of guest RAM the host holds in memory now (pages touched and not discarded), over all regions; -1
     * where the platform cannot tell. For footprint figures: the VMM's own cost is its RSS minus this.
     */
    public long residentBytes() {
        long total = 0;
        for (MemoryRegion r : regions) {
            long n = HostPages.residentBytes(r.segment());
            if (n < 0) return -1;
            total += n;
        }
        return total;
    }

    /** The size of the pages {@link #discard} takes. */
    public static final long PAGE_SIZE = HostPages.PAGE;

    /**
     * Hands the host back the RAM behind {@code [address, address+length)}, which must be page-aligned and lie in
     * one region: on Linux the pages are released ({@code madvise(MADV_DONTNEED)}) and the host's RSS drops; the
     * range reads as zero afterwards on every platform. Caches of guest memory are told, as for a device write.
     * For the balloon and free page reporting: the guest has promised not to use these pages until it asks again.
     *
     * @throws GuestMemoryException if the range is not guest RAM
     * @throws IllegalArgumentException if it is not page-aligned
     */
    public void discard(long address, long length) {
        if (length == 0) return;
        if (length < 0 || (address & (PAGE_SIZE - 1)) != 0 || (length & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("discard of [0x%x, +0x%x) is not whole pages", address, length));
        }
        MemoryRegion r = require(address, length);
        HostPages.discard(r.segment().asSlice(address - r.base(), length));
        deviceWrote(address, length);
    }

    public List<MemoryRegion> regions() { return List.of(regions); }

    /** Total bytes of RAM over all regions. */
    public long size() { return size; }

    public boolean contains(long address, long length) {
        return find(address, length) != null;
    }

    /**
     * The region holding all of {@code [address, address+length)}, or null. A range that spans two adjacent
     * regions is refused: zero-copy slices need one segment.
     */
    public MemoryRegion find(long address, long length) {
        MemoryRegion[] rs = regions;
        int lo = 0, hi = rs.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            MemoryRegion r = rs[mid];
            if (address < r.base()) hi = mid - 1;
            else if (address >= r.end()) lo = mid + 1;
            else return r.contains(address, length) ? r : null;
        }
        // A zero-length range exactly at the end of a region is still inside it.
        if (length == 0) {
            for (MemoryRegion r : rs) if (address == r.end()) return r;
        }
        return null;
    }

    /** A zero-copy view of {@code [address, address+length)}; the whole range must lie in one region. */
    public MemorySegment slice(long address, long length) {
        MemoryRegion r = find(address, length);
        if (r == null) throw new GuestMemoryException(address, length);
        return r.segment().asSlice(address - r.base(), length);
    }


    public byte readByte(long address) {
        MemoryRegion r = require(address, 1);
        return r.segment().get(ValueLayout.JAVA_BYTE, address - r.base());
    }

    public short readShort(long address) {
        MemoryRegion r = require(address, 2);
        return r.segment().get(LE16, address - r.base());
    }

    public int readInt(long address) {
        MemoryRegion r = require(address, 4);
        return r.segment().get(LE32, address - r.base());
    }

    public long readLong(long address) {
        MemoryRegion r = require(address, 8);
        return r.segment().get(LE64, address - r.base());
    }

    public void writeByte(long address, byte value) {
        MemoryRegion r = require(address, 1);
        r.segment().set(ValueLayout.JAVA_BYTE, address - r.base(), value);
    }

    public void writeShort(long address, short value) {
        MemoryRegion r = require(address, 2);
        r.segment().set(LE16, address - r.base(), value);
    }

    public void writeInt(long address, int value) {
        MemoryRegion r = require(address, 4);
        r.segment().set(LE32, address - r.base(), value);
    }

    public void writeLong(long address, long value) {
        MemoryRegion r = require(address, 8);
        r.segment().set(LE64, address - r.base(), value);
    }

    /** Installs the observer of device writes (one per memory: the machine's CPU); null removes it. */
    public void setDeviceWriteObserver(DeviceWriteObserver observer) { this.deviceWriteObserver = observer; }

    /**
     * Devices (DMA) call this after writing {@code [address, address+length)} by any path, including zero-copy
     * slices, and before the guest can see the completion, so a CPU never runs code it decoded from older bytes.
     */
    public void deviceWrote(long address, long length) {
        DeviceWriteObserver o = deviceWriteObserver;
        if (o != null && length > 0) o.written(address, length);
    }

    /** Copies guest bytes into {@code dst[off, off+len)}. */
    public void read(long address, byte[] dst, int off, int len) {
        MemoryRegion r = require(address, len);
        MemorySegment.copy(r.segment(), ValueLayout.JAVA_BYTE, address - r.base(), dst, off, len);
    }

    /** Copies {@code src[off, off+len)} into guest memory. */
    public void write(long address, byte[] src, int off, int len) {
        MemoryRegion r = require(address, len);
        MemorySegment.copy(src, off, r.segment(), ValueLayout.JAVA_BYTE, address - r.base(), len);
    }

    /** Fills {@code [address, address+length)} with {@code value}. */
    public void fill(long address, long length, byte value) {
        slice(address, length).fill(value);
    }

    private MemoryRegion require(long address, long length) {
        MemoryRegion r = find(address, length);
        if (r == null) throw new GuestMemoryException(address, length);
        return r;
    }
}
