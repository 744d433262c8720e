package org.vireo.difftest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The tester itself: a divergence planted in Vireo's state must be found at exactly that instruction. Needs QEMU. */
public class DetectorTest {
    @Rule
    public TemporaryFolder work = new TemporaryFolder();

    @BeforeClass
    public static void needQemu() {
        assumeTrue("qemu-system-x86_64 is not installed: skipped", QemuTarget.available(DifferentialTest.QEMU));
    }

    private DiffSession.Plan alu() {
        return DiffSession.Plan.program(TestPrograms.byName("alu"), QemuTarget.Options.defaults(work.getRoot().toPath()));
    }

    @Test
    public void plantedRegisterErrorIsReportedAtItsInstruction() throws Exception {
        DiffSession.Report r = DiffSession.run(alu().withHook((step, vireo) -> {
            if (step == 10) {
                RegisterSet regs = vireo.registers();
                vireo.loadRegisters(regs.copy().put("r14", regs.get("r14") ^ 0x40), java.util.List.of("r14"));
            }
        }));
        assertFalse(r.text(), r.passed());
        DiffEngine.Divergence d = r.result().divergence();
        assertNotNull(d);
        assertEquals(r.text(), 10, d.at().step());
        assertEquals(1, d.mismatches().size());
        assertEquals("r14", d.mismatches().get(0).register());
        assertEquals(0x40, d.mismatches().get(0).qemu() ^ d.mismatches().get(0).vireo());
        assertTrue(r.text(), r.text().contains("DIVERGENCE") && r.text().contains("context (last 8"));
    }

    @Test
    public void plantedFlagErrorIsReported() throws Exception {
        DiffSession.Report r = DiffSession.run(alu().withHook((step, vireo) -> {
            if (step == 3) {
                RegisterSet regs = vireo.registers();
                vireo.loadRegisters(regs.copy().put("rflags", regs.rflags() ^ InsnInfo.ZF), java.util.List.of("rflags"));
            }
        }));
        DiffEngine.Divergence d = r.result().divergence();
        assertNotNull(r.text(), d);
        assertEquals(3, d.at().step());
        assertEquals("rflags", d.mismatches().get(0).register());
    }

    @Test
    public void plantedMemoryErrorIsFoundAtTheEnd() throws Exception {
        DiffSession.Report r = DiffSession.run(alu().withHook((step, vireo) -> {
            if (step == 0) vireo.write(TestPrograms.DATA + 0x800, new byte[] {0x5a});
        }));
        assertFalse(r.result().diverged());
        assertFalse(r.text(), r.passed());
        assertEquals(1, r.memoryDifferences().size());
        assertTrue(r.memoryDifferences().get(0), r.memoryDifferences().get(0).contains("00020800"));
    }
}
