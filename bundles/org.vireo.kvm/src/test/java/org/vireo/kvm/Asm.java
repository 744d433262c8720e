package org.vireo.kvm;

import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;

/**
 * A tiny x86 assembler for freestanding test guests: just the instructions the tests use, each method named after
 * the instruction it emits (Intel syntax in the comments). Operand-size prefixes follow the mode, so the same call
 * gives the 32-bit form in real mode (0x66 prefix) and in protected mode (none). Short jumps to labels are fixed up
 * by {@link #bytes()}.
 */
final class Asm {
    enum Mode { REAL16, PROT32, LONG64 }

    /** General registers by their encoding number. */
    enum R { AX, CX, DX, BX, SP, BP, SI, DI }

    /** Segment registers by their encoding number. */
    enum Sreg { ES, CS, SS, DS, FS, GS }

    private record Fixup(int at, String label) {}

    private final Mode mode;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();

    Asm(Mode mode) { this.mode = mode; }

    static Asm real() { return new Asm(Mode.REAL16); }

    static Asm prot32() { return new Asm(Mode.PROT32); }

    static Asm long64() { return new Asm(Mode.LONG64); }

    int here() { return out.size(); }

    byte[] bytes() {
        byte[] b = out.toByteArray();
        for (Fixup f : fixups) {
            Integer target = labels.get(f.label);
            if (target == null) throw new IllegalStateException("undefined label " + f.label);
            int rel = target - (f.at + 1);
            if (rel < -128 || rel > 127) throw new IllegalStateException("jump to " + f.label + " out of short range");
            b[f.at] = (byte) rel;
        }
        return b;
    }

    Asm raw(int... bytes) {
        for (int x : bytes) out.write(x);
        return this;
    }

    private void imm(long value, int width) {
        for (int i = 0; i < width / 8; i++) out.write((int) (value >>> (8 * i)));
    }

    /** Operand-size prefix (and REX.W) for a {@code width}-bit operation in this mode. */
    private void size(int width) {
        switch (mode) {
            case REAL16 -> { if (width == 32) out.write(0x66); else if (width != 16 && width != 8) bad(width); }
            case PROT32 -> { if (width == 16) out.write(0x66); else if (width != 32 && width != 8) bad(width); }
            case LONG64 -> {
                if (width == 16) out.write(0x66);
                else if (width == 64) out.write(0x48);
                else if (width != 32 && width != 8) bad(width);
            }
        }
    }

    private static void bad(int width) { throw new IllegalArgumentException("width " + width + " not available in this mode"); }

    /** Address displacement of an absolute memory operand: 16 bits in real mode, 32 otherwise. */
    private void disp(long address) { imm(address, mode == Mode.REAL16 ? 16 : 32); }

    // ---- moves ----

    /** mov r8/r16/r32/r64, imm (B0+r / B8+r). For width 8, R.AX..R.BX mean AL..BL. */
    Asm mov(R r, long value, int width) {
        if (width == 8) {
            raw(0xB0 + r.ordinal());
            imm(value, 8);
        } else {
            size(width);
            raw(0xB8 + r.ordinal());
            imm(value, width);
        }
        return this;
    }

    /** mov sreg, r16 (8E /r). */
    Asm movSreg(Sreg s, R r) { return raw(0x8E, 0xC0 | (s.ordinal() << 3) | r.ordinal()); }

    /** mov al/ax/eax, [moffs] (A0 / A1): an absolute load; not for LONG64 (whose moffs is 64-bit). */
    Asm loadAbs(int width, long address) {
        noLong();
        if (width == 8) raw(0xA0); else { size(width); raw(0xA1); }
        disp(address);
        return this;
    }

    /** mov [moffs], al/ax/eax (A2 / A3). */
    Asm storeAbs(int width, long address) {
        noLong();
        if (width == 8) raw(0xA2); else { size(width); raw(0xA3); }
        disp(address);
        return this;
    }

    /** mov byte/word/dword [disp], imm (C6 06 / C7 06 in real mode; C6 05 / C7 05 in protected mode). */
    Asm storeImm(int width, long address, long value) {
        noLong();
        int modrm = mode == Mode.REAL16 ? 0x06 : 0x05;
        if (width == 8) raw(0xC6, modrm); else { size(width); raw(0xC7, modrm); }
        disp(address);
        imm(value, width == 8 ? 8 : width);
        return this;
    }

    /** mov [disp], r16/r32 (89 /r with a disp16 in real mode, disp32 in protected mode). */
    Asm storeReg(R r, int width, long address) {
        noLong();
        size(width);
        raw(0x89, (r.ordinal() << 3) | (mode == Mode.REAL16 ? 0x06 : 0x05));
        disp(address);
        return this;
    }

    /** mov eax/rax, [bx|ebx|rbx] (8B 07 in real mode, 8B 03 otherwise). */
    Asm loadIndirectBx(int width) {
        size(width);
        return raw(0x8B, mode == Mode.REAL16 ? 0x07 : 0x03);
    }

    /** mov [bx|ebx|rbx], eax/rax (89 07 / 89 03). */
    Asm storeIndirectBx(int width) {
        size(width);
        return raw(0x89, mode == Mode.REAL16 ? 0x07 : 0x03);
    }

    /** mov [bx|ebx|rbx + disp8], eax (89 47 d8 / 89 43 d8). */
    Asm storeIndirectBx(int width, int disp8) {
        size(width);
        return raw(0x89, mode == Mode.REAL16 ? 0x47 : 0x43, disp8 & 0xFF);
    }

    private void noLong() {
        if (mode == Mode.LONG64) throw new IllegalStateException("absolute moffs forms are not supported in 64-bit mode here");
    }

    // ---- port I/O ----

    /** out dx, al/ax/eax (EE / EF). */
    Asm outDx(int width) {
        if (width == 8) return raw(0xEE);
        size(width);
        return raw(0xEF);
    }

    /** in al/ax/eax, dx (EC / ED). */
    Asm inDx(int width) {
        if (width == 8) return raw(0xEC);
        size(width);
        return raw(0xED);
    }

    /** out imm8, al (E6 ib). */
    Asm outImm(int port) { return raw(0xE6, port); }

    /** in al, imm8 (E4 ib). */
    Asm inImm(int port) { return raw(0xE4, port); }

    /** rep outsb (F3 6E): cx bytes from ds:si to port dx. */
    Asm repOutsb() { return raw(0xF3, 0x6E); }

    /** rep outsw (F3 6F). */
    Asm repOutsw() { return raw(0xF3, 0x6F); }

    /** rep stosd (F3 66 AB in real mode, F3 AB in protected mode): cx dwords of eax to es:di. */
    Asm repStosd() {
        raw(0xF3);
        size(32);
        return raw(0xAB);
    }

    /** rep movsb (F3 A4): cx bytes from ds:si to es:di. */
    Asm repMovsb() { return raw(0xF3, 0xA4); }

    /** rep insw (F3 6D in real mode): cx words from port dx to es:di. */
    Asm repInsw() {
        raw(0xF3);
        size(16);
        return raw(0x6D);
    }

    /** rep insb (F3 6C): cx bytes from port dx to es:di. */
    Asm repInsb() { return raw(0xF3, 0x6C); }

    // ---- arithmetic and flow ----

    /** cmp ax/eax, imm (3D). */
    Asm cmpAx(int width, long value) {
        size(width);
        raw(0x3D);
        imm(value, width == 64 ? 32 : width);
        return this;
    }

    /** cmp a, b (39 /r): flags of a - b. */
    Asm cmp(R a, R b, int width) {
        size(width);
        return raw(0x39, 0xC0 | (b.ordinal() << 3) | a.ordinal());
    }

    /** inc r16/r32 (40+r in 16/32-bit modes; FF /0 in 64-bit mode). */
    Asm inc(R r, int width) {
        size(width);
        if (mode == Mode.LONG64) return raw(0xFF, 0xC0 | r.ordinal());
        return raw(0x40 + r.ordinal());
    }

    /** dec r16/r32 (48+r in 16/32-bit modes; FF /1 in 64-bit mode). */
    Asm dec(R r, int width) {
        size(width);
        if (mode == Mode.LONG64) return raw(0xFF, 0xC8 | r.ordinal());
        return raw(0x48 + r.ordinal());
    }

    /** shr r, imm8 (C1 /5 ib). */
    Asm shr(R r, int width, int count) {
        size(width);
        return raw(0xC1, 0xE8 | r.ordinal(), count);
    }

    /** xor r, r (31 /r): zero a register. */
    Asm zero(R r, int width) {
        size(width);
        return raw(0x31, 0xC0 | (r.ordinal() << 3) | r.ordinal());
    }

    Asm label(String name) {
        if (labels.put(name, here()) != null) throw new IllegalStateException("label " + name + " defined twice");
        return this;
    }

    private Asm shortJump(int opcode, String label) {
        raw(opcode);
        fixups.add(new Fixup(here(), label));
        return raw(0);
    }

    /** jmp rel8 (EB). */
    Asm jmp(String label) { return shortJump(0xEB, label); }

    /** jne/jnz rel8 (75). */
    Asm jne(String label) { return shortJump(0x75, label); }

    /** je/jz rel8 (74). */
    Asm je(String label) { return shortJump(0x74, label); }

    Asm hlt() { return raw(0xF4); }

    Asm cli() { return raw(0xFA); }

    Asm sti() { return raw(0xFB); }

    Asm cld() { return raw(0xFC); }

    Asm std() { return raw(0xFD); }

    Asm nop() { return raw(0x90); }

    /** iret in real mode, iretd in protected mode (CF); iretq in long mode (48 CF). */
    Asm iret() { return mode == Mode.LONG64 ? raw(0x48, 0xCF) : raw(0xCF); }
}
