package org.vireo.x86.boot;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.memory.GuestMemory;

/**
 * The kernel goes from the file (mapped) or the bzImage's payload (unpacked block by block) straight into guest
 * RAM: the same bytes land where loading the plain vmlinux puts them, and bad input stops before guest RAM outside
 * the kernel's segments is written.
 */
public class DirectLoadTest {
    private static final long MIB = 1 << 20;
    private static final int BLOCK = KernelPayload.LZ4_BLOCK_MAX;
    private final Arena arena = Arena.ofShared();

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @After
    public void tearDown() { arena.close(); }

    private GuestMemory memory(long bytes) { return GuestMemory.allocate(arena, bytes); }

    /**
     * A vmlinux of 17 MiB and a bit: segment A (file 0x1000, 16 MiB + 64 KiB, at 16 MiB) holds the whole second
     * 8 MiB block and crosses both block boundaries, segment B (at {@code bAddress}, 64 KiB of file, 128 KiB in
     * memory) lies in the third block, the PVH note after both.
     */
    static byte[] bigVmlinux(long bAddress, boolean withPvhNote) {
        int aSize = 2 * BLOCK + 0x1_0000, bOffset = 0x1000 + aSize + 0x1000, bSize = 0x1_0000, notes = bOffset + bSize;
        byte[] image = new byte[notes + 0x100];
        new Random(7).nextBytes(image);
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        Arrays.fill(image, 0, 0x1000, (byte) 0);
        Arrays.fill(image, notes, image.length, (byte) 0);
        image[0] = 0x7f; image[1] = 'E'; image[2] = 'L'; image[3] = 'F';
        image[4] = 2; image[5] = 1; image[6] = 1;
        b.putShort(16, (short) 2);
        b.putShort(18, (short) 62);
        b.putLong(32, 64);
        b.putShort(54, (short) 56);
        b.putShort(56, (short) 3);
        phdr(b, 64, ElfKernel.PT_LOAD, 0x1000, 0x100_0000, aSize, aSize);
        phdr(b, 64 + 56, ElfKernel.PT_LOAD, bOffset, bAddress, bSize, 2 * bSize);
        int at = notes;
        if (withPvhNote) {
            b.putInt(at, 4);
            b.putInt(at + 4, 4);
            b.putInt(at + 8, ElfKernel.XEN_ELFNOTE_PHYS32_ENTRY);
            b.put(at + 12, "Xen\0".getBytes(StandardCharsets.US_ASCII));
            b.putInt(at + 16, 0x100_0040);
            at += 20;
        }
        phdr(b, 64 + 112, ElfKernel.PT_NOTE, notes, 0, at - notes, at - notes);
        return image;
    }

    private static void phdr(ByteBuffer b, int at, int type, long offset, long paddr, long filesz, long memsz) {
        b.putInt(at, type);
        b.putLong(at + 8, offset);
        b.putLong(at + 24, paddr);
        b.putLong(at + 32, filesz);
        b.putLong(at + 40, memsz);
    }

    /** {@code data} as a legacy LZ4 frame of literal-only blocks of at most 8 MiB, as `lz4 -l` cuts them. */
    static byte[] lz4Blocks(byte[] data) {
        int n = (data.length + BLOCK - 1) / BLOCK;
        byte[][] blocks = new byte[n][];
        for (int i = 0; i < n; i++) {
            blocks[i] = KernelPayloadTest.literalBlock(Arrays.copyOfRange(data, i * BLOCK, Math.min(data.length, (i + 1) * BLOCK)));
        }
        return KernelPayloadTest.lz4Frame(data.length, blocks);
    }

    private static byte[] bytes(GuestMemory m, long at, int n) {
        byte[] out = new byte[n];
        m.read(at, out, 0, n);
        return out;
    }

    private Path file(String name, byte[] content) throws Exception {
        Path p = folder.getRoot().toPath().resolve(name);
        Files.write(p, content);
        return p;
    }

    private static void assertSameKernel(GuestMemory expected, GuestMemory actual, BootPlan plan) {
        int length = (int) (plan.kernelEnd() - plan.kernelStart());
        assertArrayEquals(bytes(expected, plan.kernelStart(), length), bytes(actual, plan.kernelStart(), length));
    }

    @Test
    public void anLz4BzImageUnpacksToTheBytesItsVmlinuxLoads() throws Exception {
        byte[] vmlinux = bigVmlinux(0x300_0000, true);
        GuestMemory direct = memory(64 * MIB), unpacked = memory(64 * MIB);
        unpacked.fill(0x300_0000, 0x2_0000, (byte) 0xcc);               // stale bytes where B's bss goes
        BootPlan expected = LinuxLoader.load(direct, file("vmlinux", vmlinux), null, "console=ttyS0");
        BootPlan plan = LinuxLoader.load(unpacked, file("bzImage", KernelPayloadTest.bzImageWith(lz4Blocks(vmlinux))), null, "console=ttyS0");
        assertEquals(BootPlan.EntryMode.PROTECTED_32, plan.mode());
        assertTrue(plan.description(), plan.description().contains("unpacked on the host"));
        assertEquals(0x100_0040L, plan.rip());
        assertEquals(expected.kernelStart(), plan.kernelStart());
        assertEquals(0x302_0000L, plan.kernelEnd());
        assertSameKernel(direct, unpacked, plan);
        assertArrayEquals(Arrays.copyOfRange(vmlinux, 0x1000, 0x1000 + 2 * BLOCK + 0x1_0000), bytes(unpacked, 0x100_0000, 2 * BLOCK + 0x1_0000));
        assertArrayEquals("B's bss cleared", new byte[0x1_0000], bytes(unpacked, 0x301_0000, 0x1_0000));
        assertArrayEquals("nothing between the segments", new byte[0x1000], bytes(unpacked, 0x200_0000 + 0x1_0000, 0x1000));
    }

    @Test
    public void aGzipBzImageUnpacksToTheBytesItsVmlinuxLoads() throws Exception {
        byte[] vmlinux = bigVmlinux(0x300_0000, true);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(vmlinux);
        }
        GuestMemory direct = memory(64 * MIB), unpacked = memory(64 * MIB);
        LinuxLoader.load(direct, vmlinux, null, "");
        BootPlan plan = LinuxLoader.load(unpacked, file("bzImage", KernelPayloadTest.bzImageWith(gz.toByteArray())), null, "");
        assertEquals(BootPlan.EntryMode.PROTECTED_32, plan.mode());
        assertSameKernel(direct, unpacked, plan);
    }

    @Test
    public void aSegmentBeyondRamIsCheckedBeforeAnythingIsWritten() {
        byte[] vmlinux = bigVmlinux(0x3ff_0000, true);                  // B's bss runs past 64 MiB
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, KernelPayloadTest.bzImageWith(lz4Blocks(vmlinux)), null, "");
        assertEquals("the bzImage boots itself", BootPlan.EntryMode.LONG_64, plan.mode());
        assertTrue(plan.description(), plan.description().contains("(not unpacked on the host: the kernel's segment [0x3ff0000, +0x20000) is not in guest RAM"));
        GuestMemory untouched = memory(64 * MIB);
        BootException e = assertThrows(BootException.class, () -> KernelPayload.unpack(
                MemorySegment.ofArray(KernelPayloadTest.bzImageWith(lz4Blocks(vmlinux))), new VmlinuxPlacer(untouched)));
        assertTrue(e.getMessage(), e.getMessage().contains("not in guest RAM"));
        assertArrayEquals("segment A not written", new byte[0x1000], bytes(untouched, 0x180_0000, 0x1000));
        e = assertThrows(BootException.class, () -> LinuxLoader.load(memory(64 * MIB), vmlinux, null, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("not in guest RAM"));
    }

    @Test
    public void aTruncatedLz4BlockFallsBackAndLeavesGuestRamAsItWas() {
        byte[] vmlinux = bigVmlinux(0x300_0000, true);
        byte[] frame = lz4Blocks(vmlinux);
        // Cut the last block short: its literal run now runs past the block.
        int lastBlock = 4 + 2 * (4 + KernelPayloadTest.literalBlock(new byte[BLOCK]).length);
        ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(lastBlock, 100);
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, KernelPayloadTest.bzImageWith(frame), null, "");
        assertEquals(BootPlan.EntryMode.LONG_64, plan.mode());
        assertTrue(plan.description(), plan.description().contains("(not unpacked on the host: LZ4"));
        // What a failed unpack placed is cleared for the bzImage's own boot: here a size the blocks do not give.
        byte[] shortOne = lz4Blocks(vmlinux);
        ByteBuffer.wrap(shortOne).order(ByteOrder.LITTLE_ENDIAN).putInt(shortOne.length - 4, vmlinux.length + 1);
        GuestMemory n = memory(64 * MIB);
        plan = LinuxLoader.load(n, KernelPayloadTest.bzImageWith(shortOne), null, "");
        assertTrue(plan.description(), plan.description().contains("(not unpacked on the host: the LZ4 payload gives"));
        assertArrayEquals("segment B, which the bzImage does not cover, cleared", new byte[0x1_0000], bytes(n, 0x300_0000, 0x1_0000));
    }

    @Test
    public void aVmlinuxWithoutPvhNoteInABzImageIsLeftToTheKernelSilently() {
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, KernelPayloadTest.bzImageWith(lz4Blocks(bigVmlinux(0x300_0000, false))), null, "");
        assertEquals(BootPlan.EntryMode.LONG_64, plan.mode());
        assertTrue(plan.description(), !plan.description().contains("not unpacked"));
        assertArrayEquals("segment B, which the bzImage does not cover, cleared", new byte[0x1_0000], bytes(m, 0x300_0000, 0x1_0000));
    }

    @Test
    public void lz4BlocksStandAloneAndHoldAtMost8MiB() {
        // The second block refers back into the first: the kernel's decompressor refuses that, and so does Vireo.
        byte[] frame = KernelPayloadTest.lz4Frame(8, new byte[] {0x40, 'a', 'b', 'c', 'd'}, new byte[] {0x00, 4, 0, 0x00});
        BootException e = assertThrows(BootException.class, () -> KernelPayload.decompress(KernelPayloadTest.bzImageWith(frame)));
        assertTrue(e.getMessage(), e.getMessage().contains("before its block's start"));
        // One block of 8 MiB + 2 bytes (a literal, a zero run of 8 MiB, a literal) in a kernel that says it is that long.
        ByteArrayOutputStream big = new ByteArrayOutputStream();
        big.write(0x1f);
        big.write(0);
        big.write(1);
        big.write(0);
        for (int rest = BLOCK - 19; rest >= 0; rest -= 255) big.write(Math.min(rest, 255));
        big.write(0x10);                                              // the last sequence: one literal
        big.write('z');
        byte[] tooBig = KernelPayloadTest.lz4Frame(BLOCK + 2, big.toByteArray());
        assertThrows(BootException.class, () -> KernelPayload.decompress(KernelPayloadTest.bzImageWith(tooBig)));
    }

    @Test
    public void longOverlappingMatchesRepeatTheirPattern() {
        // "abc", then a 1000-byte match at offset 3, then "xyz".
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.write(0x3f);
        block.writeBytes("abc".getBytes(StandardCharsets.US_ASCII));
        block.write(3);
        block.write(0);
        for (int b : new int[] {255, 255, 255, 1000 - 4 - 15 - 3 * 255}) block.write(b);
        block.write(0x30);
        block.writeBytes("xyz".getBytes(StandardCharsets.US_ASCII));
        byte[] out = KernelPayload.decompress(KernelPayloadTest.bzImageWith(KernelPayloadTest.lz4Frame(1006, block.toByteArray()))).orElseThrow();
        StringBuilder expected = new StringBuilder();
        while (expected.length() < 1003) expected.append("abc");
        expected.setLength(1003);
        assertEquals(expected + "xyz", new String(out, StandardCharsets.US_ASCII));
    }

    @Test
    public void truncatedFilesGiveAClearError() throws Exception {
        byte[] vmlinux = LinuxLoaderTest.fakeVmlinux(true);
        Path cut = file("vmlinux", Arrays.copyOf(vmlinux, 0x1700));       // the second segment's bytes are missing
        BootException e = assertThrows(BootException.class, () -> LinuxLoader.load(memory(64 * MIB), cut, null, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("lies outside the file"));
        Path missing = folder.getRoot().toPath().resolve("no-initrd");
        e = assertThrows(BootException.class, () -> LinuxLoader.load(memory(64 * MIB), file("k", vmlinux), missing, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("cannot read the initrd"));
        Path empty = file("empty", new byte[0]);
        e = assertThrows(BootException.class, () -> LinuxLoader.load(memory(64 * MIB), empty, null, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("neither a bzImage nor an ELF"));
    }

    @Test
    public void mappedInitrdLandsAboveTheKernelOnBothEntries() throws Exception {
        byte[] initrdBytes = new byte[3 * (int) MIB + 5];
        new Random(9).nextBytes(initrdBytes);
        Path initrd = file("initrd", initrdBytes);
        byte[] bz = KernelPayloadTest.bzImageWith(lz4Blocks(LinuxLoaderTest.fakeVmlinux(true)));
        for (LinuxLoader.Unpack unpack : LinuxLoader.Unpack.values()) {
            GuestMemory m = memory(64 * MIB);
            BootPlan plan = LinuxLoader.load(m, file("bz-" + unpack, bz), initrd, "", 0, unpack);
            assertEquals(unpack == LinuxLoader.Unpack.NEVER ? BootPlan.EntryMode.LONG_64 : BootPlan.EntryMode.PROTECTED_32, plan.mode());
            assertEquals(initrdBytes.length, plan.initrdSize());
            assertTrue(plan.initrdStart() >= plan.kernelEnd());
            assertArrayEquals(initrdBytes, bytes(m, plan.initrdStart(), initrdBytes.length));
        }
        BootException e = assertThrows(BootException.class, () -> LinuxLoader.load(memory(20 * MIB), file("k", LinuxLoaderTest.fakeVmlinux(true)), initrd, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("no room for the " + initrdBytes.length + "-byte initrd"));
    }
}
