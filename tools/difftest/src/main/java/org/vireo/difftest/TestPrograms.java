package org.vireo.difftest;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The built-in test programs and the machine they run in: a real-mode prologue that enters long mode directly
 * (identity-mapped first GiB with 2 MiB pages, flat 64-bit code and data segments), a 64-bit entry that sets up
 * segments and a stack, then the program body at {@link #BODY}, which ends with HLT. A data area at {@link #DATA}
 * holds a byte pattern the bodies read and write; it and the stack page are compared at the end.
 */
public final class TestPrograms {
    public static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000;
    public static final long PROLOGUE = 0x8000, ENTRY64 = 0x8080, GDT = 0x9000, GDTR = 0x9040;
    public static final long BODY = 0x10000, DATA = 0x20000, DATA_SIZE = 0x3000, STACK_TOP = 0x80000;

    /** A test program: its 64-bit body runs at {@link #BODY}. */
    public record Program(String name, String description, byte[] body) { }

    private static final List<Program> ALL = List.of(
            new Program("alu", "add/adc/sub/sbb/cmp/inc/dec/neg/logic with edge operands, 8 to 64 bits", ProgramCode.ALU),
            new Program("shifts", "shifts and rotates by 0/1/7/8/16/31/32/63/64/65, by CL and imm; shld/shrd", ProgramCode.SHIFTS),
            new Program("muldiv", "mul/imul (1-3 operands) and div/idiv at all widths", ProgramCode.MULDIV),
            new Program("strings", "movs/stos/lods/cmps/scas with rep prefixes, both directions, count 0", ProgramCode.STRINGS),
            new Program("stack", "push/pop of all operand kinds, pushf/popf, call/ret forms, ret imm, enter/leave", ProgramCode.STACK),
            new Program("misc", "movzx/movsx, xchg/cmpxchg/xadd, bswap, bt*/bsf/bsr, setcc/cmovcc, cbw..cqo, lahf/sahf, cpuid", ProgramCode.MISC),
            new Program("faults", "#DE, #UD, #BP, int 0x80, #PF (cr2, error code), #GP through a 64-bit IDT", ProgramCode.FAULTS),
            new Program("sse", "SSE2 moves, logic, packed integer ops, pmovmskb, shuffles, scalar double math, ucomisd", ProgramCode.SSE));

    private TestPrograms() {
    }

    public static List<Program> all() { return ALL; }

    public static Program byName(String name) {
        for (Program p : ALL) if (p.name().equals(name.toLowerCase(Locale.ROOT))) return p;
        throw new IllegalArgumentException("no test program '" + name + "'; have " + ALL.stream().map(Program::name).toList());
    }

    /** The whole guest: page tables, GDT, prologue, 64-bit entry, data pattern and the body. */
    public static GuestImage image(byte[] body) {
        ByteBuffer tables = ByteBuffer.allocate(3 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        tables.putLong(0, PDPT | 3);                                         // PML4[0] -> PDPT, present + writable
        tables.putLong(4096, PD | 3);                                        // PDPT[0] -> PD
        for (int k = 0; k < 512; k++) tables.putLong(8192 + 8 * k, ((long) k << 21) | 0x83);   // 2 MiB pages, P RW PS
        ByteBuffer gdt = ByteBuffer.allocate(0x48).order(ByteOrder.LITTLE_ENDIAN);
        gdt.putLong(0x08, 0x00af9b000000ffffL);                              // 0x08: 64-bit ring-0 code
        gdt.putLong(0x10, 0x00cf93000000ffffL);                              // 0x10: flat writable data
        gdt.putShort(0x40, (short) 0x17).putInt(0x42, (int) GDT);           // pseudo-descriptor at GDTR
        byte[] pattern = new byte[(int) DATA_SIZE];
        for (int i = 0; i < 0x1000; i++) pattern[i] = (byte) (i * 37 + 11);
        return new GuestImage()
                .add(PML4, tables.array(), "page tables")
                .add(GDT, gdt.array(), "GDT")
                .add(PROLOGUE, ProgramCode.PROLOGUE16, "real-mode prologue")
                .add(ENTRY64, ProgramCode.ENTRY64, "64-bit entry")
                .add(DATA, pattern, "data")
                .add(BODY, body, "program");
    }

    /** The memory compared after a program ends: the data area and the top stack page. */
    public static List<long[]> memoryToCompare() {
        return List.of(new long[] {DATA, DATA_SIZE}, new long[] {STACK_TOP - 4096, 4096});
    }

    static byte[] hex(String h) { return HexFormat.of().parseHex(h); }
}
