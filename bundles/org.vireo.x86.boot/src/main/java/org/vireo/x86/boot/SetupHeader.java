package org.vireo.x86.boot;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The fields of a bzImage's real-mode setup header (Documentation/arch/x86/boot.rst) that a 64-bit loader uses.
 * Offsets are from the start of the image file, which are also their offsets in struct boot_params.
 */
public record SetupHeader(int setupSects, long syssize, int version, int loadflags, long initrdAddrMax,
                          long kernelAlignment, boolean relocatable, int xloadflags, long cmdlineSize,
                          long prefAddress, long initSize, int headerEnd, String kernelVersion) {
    static final int SETUP_SECTS = 0x1f1, SYSSIZE = 0x1f4, BOOT_FLAG = 0x1fe, JUMP = 0x200, HEADER = 0x202,
            VERSION = 0x206, KERNEL_VERSION = 0x20e, TYPE_OF_LOADER = 0x210, LOADFLAGS = 0x211, CODE32_START = 0x214,
            RAMDISK_IMAGE = 0x218, RAMDISK_SIZE = 0x21c, HEAP_END_PTR = 0x224, CMD_LINE_PTR = 0x228,
            INITRD_ADDR_MAX = 0x22c, KERNEL_ALIGNMENT = 0x230, RELOCATABLE_KERNEL = 0x234, XLOADFLAGS = 0x236,
            CMDLINE_SIZE = 0x238, PREF_ADDRESS = 0x258, INIT_SIZE = 0x260;
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /**
     * The bytes of a bzImage {@link #parse(MemorySegment)} reads: the header, and kernel_version points at most
     * 0xffff + 0x200 bytes in, at a string of up to 256.
     */
    static final int PARSED_PREFIX = 0x200 + 0x1_0000 + 256;
    /** Where struct setup_header ends in struct boot_params at the latest (2.15); later bytes are not header. */
    static final int MAX_HEADER_END = 0x290;

    public static final int MAGIC = 0x5372_6448;            // "HdrS"
    public static final int MIN_VERSION_64BIT = 0x020c;      // 2.12: xloadflags and the 64-bit entry
    public static final int XLF_KERNEL_64 = 1;
    public static final int LOADED_HIGH = 0x01, CAN_USE_HEAP = 0x80;

    /** True if {@code image} carries a setup header (boot flag and "HdrS"). */
    public static boolean isBzImage(byte[] image) {
        if (image.length < 0x264) return false;
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        return (b.getShort(BOOT_FLAG) & 0xffff) == 0xaa55 && b.getInt(HEADER) == MAGIC;
    }

    /** As {@link #isBzImage(byte[])}, for a mapped file. */
    static boolean isBzImage(MemorySegment image) {
        return image.byteSize() >= 0x264 && (image.get(LE16, BOOT_FLAG) & 0xffff) == 0xaa55
                && image.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), HEADER) == MAGIC;
    }

    /** As {@link #parse(byte[])}, for a mapped file: reads only its first {@link #PARSED_PREFIX} bytes. */
    static SetupHeader parse(MemorySegment image) {
        return parse(image.asSlice(0, Math.min(image.byteSize(), PARSED_PREFIX)).toArray(ValueLayout.JAVA_BYTE));
    }

    /** Parses and checks the header; the image must be bootable through the 64-bit entry. */
    public static SetupHeader parse(byte[] image) {
        if (!isBzImage(image)) throw new BootException("not a bzImage: no boot flag 0xAA55 and \"HdrS\" setup header");
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int version = b.getShort(VERSION) & 0xffff;
        if (version < MIN_VERSION_64BIT) {
            throw new BootException(String.format("boot protocol %d.%02d is too old: the 64-bit entry needs 2.12 or later",
                    version >> 8, version & 0xff));
        }
        int xloadflags = b.getShort(XLOADFLAGS) & 0xffff;
        if ((xloadflags & XLF_KERNEL_64) == 0) throw new BootException("this kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
        int setupSects = image[SETUP_SECTS] & 0xff;
        if (setupSects == 0) setupSects = 4;
        int headerEnd = Math.min(Math.min(HEADER + (image[JUMP + 1] & 0xff), MAX_HEADER_END), image.length);
        long alignment = b.getInt(KERNEL_ALIGNMENT) & 0xffff_ffffL;
        if (alignment == 0 || Long.bitCount(alignment) != 1) throw new BootException("bad kernel_alignment 0x" + Long.toHexString(alignment));
        return new SetupHeader(setupSects, b.getInt(SYSSIZE) & 0xffff_ffffL, version, image[LOADFLAGS] & 0xff,
                b.getInt(INITRD_ADDR_MAX) & 0xffff_ffffL, alignment, image[RELOCATABLE_KERNEL] != 0, xloadflags,
                b.getInt(CMDLINE_SIZE) & 0xffff_ffffL, b.getLong(PREF_ADDRESS), b.getInt(INIT_SIZE) & 0xffff_ffffL,
                headerEnd, kernelVersion(image, b.getShort(KERNEL_VERSION) & 0xffff));
    }

    /** The version string kernel_version points at (relative to the setup code at 0x200), or "". */
    private static String kernelVersion(byte[] image, int pointer) {
        if (pointer == 0) return "";
        int start = pointer + JUMP, end = start;
        while (end < image.length && end - start < 256 && image[end] != 0) end++;
        return start < image.length ? new String(image, start, end - start, StandardCharsets.US_ASCII) : "";
    }

    /** File offset of the protected-mode kernel. */
    public int kernelOffset() { return (setupSects + 1) * 512; }

    public String versionString() { return (version >> 8) + "." + String.format("%02d", version & 0xff); }
}
