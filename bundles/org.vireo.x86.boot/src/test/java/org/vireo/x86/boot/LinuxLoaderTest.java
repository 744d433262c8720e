package org.vireo.x86.boot;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestMemory;

public class LinuxLoaderTest {
    private static final long MIB = 1 << 20;
    private final Arena arena = Arena.ofShared();

    @After
    public void tearDown() { arena.close(); }

    private GuestMemory memory(long bytes) { return GuestMemory.allocate(arena, bytes); }

    /** A minimal bzImage: 4 setup sectors, then {@code kernelBytes} of protected-mode "code". */
    static byte[] fakeBzImage(int kernelBytes, int version, int xloadflags, long prefAddress, long initSize) {
        byte[] image = new byte[5 * 512 + kernelBytes];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        image[0x1f1] = 4;
        b.putInt(0x1f4, kernelBytes / 16);
        b.putShort(0x1fe, (short) 0xaa55);
        image[0x200] = (byte) 0xeb;
        image[0x201] = 0x6a;                       // header ends at 0x26c
        b.putInt(0x202, 0x5372_6448);
        b.putShort(0x206, (short) version);
        b.putShort(0x20e, (short) 0x300);          // kernel_version string at 0x500
        byte[] v = "6.1.0-test (vireo@test) #1".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(v, 0, image, 0x500, v.length);
        image[0x211] = 0x01;
        b.putInt(0x22c, 0x7fff_ffff);
        b.putInt(0x230, 0x20_0000);
        image[0x234] = 1;
        b.putShort(0x236, (short) xloadflags);
        b.putInt(0x238, 2047);
        b.putLong(0x258, prefAddress);
        b.putInt(0x260, (int) initSize);
        for (int i = 0; i < kernelBytes; i++) image[0xa00 + i] = (byte) (i * 7 + 1);
        return image;
    }

    static byte[] standardBzImage() { return fakeBzImage(0x3000, 0x020f, 0x7f, 0x100_0000, 0x40_0000); }

    private static byte[] bytes(GuestMemory m, long at, int n) {
        byte[] out = new byte[n];
        m.read(at, out, 0, n);
        return out;
    }

    private static String cString(GuestMemory m, long at) {
        StringBuilder s = new StringBuilder();
        for (byte c; (c = m.readByte(at++)) != 0; ) s.append((char) c);
        return s.toString();
    }

    @Test
    public void bzImageLoadsAtPrefAddressWithAZeroPage() {
        GuestMemory m = memory(64 * MIB);
        byte[] image = standardBzImage();
        byte[] initrd = new byte[100_000];
        for (int i = 0; i < initrd.length; i++) initrd[i] = (byte) (i ^ 0x5a);
        BootPlan plan = LinuxLoader.load(m, image, initrd, "console=ttyS0 acpi=off");

        assertEquals(BootPlan.EntryMode.LONG_64, plan.mode());
        assertEquals(0x100_0200L, plan.rip());
        assertArrayEquals(java.util.Arrays.copyOfRange(image, 0xa00, image.length), bytes(m, 0x100_0000, 0x3000));
        long zp = plan.rsi();
        assertEquals(0x7000, zp);
        assertEquals(0x5372_6448, m.readInt(zp + 0x202));
        assertEquals(0x020f, m.readShort(zp + 0x206));
        assertEquals((byte) 0xff, m.readByte(zp + 0x210));
        assertEquals("LOADED_HIGH | CAN_USE_HEAP", (byte) 0x81, m.readByte(zp + 0x211));
        assertEquals(0xde00, m.readShort(zp + 0x224) & 0xffff);
        assertEquals("nothing past the header is copied", 0, m.readByte(zp + 0x26c));
        assertEquals("console=ttyS0 acpi=off", cString(m, m.readInt(zp + 0x228) & 0xffff_ffffL));
        assertEquals(0, m.readInt(zp + 0x0c8));

        long initrdAt = m.readInt(zp + 0x218) & 0xffff_ffffL;
        assertEquals(initrd.length, m.readInt(zp + 0x21c));
        assertEquals(plan.initrdStart(), initrdAt);
        assertEquals("page aligned", 0, initrdAt & 0xfff);
        assertTrue("high, at the top of RAM", initrdAt + initrd.length <= 64 * MIB && initrdAt + initrd.length > 64 * MIB - 0x1000);
        assertTrue("clear of init_size", initrdAt >= plan.kernelEnd());
        assertArrayEquals(initrd, bytes(m, initrdAt, initrd.length));

        assertEquals(3, m.readByte(zp + 0x1e8));
        List<E820Entry> expected = List.of(new E820Entry(0, 0x9fc00, 1), new E820Entry(0x9fc00, 0x60400, 2),
                new E820Entry(0x10_0000, 63 * MIB, 1));
        assertEquals(expected, plan.memoryMap());
        for (int i = 0; i < 3; i++) {
            long at = zp + 0x2d0 + 20L * i;
            assertEquals(expected.get(i), new E820Entry(m.readLong(at), m.readLong(at + 8), m.readInt(at + 16)));
        }
        assertTrue(plan.description(), plan.description().contains("6.1.0-test"));
    }

    @Test
    public void longModeStateWithIdentityPagingAndFlatGdt() {
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, standardBzImage(), null, "");
        assertEquals(0x8000_0011L, plan.cr0());
        assertEquals(0x20, plan.cr4());
        assertEquals(0x500, plan.efer());
        assertEquals(0x2, plan.rflags());
        for (long va : new long[] {0, 0x7000, 0x100_0200, 0x3fff_ffffL, 0x4000_0000L, 0xc123_4567L, 0xffff_ffffL}) {
            assertEquals("identity at 0x" + Long.toHexString(va), va, translate(m, plan.cr3(), va));
        }
        assertEquals(0x10, plan.code().selector());
        assertEquals(0x18, plan.data().selector());
        assertEquals(0x00af_9b00_0000_ffffL, m.readLong(plan.gdtBase() + 0x10));
        assertEquals(0x00cf_9300_0000_ffffL, m.readLong(plan.gdtBase() + 0x18));
        assertEquals(31, plan.gdtLimit());
        assertEquals("P S code/read/accessed, L, G", 0xa09b, plan.code().attributes());
        assertEquals("P S data/write/accessed, D/B, G", 0xc093, plan.data().attributes());
        assertEquals(-1, plan.data().limit());
        assertEquals(0, plan.initrdStart());
    }

    /** A 4-level walk with 2 MiB pages, as the CPU would do it. */
    private static long translate(GuestMemory m, long cr3, long va) {
        long pml4e = m.readLong((cr3 & ~0xfffL) + ((va >>> 39) & 511) * 8);
        assertEquals(1, pml4e & 1);
        long pdpte = m.readLong((pml4e & 0xf_ffff_ffff_f000L) + ((va >>> 30) & 511) * 8);
        assertEquals(1, pdpte & 1);
        long pde = m.readLong((pdpte & 0xf_ffff_ffff_f000L) + ((va >>> 21) & 511) * 8);
        assertEquals("present, writable, 2 MiB", 0x83, pde & 0x83);
        return (pde & 0xf_ffff_ffe0_0000L) | (va & 0x1f_ffff);
    }

    @Test
    public void relocatesWhenPrefAddressDoesNotFit() {
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, fakeBzImage(0x1000, 0x020f, 0x7f, 0x8000_0000L, 0x40_0000), null, "");
        assertEquals("aligned to kernel_alignment", 0, plan.kernelStart() % 0x20_0000);
        assertTrue(plan.kernelStart() >= 16 * MIB && plan.kernelEnd() <= 64 * MIB);
        assertEquals(plan.kernelStart() + 0x200, plan.rip());
    }

    @Test
    public void initrdStaysBelowInitrdAddrMax() {
        GuestMemory m = memory(64 * MIB);
        byte[] image = standardBzImage();
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x22c, 0x01ff_ffff);
        BootPlan plan = LinuxLoader.load(m, image, new byte[5000], "");
        assertTrue(plan.initrdStart() + 5000 <= 0x200_0000);
        assertTrue(plan.initrdStart() >= plan.kernelEnd());
    }

    @Test
    public void refusesWhatCannotBoot() {
        GuestMemory m = memory(32 * MIB);
        assertThrows(BootException.class, () -> LinuxLoader.load(m, new byte[4096], null, ""));
        BootException old = assertThrows(BootException.class,
                () -> LinuxLoader.load(m, fakeBzImage(0x1000, 0x020b, 0x7f, 0x100_0000, 0x1000), null, ""));
        assertTrue(old.getMessage(), old.getMessage().contains("2.12"));
        BootException no64 = assertThrows(BootException.class,
                () -> LinuxLoader.load(m, fakeBzImage(0x1000, 0x020f, 0x02, 0x100_0000, 0x1000), null, ""));
        assertTrue(no64.getMessage(), no64.getMessage().contains("64-bit"));
        BootException big = assertThrows(BootException.class,
                () -> LinuxLoader.load(m, fakeBzImage(0x1000, 0x020f, 0x7f, 0x100_0000, 0x400_0000), null, ""));
        assertTrue(big.getMessage(), big.getMessage().contains("memory"));
        BootException longLine = assertThrows(BootException.class,
                () -> LinuxLoader.load(m, standardBzImage(), null, "x".repeat(2048)));
        assertTrue(longLine.getMessage(), longLine.getMessage().contains("2047"));
        BootException fat = assertThrows(BootException.class,
                () -> LinuxLoader.load(m, standardBzImage(), new byte[13 << 20], ""));
        assertTrue(fat.getMessage(), fat.getMessage().contains("initrd"));
    }

    // ------------------------------------------------------------------------------------------ PVH

    /** An ELF64 vmlinux with a text segment at 16 MiB, a bss-style segment and a note segment. */
    static byte[] fakeVmlinux(boolean withPvhNote) {
        byte[] image = new byte[0x3000];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        image[0] = 0x7f; image[1] = 'E'; image[2] = 'L'; image[3] = 'F';
        image[4] = 2; image[5] = 1; image[6] = 1;
        b.putShort(16, (short) 2);
        b.putShort(18, (short) 62);
        b.putLong(32, 64);                              // e_phoff
        b.putShort(54, (short) 56);
        b.putShort(56, (short) 3);
        phdr(b, 64, 1, 0x1000, 0xffff_ffff_8100_0000L, 0x100_0000, 0x800, 0x800);
        phdr(b, 64 + 56, 1, 0x1800, 0xffff_ffff_8120_0000L, 0x120_0000, 0x100, 0x4000);
        int notes = 0x2000;
        int at = note(b, notes, "Xen", 6, "linux\0".getBytes(StandardCharsets.US_ASCII));
        at = note(b, at, "GNU", 3, new byte[20]);
        if (withPvhNote) at = note(b, at, "Xen", 18, new byte[] {0x50, 0x08, 0x00, 0x01});
        phdr(b, 64 + 112, 4, notes, 0, 0, at - notes, at - notes);
        for (int i = 0; i < 0x900; i++) image[0x1000 + i] = (byte) (i + 3);
        return image;
    }

    private static void phdr(ByteBuffer b, int at, int type, long offset, long vaddr, long paddr, long filesz, long memsz) {
        b.putInt(at, type);
        b.putLong(at + 8, offset);
        b.putLong(at + 16, vaddr);
        b.putLong(at + 24, paddr);
        b.putLong(at + 32, filesz);
        b.putLong(at + 40, memsz);
    }

    private static int note(ByteBuffer b, int at, String name, int type, byte[] desc) {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        b.putInt(at, n.length);
        b.putInt(at + 4, desc.length);
        b.putInt(at + 8, type);
        b.put(at + 12, n);
        int d = at + 12 + ((n.length + 3) & ~3);
        b.put(d, desc);
        return d + ((desc.length + 3) & ~3);
    }

    @Test
    public void pvhLoadsSegmentsAndStartInfo() {
        GuestMemory m = memory(64 * MIB);
        m.fill(0x120_0000, 0x4000, (byte) 0xcc);        // stale bytes where the bss goes
        byte[] image = fakeVmlinux(true);
        byte[] initrd = "initrd contents".getBytes(StandardCharsets.US_ASCII);
        BootPlan plan = LinuxLoader.load(m, image, initrd, "console=ttyS0");

        assertEquals(BootPlan.EntryMode.PROTECTED_32, plan.mode());
        assertEquals(0x100_0850L, plan.rip());
        assertArrayEquals(java.util.Arrays.copyOfRange(image, 0x1000, 0x1800), bytes(m, 0x100_0000, 0x800));
        assertArrayEquals(java.util.Arrays.copyOfRange(image, 0x1800, 0x1900), bytes(m, 0x120_0000, 0x100));
        assertArrayEquals("bss cleared", new byte[0x3f00], bytes(m, 0x120_0100, 0x3f00));
        assertEquals(0x11, plan.cr0());
        assertEquals(0, plan.cr4());
        assertEquals(0, plan.efer());
        assertEquals("P S code/read/accessed, D/B, G", 0xc09b, plan.code().attributes());
        assertEquals(0x00cf_9b00_0000_ffffL, m.readLong(plan.gdtBase() + 0x10));

        long si = plan.rbx();
        assertEquals(0x336e_c578, m.readInt(si));
        assertEquals(1, m.readInt(si + 4));
        assertEquals(1, m.readInt(si + 12));
        assertEquals("console=ttyS0", cString(m, m.readLong(si + 24)));
        long modlist = m.readLong(si + 16);
        assertEquals(plan.initrdStart(), m.readLong(modlist));
        assertEquals(initrd.length, m.readLong(modlist + 8));
        assertArrayEquals(initrd, bytes(m, plan.initrdStart(), initrd.length));
        assertTrue(plan.initrdStart() >= plan.kernelEnd());
        long memmap = m.readLong(si + 40);
        int entries = m.readInt(si + 48);
        assertEquals(3, entries);
        assertEquals(0x10_0000, m.readLong(memmap + 48));
        assertEquals(63 * MIB, m.readLong(memmap + 56));
        assertEquals(1, m.readInt(memmap + 64));
        assertEquals(2, m.readInt(memmap + 24 + 16));
    }

    @Test
    public void rsdpAddressGoesToTheZeroPageAndTheStartInfo() {
        GuestMemory m = memory(64 * MIB);
        BootPlan plan = LinuxLoader.load(m, standardBzImage(), null, "console=ttyS0", 0xE_0000);
        assertEquals("boot_params.acpi_rsdp_addr", 0xE_0000L, m.readLong(plan.rsi() + 0x070));
        assertTrue("the tables' area is reserved in the e820 map", plan.memoryMap().stream()
                .anyMatch(e -> e.type() == E820Entry.RESERVED && e.address() <= 0xE_0000 && e.end() >= 0x10_0000));
        GuestMemory none = memory(64 * MIB);
        BootPlan without = LinuxLoader.load(none, standardBzImage(), null, "console=ttyS0");
        assertEquals(0, none.readLong(without.rsi() + 0x070));

        GuestMemory pvh = memory(64 * MIB);
        BootPlan p = LinuxLoader.load(pvh, fakeVmlinux(true), null, "console=ttyS0", 0xE_0000);
        assertEquals("hvm_start_info.rsdp_paddr", 0xE_0000L, pvh.readLong(p.rbx() + 32));
    }

    @Test
    public void elfWithoutPvhNoteIsRefused() {
        GuestMemory m = memory(64 * MIB);
        BootException e = assertThrows(BootException.class, () -> LinuxLoader.load(m, fakeVmlinux(false), null, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("PVH"));
    }

    @Test
    public void elfSegmentOutsideRamIsRefused() {
        GuestMemory m = memory(16 * MIB);
        BootException e = assertThrows(BootException.class, () -> LinuxLoader.load(m, fakeVmlinux(true), null, ""));
        assertTrue(e.getMessage(), e.getMessage().contains("not in guest RAM"));
    }
}
