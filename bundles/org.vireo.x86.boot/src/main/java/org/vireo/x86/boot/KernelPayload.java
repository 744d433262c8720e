package org.vireo.x86.boot;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * The vmlinux inside a bzImage: the setup header's payload_offset and payload_length (boot protocol 2.08+) locate
 * the compressed kernel, whose last four bytes are its uncompressed size (the build's size_append). Vireo unpacks it
 * on the host so the emulated CPU does not spend seconds running the kernel's own decompressor; the result is then
 * booted through its PVH entry. Only the formats the JDK or a few lines can read are unpacked here: LZ4 in the
 * legacy frame (what Debian's kernels use) and gzip; for the others (xz, zstd, bzip2, lzma, lzo) the bzImage boots
 * as it is.
 *
 * <p>The unpacked kernel is handed to a {@link Sink} block by block rather than built as one array: the loader
 * copies each block on to guest RAM, so the 50 MB vmlinux is never held (and page-faulted) on the heap.
 *
 * <p>The bzImage is the user's file but not necessarily well formed: every length and offset is checked, and a
 * malformed payload is a {@link BootException}, never an exception from deep inside or an endless loop.
 */
public final class KernelPayload {
    static final int PAYLOAD_OFFSET = 0x248, PAYLOAD_LENGTH = 0x24c;
    static final int LZ4_LEGACY_MAGIC = 0x184c_2102;
    /** A decompressed kernel larger than this is refused (Debian's is ~50 MiB). */
    static final int MAX_KERNEL = 512 << 20;
    /**
     * The most one block of the legacy LZ4 frame unpacks to. The kernel's own decompressor (lib/decompress_unlz4.c)
     * decodes each block alone into a buffer of this size, so blocks never refer back into an earlier one.
     */
    static final int LZ4_BLOCK_MAX = 8 << 20;
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private KernelPayload() { }

    /** Where the unpacked kernel goes, in file order, in pieces of at most {@link #LZ4_BLOCK_MAX} bytes. */
    interface Sink {
        /** Told first: the unpacked kernel's size as the bzImage gives it. */
        void start(long size);

        /** The kernel's bytes {@code [at, at+bytes.byteSize())}; {@code bytes} is valid only during the call. */
        void accept(long at, MemorySegment bytes);
    }

    /**
     * The decompressed vmlinux of {@code bzImage}, or empty when its payload is compressed with a format this class
     * does not read (or the header is older than 2.08).
     *
     * @throws BootException if the payload is malformed
     */
    public static Optional<byte[]> decompress(byte[] bzImage) {
        byte[][] out = new byte[1][];
        boolean read = unpack(MemorySegment.ofArray(bzImage), new Sink() {
            @Override public void start(long size) { out[0] = new byte[(int) size]; }
            @Override public void accept(long at, MemorySegment bytes) {
                MemorySegment.copy(bytes, 0, MemorySegment.ofArray(out[0]), at, bytes.byteSize());
            }
        });
        return read ? Optional.of(out[0]) : Optional.empty();
    }

    /**
     * Unpacks the vmlinux of {@code bzImage} into {@code sink}; false (and the sink told nothing) when its payload
     * is compressed with a format this class does not read or the header is older than 2.08.
     *
     * @throws BootException if the payload is malformed, or as the sink throws it
     */
    static boolean unpack(MemorySegment bzImage, Sink sink) {
        if (!SetupHeader.isBzImage(bzImage)) throw new BootException("not a bzImage: no boot flag 0xAA55 and \"HdrS\" setup header");
        if ((bzImage.get(SetupHeader.LE16, SetupHeader.VERSION) & 0xffff) < 0x0208) return false;   // no payload fields
        int setupSects = bzImage.get(ValueLayout.JAVA_BYTE, SetupHeader.SETUP_SECTS) & 0xff;
        long offset = (setupSects == 0 ? 4 : setupSects) * 512L + 512 + (bzImage.get(LE32, PAYLOAD_OFFSET) & 0xffff_ffffL);
        long length = bzImage.get(LE32, PAYLOAD_LENGTH) & 0xffff_ffffL;
        if (length == 0) return false;
        if (length < 8 || offset + length > bzImage.byteSize()) {
            throw new BootException(String.format("the bzImage's payload [0x%x, +0x%x) lies outside the file (%d bytes)", offset,
                    length, bzImage.byteSize()));
        }
        long from = offset, to = offset + length;
        long size = bzImage.get(LE32, to - 4) & 0xffff_ffffL;
        if (size == 0 || size > MAX_KERNEL) throw new BootException("the bzImage says its kernel is " + size + " bytes decompressed");
        if (bzImage.get(LE32, from) == LZ4_LEGACY_MAGIC) {
            sink.start(size);
            lz4Legacy(bzImage, from + 4, to - 4, size, sink);
            return true;
        }
        if ((bzImage.get(ValueLayout.JAVA_BYTE, from) & 0xff) == 0x1f && (bzImage.get(ValueLayout.JAVA_BYTE, from + 1) & 0xff) == 0x8b) {
            sink.start(size);
            gzip(bzImage.asSlice(from, to - from), size, sink);
            return true;
        }
        return false;
    }

    /**
     * The LZ4 legacy frame: blocks of a 4-byte compressed length and an LZ4 block, until {@code end}. Each block is
     * copied into an array and decoded into another, both reused, then handed on: a fresh JVM runs this cold, and
     * the decoder's byte-at-a-time work is several times faster on arrays than through memory segments there.
     */
    static void lz4Legacy(MemorySegment in, long pos, long end, long size, Sink sink) {
        byte[] block = new byte[0];
        byte[] out = new byte[(int) Math.min(LZ4_BLOCK_MAX, size)];
        long op = 0;
        while (pos + 4 <= end) {
            int blockLength = in.get(LE32, pos);
            pos += 4;
            if (blockLength == LZ4_LEGACY_MAGIC) continue;           // concatenated frames
            if (blockLength <= 0 || blockLength > end - pos) throw new BootException("LZ4 block length " + blockLength + " runs past the payload");
            int room = (int) Math.min(LZ4_BLOCK_MAX, size - op);
            if (room == 0) throw new BootException("the LZ4 payload gives more than the " + size + " bytes the bzImage says");
            if (block.length < blockLength) block = new byte[blockLength];
            MemorySegment.copy(in, ValueLayout.JAVA_BYTE, pos, block, 0, blockLength);
            int n = lz4Block(block, 0, blockLength, out, room);
            sink.accept(op, MemorySegment.ofArray(out).asSlice(0, n));
            op += n;
            pos += blockLength;
        }
        if (op != size) throw new BootException("the LZ4 payload gives " + op + " bytes, the bzImage says " + size);
    }

    /**
     * Decodes one LZ4 block (sequences of literals and back-references) into {@code out} from its start, giving at
     * most {@code limit} bytes; the number of bytes it gave. A block that would give more is malformed.
     */
    static int lz4Block(byte[] in, int ip, int end, byte[] out, int limit) {
        int op = 0;
        while (true) {
            if (ip >= end) throw new BootException("LZ4 block ends inside a sequence");
            int token = in[ip++] & 0xff;
            int literals = token >>> 4;
            if (literals == 15) {
                int more;
                do {
                    if (ip >= end) throw new BootException("LZ4 literal length runs past the block");
                    more = in[ip++] & 0xff;
                    literals += more;
                } while (more == 255 && literals < limit);
            }
            if (literals > end - ip || literals > limit - op) throw new BootException("LZ4 literals run past the block or the kernel");
            System.arraycopy(in, ip, out, op, literals);
            ip += literals;
            op += literals;
            if (ip == end) return op;                                 // the last sequence has literals only
            if (end - ip < 2) throw new BootException("LZ4 block ends inside a match offset");
            int offset = (in[ip] & 0xff) | (in[ip + 1] & 0xff) << 8;
            ip += 2;
            if (offset == 0 || offset > op) throw new BootException("LZ4 match offset " + offset + " reaches before its block's start");
            int match = token & 15;
            if (match == 15) {
                int more;
                do {
                    if (ip >= end) throw new BootException("LZ4 match length runs past the block");
                    more = in[ip++] & 0xff;
                    match += more;
                } while (more == 255 && match < limit);
            }
            match += 4;
            if (match > limit - op) throw new BootException("LZ4 match runs past the kernel's size or an 8 MiB block");
            // An overlapping match repeats the last `offset` bytes; any multiple of that period is one too, so each
            // copy may take twice as much as the one before, all from the same source (long zero runs stay cheap).
            for (int done = 0, n; done < match; done += n) {
                n = Math.min(done + offset, match - done);
                System.arraycopy(out, op - offset, out, op + done, n);
            }
            op += match;
        }
    }

    /** Inflates the gzip {@code payload} (whose own trailer ends in the size) in pieces of up to 8 MiB. */
    static void gzip(MemorySegment payload, long size, Sink sink) {
        try (GZIPInputStream z = new GZIPInputStream(new SegmentInputStream(payload), 1 << 16)) {
            byte[] buf = new byte[(int) Math.min(LZ4_BLOCK_MAX, size)];
            long op = 0;
            while (true) {
                int filled = 0;
                for (int n; filled < buf.length && (n = z.read(buf, filled, buf.length - filled)) > 0; ) filled += n;
                if (filled == 0) break;
                if (filled > size - op) throw new BootException("the gzip payload gives more than the " + size + " bytes the bzImage says");
                sink.accept(op, MemorySegment.ofArray(buf).asSlice(0, filled));
                op += filled;
            }
            if (op != size) throw new BootException("the gzip payload gives " + op + " bytes, the bzImage says " + size);
        } catch (IOException e) {
            throw new BootException("the bzImage's gzip payload is malformed: " + e.getMessage(), e);
        }
    }

    /** Reads a memory segment (a mapped file) as a stream, for the JDK's gzip reader. */
    private static final class SegmentInputStream extends InputStream {
        private final MemorySegment bytes;
        private long at;

        SegmentInputStream(MemorySegment bytes) { this.bytes = bytes; }

        @Override
        public int read() {
            return at < bytes.byteSize() ? bytes.get(ValueLayout.JAVA_BYTE, at++) & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) return 0;
            long left = bytes.byteSize() - at;
            if (left <= 0) return -1;
            int n = (int) Math.min(len, left);
            MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, at, b, off, n);
            at += n;
            return n;
        }
    }
}
