package org.vireo.x86.acpi;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

/** Byte-exact encodings, checked against the rules of ACPI 6.5 chapter 20 (AML grammar). */
public class AmlTest {
    private static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (byte) v[i];
        return out;
    }

    @Test
    public void integersTakeTheSmallestEncoding() {
        assertArrayEquals(b(0x00), Aml.integer(0));                       // ZeroOp
        assertArrayEquals(b(0x01), Aml.integer(1));                       // OneOp
        assertArrayEquals(b(0xff), Aml.integer(-1));                      // OnesOp
        assertArrayEquals(b(0x0a, 0x02), Aml.integer(2));                 // BytePrefix
        assertArrayEquals(b(0x0a, 0xff), Aml.integer(0xff));
        assertArrayEquals(b(0x0b, 0x00, 0x01), Aml.integer(0x100));       // WordPrefix
        assertArrayEquals(b(0x0b, 0xff, 0xff), Aml.integer(0xffff));
        assertArrayEquals(b(0x0c, 0x00, 0x00, 0x01, 0x00), Aml.integer(0x1_0000));          // DWordPrefix
        assertArrayEquals(b(0x0c, 0xff, 0xff, 0x00, 0xc0), Aml.integer(0xc000_ffffL));
        assertArrayEquals(b(0x0e, 0, 0, 0, 0, 1, 0, 0, 0), Aml.integer(1L << 32));          // QWordPrefix
        assertArrayEquals(b(0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Aml.integer(-2));
    }

    @Test
    public void pkgLengthBoundaries() {
        // One byte while body + 1 <= 63.
        assertArrayEquals(b(0x3f), Aml.pkgLength(62));
        // A body of 63: 65 in all with a two-byte PkgLength (0x41 = 65: lead 0x40 | 1, then 65 >> 4 = 4).
        assertArrayEquals(b(0x41, 0x04), Aml.pkgLength(63));
        assertArrayEquals(b(0x42, 0x04), Aml.pkgLength(64));
        // Two bytes up to a total of 4095.
        assertArrayEquals(b(0x4f, 0xff), Aml.pkgLength(4093));
        // 4094 + 2 = 4096 does not fit 12 bits: three bytes, total 4097 = 0x1001.
        assertArrayEquals(b(0x81, 0x00, 0x01), Aml.pkgLength(4094));
        assertArrayEquals(b(0x83, 0x00, 0x01), Aml.pkgLength(4096));
        // Three bytes up to 2^20 - 1, then four.
        assertArrayEquals(b(0x8f, 0xff, 0xff), Aml.pkgLength((1 << 20) - 4));
        assertArrayEquals(b(0xc1, 0x00, 0x00, 0x01), Aml.pkgLength((1 << 20) - 3));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(Aml.MAX_PKG_LENGTH));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(-1));
    }

    @Test
    public void pkgLengthOfRealTermsAt63And64And4095And4096Bytes() {
        for (int size : new int[] {63, 64, 4095, 4096}) {
            byte[] data = new byte[size];
            byte[] buffer = Aml.buffer(data);
            // BufferOp, PkgLength, BufferSize (a Word for these), data: the PkgLength counts all but the opcode.
            int lead = buffer[1] & 0xff;
            int follow = lead >> 6;
            int length = follow == 0 ? lead & 0x3f : lead & 0x0f;
            for (int i = 0; i < follow; i++) length |= (buffer[2 + i] & 0xff) << (4 + 8 * i);
            assertEquals("buffer of " + size, buffer.length - 1, length);
        }
    }

    @Test
    public void names() {
        assertArrayEquals(b('_', 'S', 'B', '_'), Aml.nameString("_SB"));
        assertArrayEquals(b('\\', '_', 'S', '5', '_'), Aml.nameString("\\_S5"));
        assertArrayEquals(b('\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'), Aml.nameString("\\_SB.PCI0"));
        assertArrayEquals(b(0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_'), Aml.nameString("_SB.PCI0.S08"));
        assertArrayEquals(b('^', '^', 'A', 'B', 'C', 'D'), Aml.nameString("^^ABCD"));
        assertArrayEquals(b('\\', 0x00), Aml.nameString("\\"));
        assertThrows(IllegalArgumentException.class, () -> Aml.nameSeg("0ABC"));
        assertThrows(IllegalArgumentException.class, () -> Aml.nameSeg("ABCDE"));
        assertThrows(IllegalArgumentException.class, () -> Aml.nameSeg("ab"));
    }

    @Test
    public void stringsNamesPackagesBuffers() {
        assertArrayEquals(b(0x0d, 'L', 'N', 'R', 'O', 0), Aml.string("LNRO"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("\u00e9"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("a\0b"));
        // Name(\_S5_, Package() {5, 5, 0, 0})
        assertArrayEquals(b(0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00),
                Aml.name("\\_S5", Aml.pkg(Aml.integer(5), Aml.integer(5), Aml.integer(0), Aml.integer(0))));
        // Buffer() {1, 2}: BufferOp, PkgLength 5, BufferSize ByteConst 2, data.
        assertArrayEquals(b(0x11, 0x05, 0x0a, 0x02, 0x01, 0x02), Aml.buffer(b(1, 2)));
        assertArrayEquals(b(0x12, 0x02, 0x00), Aml.pkg());
    }

    @Test
    public void eisaIds() {
        // EisaId("PNP0A03") is 0x030AD041 (bytes 41 D0 0A 03), as iasl compiles it.
        assertArrayEquals(b(0x0c, 0x41, 0xd0, 0x0a, 0x03), Aml.eisaId("PNP0A03"));
        assertEquals(0x080AD041L, Aml.eisaIdValue("PNP0A08"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("pnp0a03"));
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId("PNP0A0"));
    }

    @Test
    public void scopesDevicesMethods() {
        // Scope(\_SB) {}: ScopeOp, PkgLength 6 (it counts itself), "\_SB_"
        assertArrayEquals(b(0x10, 0x06, '\\', '_', 'S', 'B', '_'), Aml.scope("\\_SB"));
        // Device(VR00) { Name(_UID, 0) }
        assertArrayEquals(b(0x5b, 0x82, 0x0b, 'V', 'R', '0', '0', 0x08, '_', 'U', 'I', 'D', 0x00),
                Aml.device("VR00", Aml.name("_UID", Aml.integer(0))));
        // Method(_STA, 0, NotSerialized) { Return(0x0F) }
        assertArrayEquals(b(0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f),
                Aml.method("_STA", 0, false, Aml.ret(Aml.integer(0xf))));
        assertArrayEquals(b(0x14, 0x06, 'M', '_', '_', '_', 0x0c), Aml.method("M", 4, true));
        // If (LEqual(Arg0, One)) { Store(Local0, Arg1) } Else { }
        assertArrayEquals(b(0xa0, 0x07, 0x93, 0x68, 0x01, 0x70, 0x60, 0x69, 0xa1, 0x01),
                Aml.concat(Aml.ifOp(Aml.lEqual(Aml.arg(0), Aml.integer(1)), Aml.store(Aml.local(0), Aml.arg(1))), Aml.elseOp()));
        assertArrayEquals(b(0x8a, 0x6b, 0x00, 'C', 'D', 'W', '1'), Aml.createDWordField(Aml.arg(3), Aml.integer(0), "CDW1"));
        assertArrayEquals(b(0x7b, 0x60, 0x0a, 0x1f, 0x60), Aml.and(Aml.local(0), Aml.integer(0x1f), Aml.local(0)));
        assertArrayEquals(b(0x7d, 0x60, 0x0a, 0x04, 0x60), Aml.or(Aml.local(0), Aml.integer(4), Aml.local(0)));
        assertThrows(IllegalArgumentException.class, () -> Aml.method("M", 8, false));
    }
}
