package org.vireo.difftest;

import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.util.Set;
import org.junit.BeforeClass;
import org.junit.Ignore;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Differences the tester found that the emulator does not handle yet. Each is left out of {@link DifferentialTest}
 * (which still covers everything else in the same program) and kept here, ignored, until the emulator is fixed:
 * then remove the @Ignore and the exclusion.
 */
public class KnownDivergencesTest {
    /** Registers {@link DifferentialTest} skips for the "sse" program. */
    static final Set<String> MXCSR_FLAGS_GAP = Set.of("mxcsr");

    @Rule
    public TemporaryFolder work = new TemporaryFolder();

    @BeforeClass
    public static void needQemu() {
        assumeTrue("qemu-system-x86_64 is not installed: skipped", QemuTarget.available(DifferentialTest.QEMU));
    }

    @Ignore("Vireo does not set MXCSR exception flags: after divsd 16.0 / -3.0 (inexact) QEMU has PE (0x20) set, Vireo keeps 0x1f80")
    @Test
    public void sseWithMxcsr() throws Exception {
        DiffSession.Report r = DiffSession.run(DiffSession.Plan.program(TestPrograms.byName("sse"),
                QemuTarget.Options.defaults(work.getRoot().toPath())));
        assertTrue(r.text(), r.passed());
    }
}
