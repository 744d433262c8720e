package org.vireo.x86.cpu;

/**
 * 128-bit by 64-bit division for DIV/IDIV with 64-bit operands (Java has no 128-bit integers). No allocation: the
 * functions return the quotient; since {@code hi:lo = q*d + r} with {@code r} fitting in 64 bits, the caller gets
 * the remainder as {@code lo - q*d} (mod 2^64). Quotient overflow raises #DE.
 */
final class Wide {
    private static final long B32 = 1L << 32, LOW32 = 0xffffffffL;

    private Wide() {
    }

    /**
     * Unsigned {@code hi:lo / d}; the caller guarantees {@code hi < d} (unsigned), so the quotient fits in 64 bits.
     * Long division in base 2^32 (Knuth's algorithm D for a two-digit divisor): normalise {@code d} so its top bit
     * is set, then find the two quotient digits, each estimated from the divisor's top digit and corrected at most
     * twice.
     */
    static long divideUnsigned(long hi, long lo, long d) {
        if (hi == 0) return Long.divideUnsigned(lo, d);
        int sh = Long.numberOfLeadingZeros(d);
        long dn = d << sh;
        long n1 = sh == 0 ? hi : (hi << sh) | (lo >>> (64 - sh));   // top 64 bits of the shifted dividend, < dn
        long n0 = lo << sh;
        long dHi = dn >>> 32, dLo = dn & LOW32;
        long q1 = digit(n1, n0 >>> 32, dHi, dLo);
        long rest = (n1 << 32) + (n0 >>> 32) - q1 * dn;          // exact: below dn
        long q0 = digit(rest, n0 & LOW32, dHi, dLo);
        return (q1 << 32) | q0;
    }

    /** One base-2^32 quotient digit of {@code (top * 2^32 + next) / (dHi * 2^32 + dLo)}, given {@code top < divisor}. */
    private static long digit(long top, long next, long dHi, long dLo) {
        long q = Long.divideUnsigned(top, dHi);
        long r = top - q * dHi;
        while (q >= B32 || Long.compareUnsigned(q * dLo, (r << 32) | next) > 0) {
            q--;
            r += dHi;
            if (r >= B32) break;
        }
        return q;
    }

    /** Signed {@code hi:lo / d}, truncating toward zero; #DE when {@code d} is 0 or the quotient does not fit. */
    static long divideSigned(long hi, long lo, long d) {
        if (d == 0) throw CpuException.fault(CpuException.DE);
        boolean negN = hi < 0, negD = d < 0;
        long nh = hi, nl = lo;
        if (negN) { // negate the 128-bit value
            nl = -lo;
            nh = ~hi + (lo == 0 ? 1 : 0);
        }
        long ad = negD ? -d : d;
        if (Long.compareUnsigned(nh, ad) >= 0) throw CpuException.fault(CpuException.DE);
        long q = divideUnsigned(nh, nl, ad);
        if (negN != negD) {
            if (Long.compareUnsigned(q, Long.MIN_VALUE) > 0) throw CpuException.fault(CpuException.DE);
            return -q;
        }
        if (q < 0) throw CpuException.fault(CpuException.DE);
        return q;
    }
}
