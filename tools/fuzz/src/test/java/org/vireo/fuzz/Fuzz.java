package org.vireo.fuzz;

import java.util.SplittableRandom;

/**
 * Runs a fuzz target: many cases, each a pure function of one 64-bit case seed, so any failure names the seed that
 * reproduces it.
 * <ul>
 * <li>By default (the build): the case seeds drawn from the fixed {@link #SEEDS}, {@code casesPerSeed} each, stopped
 *     early after {@link #DEFAULT_SECONDS} s so that a slow machine still finishes quickly.</li>
 * <li>{@code -Dvireo.fuzz.seconds=N}: the fixed seeds, then fresh random ones, until N seconds have passed (per
 *     target). {@code scripts/fuzz} sets it.</li>
 * <li>{@code -Dvireo.fuzz.seed=0x...}: just the one case, to reproduce a failure (then make it a unit test).</li>
 * </ul>
 */
public final class Fuzz {
    public static final String SECONDS_PROPERTY = "vireo.fuzz.seconds";
    public static final String SEED_PROPERTY = "vireo.fuzz.seed";
    /** Where the build's cases come from. */
    public static final long[] SEEDS = {1, 2, 3, 42, 0x5eed, 0xdecafL, 20261203, -1};
    /** Bound of a default run, per target. */
    public static final double DEFAULT_SECONDS = 3;

    private Fuzz() {}

    /** One case of a target: whatever it does with {@code random}, it throws if an invariant does not hold. */
    @FunctionalInterface
    public interface Case {
        void run(SplittableRandom random) throws Exception;
    }

    /** Runs {@code target}'s cases as the properties say; returns how many ran. */
    public static long run(String target, int casesPerSeed, Case c) {
        String one = System.getProperty(SEED_PROPERTY, "").strip();
        if (!one.isEmpty()) {
            runCase(target, parseSeed(one), c);
            return 1;
        }
        String asked = System.getProperty(SECONDS_PROPERTY, "").strip();
        double seconds = asked.isEmpty() ? 0 : Double.parseDouble(asked);
        long budget = (long) ((seconds > 0 ? seconds : DEFAULT_SECONDS) * 1e9);
        long start = System.nanoTime();
        long cases = 0;
        outer:
        for (long seed : SEEDS) {
            SplittableRandom seeds = new SplittableRandom(seed);
            for (int i = 0; i < casesPerSeed; i++) {
                if (System.nanoTime() - start > budget) break outer;
                runCase(target, seeds.nextLong(), c);
                cases++;
            }
        }
        if (seconds > 0) {
            SplittableRandom seeds = new SplittableRandom(System.nanoTime() ^ target.hashCode());
            while (System.nanoTime() - start < budget) {
                runCase(target, seeds.nextLong(), c);
                cases++;
            }
        }
        System.out.printf("fuzz %s: %d cases in %.1f s%n", target, cases, (System.nanoTime() - start) / 1e9);
        return cases;
    }

    private static void runCase(String target, long seed, Case c) {
        try {
            c.run(new SplittableRandom(seed));
        } catch (Throwable t) {
            String s = "0x" + Long.toHexString(seed);
            throw new AssertionError("fuzz " + target + " failed on case " + s + " (rerun it alone with -D" + SEED_PROPERTY
                    + "=" + s + "): " + t, t);
        }
    }

    private static long parseSeed(String s) {
        return s.startsWith("0x") || s.startsWith("0X") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    // ---- structured values ----

    /** One of {@code values}. */
    public static long pick(SplittableRandom r, long... values) { return values[r.nextInt(values.length)]; }

    public static int pick(SplittableRandom r, int... values) { return values[r.nextInt(values.length)]; }

    /** True with probability {@code p}. */
    public static boolean chance(SplittableRandom r, double p) { return r.nextDouble() < p; }

    /** Values guests and fuzzers like: edges of every width, plus anything. */
    public static long interesting(SplittableRandom r) {
        return switch (r.nextInt(8)) {
            case 0 -> 0;
            case 1 -> pick(r, 1L, 2L, 3L, 4L, 7L, 8L, 15L, 16L, 255L, 256L);
            case 2 -> pick(r, 0x7fL, 0x80L, 0xffL, 0x7fffL, 0x8000L, 0xffffL, 0x1_0000L);
            case 3 -> pick(r, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL, 0x1_0000_0000L);
            case 4 -> pick(r, -1L, Long.MIN_VALUE, Long.MAX_VALUE);
            case 5 -> r.nextInt(0x1000);
            default -> r.nextLong();
        };
    }

    /** Random bytes. */
    public static byte[] bytes(SplittableRandom r, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) r.nextInt();
        return b;
    }
}
