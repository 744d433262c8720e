package org.vireo.x86.cpu;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.management.ObjectName;

/**
 * Two tiers for compiled regions, on top of HotSpot's own. A region is first built as a {@code Region$...} class that
 * HotSpot compiles with C1 only (a compiler directive excludes C2 for it); once it has retired
 * {@code -Dvireo.x86.regions.hotThreshold} instructions it is built again as a {@code HotRegion$...} class, which C2
 * compiles as usual.
 *
 * <p>Why: C2 spends most of its time in register allocation on region methods (all guest registers live across
 * every memory access's slow-path call): 0.1-1 s of compiler-thread CPU per region, 38 s for the ~550 regions of a
 * busybox boot, 6 minutes for the ~4,400 of a Debian boot, competing with the vCPU on a 2-core host while the
 * regions wait in tier 3 (profiled C1 code, slower than the interpreter). C1 compiles them in a few ms, and its code
 * runs at 40-70 % of C2's on hot loops, so only the few regions that run for long get C2.
 *
 * <p>The directive is added at run time through the JVM's {@code Compiler.directives_add} diagnostic command (no
 * command-line flag, so it holds in every launch: {@code vireo run}, the shell, tests). Where that is not available,
 * every region is built for C2 at once, as before.
 */
final class HotSpotTiers {
    static final String QUICK_PREFIX = "Region", HOT_PREFIX = "HotRegion";
    /** HotSpot's method pattern: classes named org.vireo.x86.cpu.Region* (hidden classes keep that name), method run. */
    private static final String DIRECTIVE =
            "[ { match: \"org/vireo/x86/cpu/" + QUICK_PREFIX + "*.run\", c2: { Exclude: true } } ]";
    private static final System.Logger LOG = System.getLogger(HotSpotTiers.class.getName());
    private static final boolean ENABLED = !"false".equals(System.getProperty("vireo.x86.regions.tiers"));
    private static volatile Boolean installed;

    private HotSpotTiers() {
    }

    /** True when new regions go to C1 first (the directive is in place); installs it on the first call. */
    static boolean regionsStartInC1() {
        Boolean b = installed;
        if (b == null) {
            synchronized (HotSpotTiers.class) {
                b = installed;
                if (b == null) installed = b = ENABLED && install();
            }
        }
        return b;
    }

    private static boolean install() {
        Path file = null;
        try {
            file = Files.createTempFile("vireo-regions-", ".json");
            Files.writeString(file, DIRECTIVE);
            Object reply = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                    new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
            boolean ok = String.valueOf(reply).contains("1 compiler directives added");
            if (!ok) LOG.log(System.Logger.Level.DEBUG, "compiler directive refused: " + reply);
            return ok;
        } catch (Exception | LinkageError e) {
            LOG.log(System.Logger.Level.DEBUG, "no compiler directives here; regions go straight to C2", e);
            return false;
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (java.io.IOException e) {
                    // a temporary file left behind
                }
            }
        }
    }
}
