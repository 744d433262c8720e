package org.vireo.x86.cpu;

/** 128-bit by 64-bit division for DIV/IDIV with 64-bit operands (Java has no 128-bit integers). */
final class Wide {
    private Wide() {
    }

    /**
     * Unsigned {@code hi:lo / d}; the caller guarantees {@code hi < d} (unsigned), so the quotient fits in 64 bits.
     * Returns {quotient, remainder}. Shift-and-subtract, one quotient bit per step.
     */
    static long[] divide128(long hi, long lo, long d) {
        if (hi == 0) return new long[] {Long.divideUnsigned(lo, d), Long.remainderUnsigned(lo, d)};
        long q = 0;
        long r = hi;
        for (int bit = 63; bit >= 0; bit--) {
            boolean carry = r < 0;              // the shift would overflow 64 bits: r >= 2^63, so 2r >= d surely
            r = (r << 1) | ((lo >>> bit) & 1);
            if (carry || Long.compareUnsigned(r, d) >= 0) {
                r -= d;
                q |= 1L << bit;
            }
        }
        return new long[] {q, r};
    }

    /** Signed {@code hi:lo / d}, truncating toward zero; null when the quotient does not fit in 64 bits (#DE). */
    static long[] divideSigned128(long hi, long lo, long d) {
        boolean negN = hi < 0, negD = d < 0;
        long nh = hi, nl = lo;
        if (negN) { // negate the 128-bit value
            nl = -lo;
            nh = ~hi + (lo == 0 ? 1 : 0);
        }
        long ad = negD ? -d : d;
        if (Long.compareUnsigned(nh, ad) >= 0) return null;
        long[] qr = divide128(nh, nl, ad);
        long q = qr[0], r = qr[1];
        boolean negQ = negN != negD;
        if (negQ) {
            if (Long.compareUnsigned(q, Long.MIN_VALUE) > 0) return null;
            q = -q;
        } else if (q < 0) {
            return null;
        }
        if (negN) r = -r;
        return new long[] {q, r};
    }
}
