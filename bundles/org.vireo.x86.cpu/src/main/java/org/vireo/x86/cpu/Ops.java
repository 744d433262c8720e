package org.vireo.x86.cpu;

/** Operation numbers of decoded instructions ({@link Insn#op}). Generated list; keep names in step with {@link #NAMES}. */
final class Ops {
    private Ops() {
    }

    static final int UD = 0;
    static final int GP0 = 1;
    static final int NOP = 2;
    static final int PAUSE = 3;
    static final int ALU_RM_R = 4;
    static final int ALU_R_RM = 5;
    static final int ALU_RM_I = 6;
    static final int TEST_RM_R = 7;
    static final int TEST_RM_I = 8;
    static final int INC = 9;
    static final int DEC = 10;
    static final int NOT = 11;
    static final int NEG = 12;
    static final int MUL1 = 13;
    static final int IMUL1 = 14;
    static final int DIV = 15;
    static final int IDIV = 16;
    static final int IMUL_R_RM = 17;
    static final int IMUL_R_RM_I = 18;
    static final int SHIFT_I = 19;
    static final int SHIFT_CL = 20;
    static final int SHLD_I = 21;
    static final int SHLD_CL = 22;
    static final int SHRD_I = 23;
    static final int SHRD_CL = 24;
    static final int BT_R = 25;
    static final int BT_I = 26;
    static final int BSF = 27;
    static final int BSR = 28;
    static final int BSWAP = 29;
    static final int POPCNT = 30;
    static final int XADD = 31;
    static final int CMPXCHG = 32;
    static final int CMPXCHG8B = 33;
    static final int CMPXCHG16B = 34;
    static final int MOV_RM_R = 35;
    static final int MOV_R_RM = 36;
    static final int MOV_RM_I = 37;
    static final int MOV_R_I = 38;
    static final int MOVZX = 39;
    static final int MOVSX = 40;
    static final int LEA = 41;
    static final int XCHG = 42;
    static final int CBW = 43;
    static final int CWD = 44;
    static final int MOV_RM_SEG = 45;
    static final int MOV_SEG_RM = 46;
    static final int PUSH_R = 47;
    static final int POP_R = 48;
    static final int PUSH_RM = 49;
    static final int POP_RM = 50;
    static final int PUSH_I = 51;
    static final int PUSH_SEG = 52;
    static final int POP_SEG = 53;
    static final int PUSHF = 54;
    static final int POPF = 55;
    static final int PUSHA = 56;
    static final int POPA = 57;
    static final int LAHF = 58;
    static final int SAHF = 59;
    static final int CMOV = 60;
    static final int SETCC = 61;
    static final int XLAT = 62;
    static final int MOVS = 63;
    static final int STOS = 64;
    static final int LODS = 65;
    static final int CMPS = 66;
    static final int SCAS = 67;
    static final int INS = 68;
    static final int OUTS = 69;
    static final int CLC = 70;
    static final int STC = 71;
    static final int CMC = 72;
    static final int CLD = 73;
    static final int STD = 74;
    static final int CLI = 75;
    static final int STI = 76;
    static final int JMP_REL = 77;
    static final int JCC = 78;
    static final int CALL_REL = 79;
    static final int RET = 80;
    static final int JMP_RM = 81;
    static final int CALL_RM = 82;
    static final int JMPF_PTR = 83;
    static final int JMPF_M = 84;
    static final int CALLF_PTR = 85;
    static final int CALLF_M = 86;
    static final int RETF = 87;
    static final int IRET = 88;
    static final int INT = 89;
    static final int INT3 = 90;
    static final int INTO = 91;
    static final int INT1 = 92;
    static final int LOOP = 93;
    static final int LOOPE = 94;
    static final int LOOPNE = 95;
    static final int JCXZ = 96;
    static final int ENTER = 97;
    static final int LEAVE = 98;
    static final int HLT = 99;
    static final int SYSCALL = 100;
    static final int SYSRET = 101;
    static final int SYSENTER = 102;
    static final int SYSEXIT = 103;
    static final int IN_I = 104;
    static final int IN_DX = 105;
    static final int OUT_I = 106;
    static final int OUT_DX = 107;
    static final int CPUID = 108;
    static final int RDTSC = 109;
    static final int RDTSCP = 110;
    static final int RDMSR = 111;
    static final int WRMSR = 112;
    static final int RDPMC = 113;
    static final int MOV_R_CR = 114;
    static final int MOV_CR_R = 115;
    static final int MOV_R_DR = 116;
    static final int MOV_DR_R = 117;
    static final int LGDT = 118;
    static final int LIDT = 119;
    static final int SGDT = 120;
    static final int SIDT = 121;
    static final int LLDT = 122;
    static final int LTR = 123;
    static final int SLDT = 124;
    static final int STR = 125;
    static final int LMSW = 126;
    static final int SMSW = 127;
    static final int INVLPG = 128;
    static final int SWAPGS = 129;
    static final int CLTS = 130;
    static final int LAR = 131;
    static final int LSL = 132;
    static final int VERR = 133;
    static final int VERW = 134;
    static final int WBINVD = 135;
    static final int CLFLUSH = 136;
    static final int FENCE = 137;
    static final int XGETBV = 138;
    static final int MONITOR = 139;
    static final int MWAIT = 140;
    static final int X87 = 141;
    static final int FWAIT = 142;
    static final int FXSAVE = 143;
    static final int FXRSTOR = 144;
    static final int LDMXCSR = 145;
    static final int STMXCSR = 146;
    static final int SSE = 147;
    static final int EMMS = 148;
    static final int SALC = 149;
    static final int DAA = 150;
    static final int DAS = 151;
    static final int AAA = 152;
    static final int AAS = 153;
    static final int AAM = 154;
    static final int AAD = 155;
    static final int BOUND = 156;
    static final int ARPL = 157;
    static final int LES = 158;
    static final int LDS = 159;

    // Specialised forms chosen by Decoder.specialise(): reg = destination, rm = source register.
    static final int MOV_RR64 = 160;
    static final int MOV_RR32 = 161;
    static final int LOAD64 = 162;
    static final int LOAD32 = 163;
    static final int STORE64 = 164;
    static final int STORE32 = 165;
    static final int ALU_RR64 = 166;
    static final int ALU_RR32 = 167;
    static final int ALU_RI64 = 168;
    static final int ALU_RI32 = 169;
    static final int TEST_RR64 = 170;
    static final int TEST_RR32 = 171;
    static final int LEA64 = 172;
    static final int PUSH64 = 173;
    static final int POP64 = 174;
    static final int CALL64 = 175;
    static final int RET64 = 176;
    static final int ALU_RM64 = 177;
    static final int ALU_RM32 = 178;
    static final int CRC32 = 179;

    static final int COUNT = 180;
    private static final String[] NAMES = {
        "UD", "GP0", "NOP", "PAUSE", "ALU_RM_R", "ALU_R_RM", "ALU_RM_I", "TEST_RM_R",
        "TEST_RM_I", "INC", "DEC", "NOT", "NEG", "MUL1", "IMUL1", "DIV",
        "IDIV", "IMUL_R_RM", "IMUL_R_RM_I", "SHIFT_I", "SHIFT_CL", "SHLD_I", "SHLD_CL", "SHRD_I",
        "SHRD_CL", "BT_R", "BT_I", "BSF", "BSR", "BSWAP", "POPCNT", "XADD",
        "CMPXCHG", "CMPXCHG8B", "CMPXCHG16B", "MOV_RM_R", "MOV_R_RM", "MOV_RM_I", "MOV_R_I", "MOVZX",
        "MOVSX", "LEA", "XCHG", "CBW", "CWD", "MOV_RM_SEG", "MOV_SEG_RM", "PUSH_R",
        "POP_R", "PUSH_RM", "POP_RM", "PUSH_I", "PUSH_SEG", "POP_SEG", "PUSHF", "POPF",
        "PUSHA", "POPA", "LAHF", "SAHF", "CMOV", "SETCC", "XLAT", "MOVS",
        "STOS", "LODS", "CMPS", "SCAS", "INS", "OUTS", "CLC", "STC",
        "CMC", "CLD", "STD", "CLI", "STI", "JMP_REL", "JCC", "CALL_REL",
        "RET", "JMP_RM", "CALL_RM", "JMPF_PTR", "JMPF_M", "CALLF_PTR", "CALLF_M", "RETF",
        "IRET", "INT", "INT3", "INTO", "INT1", "LOOP", "LOOPE", "LOOPNE",
        "JCXZ", "ENTER", "LEAVE", "HLT", "SYSCALL", "SYSRET", "SYSENTER", "SYSEXIT",
        "IN_I", "IN_DX", "OUT_I", "OUT_DX", "CPUID", "RDTSC", "RDTSCP", "RDMSR",
        "WRMSR", "RDPMC", "MOV_R_CR", "MOV_CR_R", "MOV_R_DR", "MOV_DR_R", "LGDT", "LIDT",
        "SGDT", "SIDT", "LLDT", "LTR", "SLDT", "STR", "LMSW", "SMSW",
        "INVLPG", "SWAPGS", "CLTS", "LAR", "LSL", "VERR", "VERW", "WBINVD",
        "CLFLUSH", "FENCE", "XGETBV", "MONITOR", "MWAIT", "X87", "FWAIT", "FXSAVE",
        "FXRSTOR", "LDMXCSR", "STMXCSR", "SSE", "EMMS", "SALC", "DAA", "DAS",
        "AAA", "AAS", "AAM", "AAD", "BOUND", "ARPL", "LES", "LDS",
        "MOV_RR64", "MOV_RR32", "LOAD64", "LOAD32", "STORE64", "STORE32", "ALU_RR64", "ALU_RR32", "ALU_RI64", "ALU_RI32", "TEST_RR64", "TEST_RR32", "LEA64", "PUSH64", "POP64", "CALL64", "RET64", "ALU_RM64", "ALU_RM32",
        "CRC32",
    };

    static String name(int op) { return op >= 0 && op < NAMES.length ? NAMES[op] : "op" + op; }
}
