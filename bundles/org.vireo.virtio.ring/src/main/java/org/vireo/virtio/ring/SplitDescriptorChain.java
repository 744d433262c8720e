package org.vireo.virtio.ring;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.device.DescriptorChain;

/**
 * A validated chain popped by {@link SplitQueueDevice}: every range lies inside one guest memory region. Its ranges
 * are immutable; it remembers which bytes of its writable part {@link #write} wrote, so that
 * {@link SplitQueueDevice#addUsed} reports them as device writes even where they lie beyond the used length (a
 * virtio-blk status byte after data that was never written).
 */
final class SplitDescriptorChain implements DescriptorChain {
    private final GuestMemory memory;
    private final int head;
    private final List<GuestRange> readable;
    private final List<GuestRange> writable;
    private final long readableLength;
    private final long writableLength;
    /** [start, end) offsets in the writable part written through write(), pairwise; guarded by this. */
    private long[] written = new long[4];
    private int writtenCount;

    SplitDescriptorChain(GuestMemory memory, int head, List<GuestRange> readable, List<GuestRange> writable,
                         long readableLength, long writableLength) {
        this.memory = memory;
        this.head = head;
        this.readable = List.copyOf(readable);
        this.writable = List.copyOf(writable);
        this.readableLength = readableLength;
        this.writableLength = writableLength;
    }

    @Override public int head() { return head; }

    @Override public List<GuestRange> readable() { return readable; }

    @Override public List<GuestRange> writable() { return writable; }

    @Override public long readableLength() { return readableLength; }

    @Override public long writableLength() { return writableLength; }

    @Override
    public int read(long offset, byte[] dst, int off, int len) {
        Objects.checkFromIndexSize(off, len, dst.length);
        return copy(readable, offset, dst, off, len, false);
    }

    @Override
    public int write(long offset, byte[] src, int off, int len) {
        Objects.checkFromIndexSize(off, len, src.length);
        int n = copy(writable, offset, src, off, len, true);
        if (n > 0) noteWritten(offset, offset + n);
        return n;
    }

    private synchronized void noteWritten(long start, long end) {
        if (writtenCount > 0) {
            int last = 2 * (writtenCount - 1);
            if (start <= written[last + 1] && end >= written[last]) {   // touches or overlaps the last extent
                written[last] = Math.min(written[last], start);
                written[last + 1] = Math.max(written[last + 1], end);
                return;
            }
        }
        if (2 * writtenCount == written.length) written = Arrays.copyOf(written, written.length * 2);
        written[2 * writtenCount] = start;
        written[2 * writtenCount + 1] = end;
        writtenCount++;
    }

    /** The extents {@link #write} wrote, as {start0, end0, start1, end1...} offsets into the writable part. */
    synchronized long[] writtenExtents() { return Arrays.copyOf(written, 2 * writtenCount); }

    private int copy(List<GuestRange> ranges, long offset, byte[] buf, int off, int len, boolean toGuest) {
        if (offset < 0) throw new IllegalArgumentException("negative offset " + offset);
        int done = 0;
        long skip = offset;
        for (GuestRange r : ranges) {
            if (done == len) break;
            if (skip >= r.length()) {
                skip -= r.length();
                continue;
            }
            int n = (int) Math.min(len - done, r.length() - skip);
            long at = r.address() + skip;
            if (toGuest) memory.write(at, buf, off + done, n);
            else memory.read(at, buf, off + done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    @Override
    public String toString() {
        return "chain head=" + head + " readable=" + readable + " writable=" + writable;
    }
}
