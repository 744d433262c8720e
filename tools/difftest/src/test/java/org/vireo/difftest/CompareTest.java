package org.vireo.difftest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.Test;

/** The register comparison and its exemptions, without any CPU. */
public class CompareTest {
    private static RegisterSet regs(long rax, long rflags, long cr0, long mxcsr) {
        return new RegisterSet().put("rax", rax).put("rip", 0x1000).put("rflags", rflags).put("cr0", cr0).put("mxcsr", mxcsr);
    }

    @Test
    public void undefinedFlagsAreMaskedAndOthersAreNot() {
        DiffEngine e = new DiffEngine(DiffEngine.Config.defaults());
        RegisterSet q = regs(1, 0x802, 0x11, 0x1f80), v = regs(1, 0x002, 0x11, 0x1f80);
        assertEquals(List.of(), e.compare(q, v, InsnInfo.OF));
        List<DiffEngine.Mismatch> m = e.compare(q, v, InsnInfo.AF);
        assertEquals(1, m.size());
        assertEquals("rflags", m.get(0).register());
        assertTrue(m.get(0).toString(), m.get(0).toString().contains("[OF]"));
    }

    @Test
    public void strictFlagsIsTheCallersChoiceButGroupsAndIgnoresAreConfig() {
        RegisterSet q = regs(1, 2, 0x11, 0x1fa0), v = regs(2, 2, 0x13, 0x1f80);
        assertEquals(3, new DiffEngine(DiffEngine.Config.defaults()).compare(q, v, 0).size());
        assertEquals(List.of("rax", "mxcsr"), new DiffEngine(DiffEngine.Config.defaults().withSystem(false))
                .compare(q, v, 0).stream().map(DiffEngine.Mismatch::register).toList());
        assertEquals(List.of("rax"), new DiffEngine(DiffEngine.Config.defaults().withSystem(false).withIgnored(Set.of("mxcsr")))
                .compare(q, v, 0).stream().map(DiffEngine.Mismatch::register).toList());
    }

    @Test
    public void onlyRegistersBothSidesHaveAreCompared() {
        RegisterSet q = new RegisterSet().put("rax", 1).put("k_gs_base", 5);
        RegisterSet v = new RegisterSet().put("rax", 1).put("cr8", 7);
        assertEquals(List.of(), new DiffEngine(DiffEngine.Config.defaults()).compare(q, v, 0));
    }
}
