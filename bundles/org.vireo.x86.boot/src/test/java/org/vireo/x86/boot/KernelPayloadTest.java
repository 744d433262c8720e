package org.vireo.x86.boot;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.Test;
import org.vireo.memory.GuestMemory;

public class KernelPayloadTest {
    /** LZ4 block: "abc", then a 9-byte match at offset 3 (overlapping: abcabcabc), then the literal-only "xyz". */
    private static final byte[] BLOCK = {0x35, 'a', 'b', 'c', 3, 0, 0x30, 'x', 'y', 'z'};
    private static final byte[] BLOCK_OUT = "abcabcabcabcxyz".getBytes(StandardCharsets.US_ASCII);

    /** A legacy LZ4 frame of {@code blocks}, followed by the uncompressed size as the kernel build appends it. */
    static byte[] lz4Frame(int size, byte[]... blocks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        le32(out, KernelPayload.LZ4_LEGACY_MAGIC);
        for (byte[] block : blocks) {
            le32(out, block.length);
            out.writeBytes(block);
        }
        le32(out, size);
        return out.toByteArray();
    }

    /** A literal-only LZ4 block holding {@code data}. */
    static byte[] literalBlock(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int n = data.length;
        if (n < 15) {
            out.write(n << 4);
        } else {
            out.write(0xf0);
            int rest = n - 15;
            while (rest >= 255) {
                out.write(255);
                rest -= 255;
            }
            out.write(rest);
        }
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static void le32(ByteArrayOutputStream out, int v) {
        for (int i = 0; i < 4; i++) out.write(v >>> (8 * i));
    }

    /** The fake bzImage of LinuxLoaderTest with {@code payload} as its compressed kernel (boot protocol 2.15). */
    static byte[] bzImageWith(byte[] payload) {
        byte[] base = LinuxLoaderTest.fakeBzImage(0x400 + payload.length, 0x020f, 0x7f, 0x100_0000, 0x40_0000);
        System.arraycopy(payload, 0, base, 0xa00 + 0x100, payload.length);
        ByteBuffer b = ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(KernelPayload.PAYLOAD_OFFSET, 0x100);
        b.putInt(KernelPayload.PAYLOAD_LENGTH, payload.length);
        return base;
    }

    @Test
    public void decodesLiteralsAndOverlappingMatchesAcrossBlocks() {
        byte[] second = new byte[300];
        new Random(1).nextBytes(second);
        byte[] frame = lz4Frame(BLOCK_OUT.length + 300, BLOCK, literalBlock(second));
        byte[] out = KernelPayload.decompress(bzImageWith(frame)).orElseThrow();
        assertArrayEquals(BLOCK_OUT, Arrays.copyOf(out, BLOCK_OUT.length));
        assertArrayEquals(second, Arrays.copyOfRange(out, BLOCK_OUT.length, out.length));
    }

    @Test
    public void readsAGzipPayload() throws Exception {
        byte[] data = new byte[100_000];
        new Random(2).nextBytes(data);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(data);
        }
        assertArrayEquals(data, KernelPayload.decompress(bzImageWith(gz.toByteArray())).orElseThrow());
    }

    @Test
    public void leavesOtherFormatsToTheKernel() {
        byte[] xz = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 0, 0, 0, 0, 16, 0, 0, 0};
        assertTrue(KernelPayload.decompress(bzImageWith(xz)).isEmpty());
        assertTrue("a header older than 2.08 has no payload fields",
                KernelPayload.decompress(LinuxLoaderTest.fakeBzImage(0x3000, 0x0206, 0x7f, 0x100_0000, 0x40_0000)).isEmpty());
        assertTrue("no payload", KernelPayload.decompress(LinuxLoaderTest.standardBzImage()).isEmpty());
    }

    @Test
    public void refusesMalformedPayloadsWithABootException() {
        assertThrows("a size that does not match", BootException.class,
                () -> KernelPayload.decompress(bzImageWith(lz4Frame(BLOCK_OUT.length + 1, BLOCK))));
        assertThrows("an offset before the start", BootException.class,
                () -> KernelPayload.decompress(bzImageWith(lz4Frame(20, new byte[] {0x15, 'a', 9, 0, 0x10, 'b'}))));
        assertThrows("offset zero", BootException.class,
                () -> KernelPayload.decompress(bzImageWith(lz4Frame(20, new byte[] {0x15, 'a', 0, 0, 0x10, 'b'}))));
        assertThrows("literals past the block", BootException.class,
                () -> KernelPayload.decompress(bzImageWith(lz4Frame(20, new byte[] {(byte) 0x90, 'a', 'b'}))));
        assertThrows("a block past the payload", BootException.class, () -> {
            byte[] frame = lz4Frame(15, BLOCK);
            frame[4] = 100;                                            // the first block's length
            KernelPayload.decompress(bzImageWith(frame));
        });
        byte[] image = bzImageWith(lz4Frame(15, BLOCK));
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(KernelPayload.PAYLOAD_LENGTH, 1 << 30);
        assertThrows("a payload outside the file", BootException.class, () -> KernelPayload.decompress(image));
    }

    @Test
    public void randomCorruptionEndsInABootExceptionOrAResultNeverAnythingElse() {
        byte[] data = new byte[5000];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i % 97);
        byte[] good = lz4Frame(BLOCK_OUT.length + data.length, BLOCK, literalBlock(data));
        Random random = new Random(3);
        for (int trial = 0; trial < 20_000; trial++) {
            byte[] frame = good.clone();
            for (int k = 1 + random.nextInt(4); k > 0; k--) frame[random.nextInt(frame.length)] = (byte) random.nextInt(256);
            try {
                KernelPayload.decompress(bzImageWith(frame));
            } catch (BootException expected) {
                // malformed: refused with a message
            }
        }
    }

    @Test
    public void aBzImageCarryingAPvhVmlinuxIsEnteredThroughPvhUnlessTold64Bit() {
        byte[] vmlinux = LinuxLoaderTest.fakeVmlinux(true);
        byte[] image = bzImageWith(lz4Frame(vmlinux.length, literalBlock(vmlinux)));
        try (Arena arena = Arena.ofConfined()) {
            BootPlan pvh = LinuxLoader.load(GuestMemory.allocate(arena, 64L << 20), image, null, "console=ttyS0");
            assertEquals(BootPlan.EntryMode.PROTECTED_32, pvh.mode());
            assertTrue(pvh.description(), pvh.description().startsWith("ELF vmlinux unpacked on the host from the bzImage"));
            BootPlan boot64 = LinuxLoader.load(GuestMemory.allocate(arena, 64L << 20), image, null, "console=ttyS0", 0,
                    LinuxLoader.Unpack.NEVER);
            assertEquals(BootPlan.EntryMode.LONG_64, boot64.mode());
            byte[] noNote = LinuxLoaderTest.fakeVmlinux(false);
            BootPlan fallback = LinuxLoader.load(GuestMemory.allocate(arena, 64L << 20),
                    bzImageWith(lz4Frame(noNote.length, literalBlock(noNote))), null, "console=ttyS0");
            assertEquals("a vmlinux without the PVH note: the bzImage boots itself", BootPlan.EntryMode.LONG_64, fallback.mode());
            byte[] broken = lz4Frame(vmlinux.length, literalBlock(vmlinux));
            broken[8] = (byte) 0x9f;                                   // the first token's literal count no longer fits
            BootPlan refused = LinuxLoader.load(GuestMemory.allocate(arena, 64L << 20), bzImageWith(broken), null, "console=ttyS0");
            assertEquals("a payload Vireo cannot unpack is left to the kernel", BootPlan.EntryMode.LONG_64, refused.mode());
            assertTrue(refused.description(), refused.description().contains("(not unpacked on the host: "));
        }
    }
}
