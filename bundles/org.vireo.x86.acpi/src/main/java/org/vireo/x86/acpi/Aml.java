package org.vireo.x86.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An encoder for the ACPI Machine Language (ACPI 6.5, chapter 20, "ACPI Machine Language Specification"): each
 * method returns the bytes of one term, and terms nest by passing their bytes on. Only the terms a virtual PC's
 * DSDT needs are here: names and paths, integers in their smallest encoding, strings, packages, buffers, scopes,
 * devices, methods and the few operators of a simple method body.
 *
 * <p>Everything is checked here rather than left to the guest's interpreter: a name segment is 1-4 characters of
 * {@code A-Z 0-9 _} not starting with a digit, a string holds ASCII 0x01-0x7f, and a package holds at most 255
 * elements (DefPackage's NumElements is a byte).
 */
public final class Aml {
    static final int ZERO_OP = 0x00, ONE_OP = 0x01, ONES_OP = 0xff;
    static final int BYTE_PREFIX = 0x0a, WORD_PREFIX = 0x0b, DWORD_PREFIX = 0x0c, STRING_PREFIX = 0x0d, QWORD_PREFIX = 0x0e;
    static final int NAME_OP = 0x08, SCOPE_OP = 0x10, BUFFER_OP = 0x11, PACKAGE_OP = 0x12, METHOD_OP = 0x14;
    static final int EXT_OP_PREFIX = 0x5b, DEVICE_OP = 0x82;
    static final int ROOT_CHAR = '\\', PARENT_PREFIX = '^', DUAL_NAME_PREFIX = 0x2e, MULTI_NAME_PREFIX = 0x2f, NULL_NAME = 0x00;
    static final int LOCAL0_OP = 0x60, ARG0_OP = 0x68, STORE_OP = 0x70, AND_OP = 0x7b, OR_OP = 0x7d;
    static final int CREATE_DWORD_FIELD_OP = 0x8a, LEQUAL_OP = 0x93, IF_OP = 0xa0, ELSE_OP = 0xa1, RETURN_OP = 0xa4;

    /** The largest value a PkgLength can hold: 28 bits. */
    public static final int MAX_PKG_LENGTH = (1 << 28) - 1;

    private Aml() { }

    // ------------------------------------------------------------------------------------------- lengths and names

    /**
     * The PkgLength of a term whose body (what follows the PkgLength) is {@code bodyLength} bytes. The encoded
     * length counts the PkgLength bytes themselves, so the encoding is chosen for the total: one byte up to 63,
     * then a lead byte whose bits 7-6 say how many bytes follow (1-3), its low nibble the length's low 4 bits
     * and each following byte 8 more bits (20.2.4).
     */
    public static byte[] pkgLength(int bodyLength) {
        if (bodyLength < 0) throw new IllegalArgumentException("negative length " + bodyLength);
        for (int bytes = 1; bytes <= 4; bytes++) {
            long total = (long) bodyLength + bytes;
            if (bytes == 1 && total <= 0x3f) return new byte[] {(byte) total};
            if (bytes > 1 && total < 1L << (4 + 8 * (bytes - 1))) {
                byte[] out = new byte[bytes];
                out[0] = (byte) ((bytes - 1) << 6 | (total & 0xf));
                for (int i = 1; i < bytes; i++) out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
                return out;
            }
        }
        throw new IllegalArgumentException("an AML package cannot hold " + bodyLength + " bytes (PkgLength has 28 bits)");
    }

    /** A NameSeg: 1-4 characters, padded with '_' to four. */
    public static byte[] nameSeg(String seg) {
        if (seg.isEmpty() || seg.length() > 4) throw new IllegalArgumentException("a name segment has 1-4 characters: \"" + seg + "\"");
        byte[] out = new byte[] {'_', '_', '_', '_'};
        for (int i = 0; i < seg.length(); i++) {
            char c = seg.charAt(i);
            boolean lead = c >= 'A' && c <= 'Z' || c == '_';
            if (!(lead || i > 0 && c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("bad character '" + c + "' in name segment \"" + seg + "\"");
            }
            out[i] = (byte) c;
        }
        return out;
    }

    /**
     * A NameString: an optional root ({@code \}) or parent prefixes ({@code ^}), then segments separated by dots,
     * e.g. {@code "_SB.PCI0"}, {@code "\\_S5"}. Two segments take the DualNamePrefix, more the MultiNamePrefix;
     * a bare prefix is followed by the NullName.
     */
    public static byte[] nameString(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        if (path.startsWith("\\")) {
            out.write(ROOT_CHAR);
            i = 1;
        } else {
            while (i < path.length() && path.charAt(i) == '^') {
                out.write(PARENT_PREFIX);
                i++;
            }
        }
        String rest = path.substring(i);
        if (rest.isEmpty()) {
            out.write(NULL_NAME);
            return out.toByteArray();
        }
        String[] segs = rest.split("\\.", -1);
        if (segs.length > 255) throw new IllegalArgumentException("too many segments in " + path);
        if (segs.length == 2) out.write(DUAL_NAME_PREFIX);
        else if (segs.length > 2) {
            out.write(MULTI_NAME_PREFIX);
            out.write(segs.length);
        }
        for (String s : segs) out.writeBytes(nameSeg(s));
        return out.toByteArray();
    }

    // ------------------------------------------------------------------------------------------- data

    /** An integer in its smallest encoding: ZeroOp, OneOp, OnesOp (all 64 bits set), or a Byte/Word/DWord/QWord constant. */
    public static byte[] integer(long value) {
        if (value == 0) return new byte[] {ZERO_OP};
        if (value == 1) return new byte[] {ONE_OP};
        if (value == -1) return new byte[] {(byte) ONES_OP};
        if ((value & ~0xffL) == 0) return new byte[] {BYTE_PREFIX, (byte) value};
        if ((value & ~0xffffL) == 0) return concat(new byte[] {WORD_PREFIX}, le(value, 2));
        if ((value & ~0xffff_ffffL) == 0) return concat(new byte[] {DWORD_PREFIX}, le(value, 4));
        return concat(new byte[] {QWORD_PREFIX}, le(value, 8));
    }

    /** A String: StringPrefix, ASCII characters 0x01-0x7f, NUL. */
    public static byte[] string(String s) {
        byte[] chars = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < chars.length; i++) {
            if (chars[i] <= 0 || s.charAt(i) > 0x7f) throw new IllegalArgumentException("an AML string holds ASCII 0x01-0x7f only");
        }
        return concat(new byte[] {STRING_PREFIX}, chars, new byte[] {0});
    }

    /** An EISA id such as "PNP0A03" compressed into the 32-bit form _HID takes (three letters, four hex digits). */
    public static byte[] eisaId(String id) {
        return integer(eisaIdValue(id));
    }

    static long eisaIdValue(String id) {
        if (id.length() != 7) throw new IllegalArgumentException("an EISA id is 3 letters and 4 hex digits: \"" + id + "\"");
        int v = 0;
        for (int i = 0; i < 3; i++) {
            char c = id.charAt(i);
            if (c < 'A' || c > 'Z') throw new IllegalArgumentException("an EISA id starts with 3 capital letters: \"" + id + "\"");
            v = v << 5 | (c - 'A' + 1);
        }
        int product;
        try {
            product = Integer.parseInt(id.substring(3), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("an EISA id ends with 4 hex digits: \"" + id + "\"");
        }
        int raw = v << 16 | product;
        // Stored as big-endian bytes (the letters first), read by the guest as a little-endian DWORD.
        return Integer.reverseBytes(raw) & 0xffff_ffffL;
    }

    /** DefName: Name(path, value). */
    public static byte[] name(String path, byte[] value) {
        return concat(new byte[] {NAME_OP}, nameString(path), value);
    }

    /** DefPackage: Package() { elements }, at most 255 elements. */
    public static byte[] pkg(byte[]... elements) {
        if (elements.length > 255) throw new IllegalArgumentException("a Package holds at most 255 elements (use a VarPackage)");
        byte[] body = concat(new byte[] {(byte) elements.length}, concat(elements));
        return concat(new byte[] {PACKAGE_OP}, pkgLength(body.length), body);
    }

    /** DefBuffer: Buffer() { data }, its size an integer of the data's length. */
    public static byte[] buffer(byte[] data) {
        byte[] body = concat(integer(data.length), data);
        return concat(new byte[] {BUFFER_OP}, pkgLength(body.length), body);
    }

    // ------------------------------------------------------------------------------------------- namespace

    /** DefScope: Scope(path) { terms }. */
    public static byte[] scope(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {SCOPE_OP}, pkgLength(body.length), body);
    }

    /** DefDevice: Device(path) { terms }. */
    public static byte[] device(String path, byte[]... terms) {
        byte[] body = concat(nameString(path), concat(terms));
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, pkgLength(body.length), body);
    }

    /** DefMethod: Method(path, args, NotSerialized or Serialized) { terms }, sync level 0. */
    public static byte[] method(String path, int args, boolean serialized, byte[]... terms) {
        if (args < 0 || args > 7) throw new IllegalArgumentException("a method takes 0-7 arguments, not " + args);
        byte[] body = concat(nameString(path), new byte[] {(byte) (args | (serialized ? 0x08 : 0))}, concat(terms));
        return concat(new byte[] {METHOD_OP}, pkgLength(body.length), body);
    }

    // ------------------------------------------------------------------------------------------- method bodies

    public static byte[] arg(int n) {
        if (n < 0 || n > 6) throw new IllegalArgumentException("Arg0-Arg6, not Arg" + n);
        return new byte[] {(byte) (ARG0_OP + n)};
    }

    public static byte[] local(int n) {
        if (n < 0 || n > 7) throw new IllegalArgumentException("Local0-Local7, not Local" + n);
        return new byte[] {(byte) (LOCAL0_OP + n)};
    }

    /** Return(value). */
    public static byte[] ret(byte[] value) { return concat(new byte[] {(byte) RETURN_OP}, value); }

    /** Store(source, target). */
    public static byte[] store(byte[] source, byte[] target) { return concat(new byte[] {STORE_OP}, source, target); }

    /** And(a, b, target). */
    public static byte[] and(byte[] a, byte[] b, byte[] target) { return concat(new byte[] {AND_OP}, a, b, target); }

    /** Or(a, b, target). */
    public static byte[] or(byte[] a, byte[] b, byte[] target) { return concat(new byte[] {OR_OP}, a, b, target); }

    /** LEqual(a, b). */
    public static byte[] lEqual(byte[] a, byte[] b) { return concat(new byte[] {(byte) LEQUAL_OP}, a, b); }

    /** CreateDWordField(source, byteIndex, name). */
    public static byte[] createDWordField(byte[] source, byte[] index, String name) {
        return concat(new byte[] {(byte) CREATE_DWORD_FIELD_OP}, source, index, nameString(name));
    }

    /** If(predicate) { terms }. */
    public static byte[] ifOp(byte[] predicate, byte[]... terms) {
        byte[] body = concat(predicate, concat(terms));
        return concat(new byte[] {(byte) IF_OP}, pkgLength(body.length), body);
    }

    /** Else { terms } (directly after an If). */
    public static byte[] elseOp(byte[]... terms) {
        byte[] body = concat(terms);
        return concat(new byte[] {(byte) ELSE_OP}, pkgLength(body.length), body);
    }

    // ------------------------------------------------------------------------------------------- bytes

    /** The bytes of all parts in order. */
    public static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static byte[] le(long value, int bytes) {
        byte[] out = new byte[bytes];
        for (int i = 0; i < bytes; i++) out[i] = (byte) (value >>> (8 * i));
        return out;
    }
}
