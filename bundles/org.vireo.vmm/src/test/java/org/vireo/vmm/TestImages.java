package org.vireo.vmm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tiny kernels for tests: a bzImage (64-bit entry) or PVH ELF whose code is the given machine code. */
final class TestImages {
    private TestImages() { }

    /** A bzImage whose protected-mode part is {@code code} placed at offset 0x200 (the 64-bit entry). */
    static byte[] bzImage(byte[] code) {
        int kernelBytes = 0x200 + code.length;
        byte[] image = new byte[5 * 512 + kernelBytes];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        image[0x1f1] = 4;
        b.putShort(0x1fe, (short) 0xaa55);
        image[0x200] = (byte) 0xeb;
        image[0x201] = 0x6a;
        b.putInt(0x202, 0x5372_6448);
        b.putShort(0x206, (short) 0x020f);
        image[0x211] = 0x01;
        b.putInt(0x22c, 0x7fff_ffff);
        b.putInt(0x230, 0x20_0000);
        image[0x234] = 1;
        b.putShort(0x236, (short) 0x7f);
        b.putInt(0x238, 2047);
        b.putLong(0x258, 0x100_0000);
        b.putInt(0x260, 0x10_0000);
        System.arraycopy(code, 0, image, 0xa00 + 0x200, code.length);
        return image;
    }

    /** An ELF64 vmlinux with one segment at 16 MiB holding {@code code}, entered through PVH at its start. */
    static byte[] pvhElf(byte[] code) {
        byte[] image = new byte[0x1000 + code.length];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        image[0] = 0x7f; image[1] = 'E'; image[2] = 'L'; image[3] = 'F';
        image[4] = 2; image[5] = 1; image[6] = 1;
        b.putShort(16, (short) 2);
        b.putShort(18, (short) 62);
        b.putLong(32, 64);
        b.putShort(54, (short) 56);
        b.putShort(56, (short) 2);
        b.putInt(64, 1);                            // PT_LOAD
        b.putLong(64 + 8, 0x1000);
        b.putLong(64 + 24, 0x100_0000);
        b.putLong(64 + 32, code.length);
        b.putLong(64 + 40, code.length);
        int note = 0x800;
        b.putInt(120, 4);                           // PT_NOTE
        b.putLong(120 + 8, note);
        b.putLong(120 + 32, 20);
        b.putInt(note, 4);
        b.putInt(note + 4, 4);
        b.putInt(note + 8, 18);                     // XEN_ELFNOTE_PHYS32_ENTRY
        b.put(note + 12, new byte[] {'X', 'e', 'n', 0});
        b.putInt(note + 16, 0x100_0000);
        System.arraycopy(code, 0, image, 0x1000, code.length);
        return image;
    }

    static Path write(Path dir, String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }
}
