package org.vireo.x86.acpi;

import java.io.ByteArrayOutputStream;

/**
 * An ACPI resource template (ACPI 6.5, 6.4 "Resource Data Types for ACPI"): the descriptors a _CRS buffer holds,
 * closed by an End Tag whose checksum makes the whole template sum to zero. {@link #toAml()} gives the Buffer term.
 */
public final class ResourceTemplate {
    static final int IO_TAG = 0x47, END_TAG = 0x79;
    static final int MEMORY32_FIXED_TAG = 0x86, DWORD_ADDRESS_TAG = 0x87, WORD_ADDRESS_TAG = 0x88, EXTENDED_IRQ_TAG = 0x89;
    static final int SPACE_MEMORY = 0, SPACE_IO = 1, SPACE_BUS = 2;
    /** General flags of an address space descriptor: a producer (a bridge's window) with fixed minimum and maximum. */
    static final int PRODUCER_FIXED = 0x0c;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** IO(Decode16, min, max, alignment, length): a small I/O port descriptor decoding all 16 address bits. */
    public ResourceTemplate io(int min, int max, int alignment, int length) {
        checkRange("I/O port", min, 0xffff);
        checkRange("I/O port", max, 0xffff);
        checkRange("alignment", alignment, 0xff);
        checkRange("length", length, 0xff);
        out.write(IO_TAG);
        out.write(1);
        out.writeBytes(Aml.le(min, 2));
        out.writeBytes(Aml.le(max, 2));
        out.write(alignment);
        out.write(length);
        return this;
    }

    /** Memory32Fixed(ReadWrite, base, length). */
    public ResourceTemplate memory32Fixed(long base, long length) {
        checkRange("base", base, 0xffff_ffffL);
        checkRange("length", length, 0xffff_ffffL);
        out.write(MEMORY32_FIXED_TAG);
        out.writeBytes(Aml.le(9, 2));
        out.write(1);                                   // read-write
        out.writeBytes(Aml.le(base, 4));
        out.writeBytes(Aml.le(length, 4));
        return this;
    }

    /**
     * Interrupt(ResourceConsumer, Level or Edge, ActiveHigh or ActiveLow, Exclusive or Shared) { gsi }: an extended
     * interrupt descriptor with one interrupt.
     */
    public ResourceTemplate interrupt(boolean level, boolean activeLow, boolean shared, int gsi) {
        if (gsi < 0) throw new IllegalArgumentException("negative interrupt " + gsi);
        out.write(EXTENDED_IRQ_TAG);
        out.writeBytes(Aml.le(6, 2));
        out.write(1 | (level ? 0 : 2) | (activeLow ? 4 : 0) | (shared ? 8 : 0));   // bit 0: consumer
        out.write(1);
        out.writeBytes(Aml.le(gsi, 4));
        return this;
    }

    /** WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, count). */
    public ResourceTemplate wordBusNumber(int min, int max) {
        return wordAddress(SPACE_BUS, 0, min, max);
    }

    /** WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length). */
    public ResourceTemplate wordIo(int min, int max) {
        return wordAddress(SPACE_IO, 3, min, max);
    }

    /** DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, min, max, 0, length). */
    public ResourceTemplate dwordMemory(long min, long max) {
        checkRange("address", min, 0xffff_ffffL);
        checkRange("address", max, 0xffff_ffffL);
        if (max < min) throw new IllegalArgumentException("maximum below minimum");
        return address(DWORD_ADDRESS_TAG, 4, SPACE_MEMORY, 1, min, max);   // read-write, non-cacheable
    }

    private ResourceTemplate wordAddress(int space, int typeFlags, int min, int max) {
        checkRange("minimum", min, 0xffff);
        checkRange("maximum", max, 0xffff);
        if (max < min) throw new IllegalArgumentException("maximum below minimum");
        return address(WORD_ADDRESS_TAG, 2, space, typeFlags, min, max);
    }

    /** A Word (width 2) or DWord (width 4) Address Space Descriptor, fixed range, no translation (ACPI 6.5, 6.4.3.5). */
    private ResourceTemplate address(int tag, int width, int space, int typeFlags, long min, long max) {
        out.write(tag);
        out.writeBytes(Aml.le(3 + 5 * width, 2));       // space, flags, type flags, then five fields of `width` bytes
        out.write(space);
        out.write(PRODUCER_FIXED);
        out.write(typeFlags);
        out.writeBytes(Aml.le(0, width));               // granularity
        out.writeBytes(Aml.le(min, width));
        out.writeBytes(Aml.le(max, width));
        out.writeBytes(Aml.le(0, width));               // translation
        out.writeBytes(Aml.le(max - min + 1, width));
        return this;
    }

    /** The descriptors and the End Tag, its checksum byte making the template's bytes sum to zero. */
    public byte[] bytes() {
        byte[] body = out.toByteArray();
        byte[] all = new byte[body.length + 2];
        System.arraycopy(body, 0, all, 0, body.length);
        all[body.length] = (byte) END_TAG;
        int sum = 0;
        for (int i = 0; i < body.length + 1; i++) sum += all[i];
        all[body.length + 1] = (byte) -sum;
        return all;
    }

    /** The template as an AML Buffer term, ready for Name(_CRS, ...). */
    public byte[] toAml() { return Aml.buffer(bytes()); }

    private static void checkRange(String what, long value, long max) {
        if (value < 0 || value > max) throw new IllegalArgumentException(what + " 0x" + Long.toHexString(value) + " out of range");
    }
}
