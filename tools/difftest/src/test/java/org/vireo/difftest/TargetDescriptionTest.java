package org.vireo.difftest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;

import java.util.Map;
import org.junit.Test;

public class TargetDescriptionTest {
    static final String TARGET = "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
            + "<target><architecture>i386:x86-64</architecture><xi:include href=\"core.xml\"/></target>";
    static final String CORE = "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
            + "<feature name=\"org.gnu.gdb.i386.core\">"
            + "<reg name=\"rax\" bitsize=\"64\" regnum=\"0\"/><reg name=\"rbx\" bitsize=\"64\"/>"
            + "<reg name=\"eflags\" bitsize=\"32\"/>"
            + "<!-- <reg name=\"ss_base\" bitsize=\"64\"/> -->"
            + "<reg name=\"xmm0\" bitsize=\"128\"/>"
            + "<reg name=\"cr0\" bitsize=\"64\" regnum=\"10\"/>"
            + "</feature>";

    private static TargetDescription parse() {
        return TargetDescription.parse(TARGET, href -> {
            assertEquals("core.xml", href);
            return CORE;
        });
    }

    @Test
    public void registersFollowIncludesAndSkipComments() {
        TargetDescription d = parse();
        assertEquals("i386:x86-64", d.architecture());
        assertEquals(5, d.registers().size());
        assertNull(d.register("ss_base"));
        assertFalse(d.has("ss_base"));
    }

    @Test
    public void offsetsFollowRegisterNumbersAndSizes() {
        TargetDescription d = parse();
        assertEquals(0, d.register("rax").offset());
        assertEquals(8, d.register("rbx").offset());
        assertEquals(16, d.register("eflags").offset());
        assertEquals(3, d.register("xmm0").regnum());
        assertEquals(20, d.register("xmm0").offset());
        assertEquals(16, d.register("xmm0").bytes());
        assertEquals(10, d.register("cr0").regnum());
        assertEquals(36, d.register("cr0").offset());
    }

    @Test
    public void splitReadsLittleEndianAndDropsWhatIsMissing() {
        byte[] g = new byte[40];
        g[0] = 0x34;
        g[1] = 0x12;
        g[16] = 0x46;
        Map<String, byte[]> m = parse().split(g);
        assertEquals(0x1234, TargetDescription.le64(m.get("rax"), 0));
        assertEquals(0x46, TargetDescription.le64(m.get("eflags"), 0));
        assertFalse("cr0 needs 44 bytes", m.containsKey("cr0"));
    }
}
