package org.vireo.x86.boot;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
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
 * <p>The bzImage is the user's file but not necessarily well formed: every length and offset is checked, and a
 * malformed payload is a {@link BootException}, never an exception from deep inside or an endless loop.
 */
public final class KernelPayload {
    static final int PAYLOAD_OFFSET = 0x248, PAYLOAD_LENGTH = 0x24c;
    static final int LZ4_LEGACY_MAGIC = 0x184c_2102;
    /** A decompressed kernel larger than this is refused (Debian's is ~50 MiB). */
    static final int MAX_KERNEL = 512 << 20;

    private KernelPayload() { }

    /**
     * The decompressed vmlinux of {@code bzImage}, or empty when its payload is compressed with a format this class
     * does not read (or the header is older than 2.08).
     *
     * @throws BootException if the payload is malformed
     */
    public static Optional<byte[]> decompress(byte[] bzImage) {
        if (!SetupHeader.isBzImage(bzImage)) throw new BootException("not a bzImage: no boot flag 0xAA55 and \"HdrS\" setup header");
        ByteBuffer b = ByteBuffer.wrap(bzImage).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(SetupHeader.VERSION) & 0xffff) < 0x0208) return Optional.empty();   // no payload fields
        int setupSects = bzImage[SetupHeader.SETUP_SECTS] & 0xff;
        long offset = (setupSects == 0 ? 4 : setupSects) * 512L + 512 + (b.getInt(PAYLOAD_OFFSET) & 0xffff_ffffL);
        long length = b.getInt(PAYLOAD_LENGTH) & 0xffff_ffffL;
        if (length == 0) return Optional.empty();
        if (length < 8 || offset + length > bzImage.length) {
            throw new BootException(String.format("the bzImage's payload [0x%x, +0x%x) lies outside the file (%d bytes)", offset,
                    length, bzImage.length));
        }
        int from = (int) offset, to = (int) (offset + length);
        long size = b.getInt(to - 4) & 0xffff_ffffL;
        if (size == 0 || size > MAX_KERNEL) throw new BootException("the bzImage says its kernel is " + size + " bytes decompressed");
        if (b.getInt(from) == LZ4_LEGACY_MAGIC) return Optional.of(lz4Legacy(bzImage, from + 4, to - 4, (int) size));
        if ((bzImage[from] & 0xff) == 0x1f && (bzImage[from + 1] & 0xff) == 0x8b) return Optional.of(gzip(bzImage, from, to - 4, (int) size));
        return Optional.empty();
    }

    /** The LZ4 legacy frame: blocks of a 4-byte compressed length and an LZ4 block, until {@code end}. */
    static byte[] lz4Legacy(byte[] in, int pos, int end, int size) {
        byte[] out = new byte[size];
        int op = 0;
        while (pos + 4 <= end) {
            int blockLength = le32(in, pos);
            pos += 4;
            if (blockLength == LZ4_LEGACY_MAGIC) continue;           // concatenated frames
            if (blockLength <= 0 || blockLength > end - pos) throw new BootException("LZ4 block length " + blockLength + " runs past the payload");
            op = lz4Block(in, pos, pos + blockLength, out, op);
            pos += blockLength;
        }
        if (op != size) throw new BootException("the LZ4 payload gives " + op + " bytes, the bzImage says " + size);
        return out;
    }

    /** Decodes one LZ4 block (sequences of literals and back-references) into {@code out} at {@code op}. */
    static int lz4Block(byte[] in, int ip, int end, byte[] out, int op) {
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
                } while (more == 255 && literals < out.length);
            }
            if (literals > end - ip || literals > out.length - op) throw new BootException("LZ4 literals run past the block or the kernel");
            System.arraycopy(in, ip, out, op, literals);
            ip += literals;
            op += literals;
            if (ip == end) return op;                                 // the last sequence has literals only
            if (end - ip < 2) throw new BootException("LZ4 block ends inside a match offset");
            int offset = (in[ip] & 0xff) | (in[ip + 1] & 0xff) << 8;
            ip += 2;
            if (offset == 0 || offset > op) throw new BootException("LZ4 match offset " + offset + " reaches before the kernel's start");
            int match = token & 15;
            if (match == 15) {
                int more;
                do {
                    if (ip >= end) throw new BootException("LZ4 match length runs past the block");
                    more = in[ip++] & 0xff;
                    match += more;
                } while (more == 255 && match < out.length);
            }
            match += 4;
            if (match > out.length - op) throw new BootException("LZ4 match runs past the kernel's size");
            if (offset >= match) {
                System.arraycopy(out, op - offset, out, op, match);
            } else {
                for (int i = 0; i < match; i++) out[op + i] = out[op - offset + i];   // overlapping: a repeated pattern
            }
            op += match;
        }
    }

    static byte[] gzip(byte[] in, int from, int to, int size) {
        try (GZIPInputStream z = new GZIPInputStream(new ByteArrayInputStream(in, from, to - from + 4), 1 << 16)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(size);
            byte[] buf = new byte[1 << 16];
            for (int n; (n = z.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                if (out.size() > size) throw new BootException("the gzip payload gives more than the " + size + " bytes the bzImage says");
            }
            if (out.size() != size) throw new BootException("the gzip payload gives " + out.size() + " bytes, the bzImage says " + size);
            return out.toByteArray();
        } catch (IOException e) {
            throw new BootException("the bzImage's gzip payload is malformed: " + e.getMessage(), e);
        }
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }
}
