package org.vireo.difftest;

import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Runs every built-in test program on QEMU TCG and on Vireo, instruction by instruction, and fails with the
 * divergence report at the first difference. Skipped when qemu-system-x86_64 is not installed.
 */
@RunWith(Parameterized.class)
public class DifferentialTest {
    static final String QEMU = "qemu-system-x86_64";

    @Rule
    public TemporaryFolder work = new TemporaryFolder();

    @Parameterized.Parameter(0)
    public String name;

    @Parameterized.Parameter(1)
    public boolean lockstepPrologue;

    /** Registers left out of the comparison for a program, each for a known emulator gap (see KnownDivergencesTest). */
    @Parameterized.Parameter(2)
    public Set<String> ignored;

    @Parameterized.Parameters(name = "{0}{1}")
    public static Collection<Object[]> programs() {
        List<Object[]> out = new ArrayList<>();
        for (TestPrograms.Program p : TestPrograms.all()) {
            out.add(new Object[] {p.name(), false, p.name().equals("sse") ? KnownDivergencesTest.MXCSR_FLAGS_GAP : Set.of()});
        }
        // The real-mode prologue and the direct switch to long mode, compared instruction by instruction.
        out.add(new Object[] {"alu", true, Set.of()});
        return out;
    }

    @BeforeClass
    public static void needQemu() {
        assumeTrue(QEMU + " is not installed (apt-get install qemu-system-x86): differential tests skipped",
                QemuTarget.available(QEMU));
    }

    @Test
    public void sameResultsAsQemu() throws Exception {
        TestPrograms.Program p = TestPrograms.byName(name);
        QemuTarget.Options q = QemuTarget.Options.defaults(work.getRoot().toPath());
        DiffSession.Plan plan = DiffSession.Plan.forBody(p.name() + (lockstepPrologue ? " (with prologue)" : ""),
                p.body(), q, lockstepPrologue ? -1 : TestPrograms.BODY);
        DiffSession.Report r = DiffSession.run(plan.withEngine(plan.engine().withIgnored(ignored)));
        assertTrue(r.text(), r.passed());
        assertTrue("the program must run to its HLT: " + r.text(), r.result().end().equals("reached hlt"));
    }
}
