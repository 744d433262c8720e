package org.vireo.x86.cpu;

/**
 * One decoded instruction: the operation and its pre-decoded operands. Produced once per guest-physical code
 * location by {@link Decoder}, then executed many times (and, later, translated to JVM bytecode).
 */
final class Insn {
    /** Prefix bits. */
    static final int REP = 1, REPNE = 2, LOCK = 4, OPSIZE = 8, REXW = 16;

    // Small fields are bytes and shorts: a decoded instruction is kept for every guest code location the CPU has
    // run (a busybox boot holds ~230,000 of them), and ints made each 112 bytes where these make it 72.
    int op;            // Ops constant
    short sub;         // ALU/shift operation, condition code, or an opcode detail (up to 14 bits: map << 12 | opcode)
    byte size;         // operand size in bytes: 1, 2, 4, 8
    byte szi;          // log2(size)
    byte len;          // instruction length in bytes
    short offset;      // byte offset from the start of its block (RIP = block entry + offset)
    byte reg;          // ModRM.reg or opcode register (0..15; 0x20|n for AH, CH, DH, BH)
    byte rm = -1;      // ModRM.rm register, or -1 for a memory operand
    byte base = CpuState.NOREG, index = CpuState.NOREG, scale;
    long disp;
    boolean ripRel;
    byte seg;          // segment register index for the memory operand
    long addrMask;     // effective address mask (address size)
    long linMask;      // linear address mask (32 bits outside 64-bit mode)
    byte addrSize;     // 2, 4, 8
    long imm;          // immediate, or relative branch displacement
    int imm2;          // second immediate (ENTER level, far selector)
    byte size2;        // source operand size for movzx/movsx
    short prefixes;

    boolean isMem() { return rm < 0; }

    @Override
    public String toString() {
        return Ops.name(op) + "/" + sub + " size=" + size + " len=" + len + " reg=" + reg + " rm=" + rm
                + (rm < 0 ? " [b=" + base + " i=" + index + "*" + (1 << scale) + " d=" + disp + (ripRel ? " rip" : "") + " seg=" + seg + "]" : "")
                + " imm=" + imm;
    }
}
