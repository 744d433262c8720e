package org.vireo.x86.cpu;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Diagnostics: samples a CPU's guest RIP from a daemon thread about once a millisecond and writes the histogram
 * when the JVM exits ({@code -Dvireo.x86.profile=FILE}; one CPU per JVM). Each line is {@code RIP SAMPLES IN_REGION
 * USER}: how often RIP was seen, how often of those inside a compiled region, how often at CPL 3. Inside a region
 * RIP is where the region was entered (it is written back only at exits), so a region's time counts at its seed.
 * {@code tools/guest-profile} turns the file and a guest's /proc/kallsyms into a table of guest functions.
 *
 * <p>The reads race with the vCPU on purpose (plain fields, no pause): a sample may be a few instructions stale.
 */
final class GuestProfiler implements Runnable {
    static final String FILE = System.getProperty("vireo.x86.profile");
    private static volatile boolean attached;

    private final Interpreter engine;
    private final Path out;
    private final Map<Long, long[]> samples = new HashMap<>();

    private GuestProfiler(Interpreter engine, Path out) {
        this.engine = engine;
        this.out = out;
    }

    /** Starts sampling {@code engine} when -Dvireo.x86.profile is set (for the first CPU made in this JVM only). */
    static void attachIfRequested(Interpreter engine) {
        if (FILE == null || FILE.isBlank()) return;
        synchronized (GuestProfiler.class) {
            if (attached) return;
            attached = true;
        }
        GuestProfiler p = new GuestProfiler(engine, Path.of(FILE));
        Thread t = new Thread(p, "vireo-guest-profiler");
        t.setDaemon(true);
        t.start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::write, "vireo-guest-profile-writer"));
    }

    @Override
    public void run() {
        while (true) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
            if (engine.runThread == null || engine.halted) continue;   // not running guest code
            long rip = engine.s.rip;
            boolean region = engine.runningRegion != null, user = engine.cpl == 3;
            synchronized (samples) {
                long[] c = samples.computeIfAbsent(rip, k -> new long[3]);
                c[0]++;
                if (region) c[1]++;
                if (user) c[2]++;
            }
        }
    }

    private void write() {
        Map<Long, long[]> copy;
        synchronized (samples) {
            copy = new TreeMap<>(Long::compareUnsigned);
            copy.putAll(samples);
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
            for (var e : copy.entrySet()) {
                long[] c = e.getValue();
                w.printf("%016x %d %d %d%n", e.getKey(), c[0], c[1], c[2]);
            }
        } catch (IOException e) {
            System.err.println("vireo: could not write the guest profile to " + out + ": " + e.getMessage());
        }
    }
}
