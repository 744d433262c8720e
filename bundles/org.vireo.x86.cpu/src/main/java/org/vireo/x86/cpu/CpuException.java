package org.vireo.x86.cpu;

/**
 * A guest exception raised while executing an instruction (a fault the guest's IDT handles, not a host error).
 * Thrown from deep inside memory access and instruction code and caught by the run loop, which delivers it.
 * Carries no stack trace: it is control flow, raised often by a running kernel (page faults).
 */
final class CpuException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
            SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

    final int vector;
    final int errorCode;
    final boolean hasErrorCode;

    CpuException(int vector, int errorCode, boolean hasErrorCode) {
        super(null, null, false, false);
        this.vector = vector;
        this.errorCode = errorCode;
        this.hasErrorCode = hasErrorCode;
    }

    static CpuException fault(int vector) { return new CpuException(vector, 0, false); }

    static CpuException fault(int vector, int errorCode) { return new CpuException(vector, errorCode, true); }

    static CpuException gp(int errorCode) { return new CpuException(GP, errorCode, true); }

    static CpuException ud() { return new CpuException(UD, 0, false); }

    @Override
    public String getMessage() {
        return "vector " + vector + (hasErrorCode ? " error 0x" + Integer.toHexString(errorCode) : "");
    }
}
