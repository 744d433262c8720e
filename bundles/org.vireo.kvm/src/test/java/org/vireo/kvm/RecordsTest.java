package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The register records: withers, array round trips, and checks on bad values. */
public class RecordsTest {
    @Test
    public void registersChangeOneAtATime() {
        Registers r = Registers.initial();
        assertEquals(Registers.RFLAGS_RESERVED, r.rflags());
        Registers s = r.withRip(0x1000).with(Registers.Name.R13, 13);
        assertEquals(0x1000, s.rip());
        assertEquals(13, s.r13());
        assertEquals(13, s.get(Registers.Name.R13));
        assertEquals(0, r.rip());
        assertEquals(s, Registers.fromArray(s.toArray()));
        assertTrue(s.toString(), s.toString().contains("rip=0x1000"));
    }

    @Test(expected = IllegalArgumentException.class)
    public void registersNeedEighteenValues() {
        Registers.fromArray(new long[17]);
    }

    @Test
    public void specialRegistersCompareTheirBitmapsByValue() {
        Segment cs = Segment.realMode(0xF000, true);
        Segment ds = Segment.realMode(0, false);
        DescriptorTable t = new DescriptorTable(0, 0xFFFF);
        SpecialRegisters a = new SpecialRegisters(cs, ds, ds, ds, ds, ds, ds, ds, t, t, 0x10, 0, 0, 0, 0, 0, 0xFEE00900L, new long[4]);
        SpecialRegisters b = new SpecialRegisters(cs, ds, ds, ds, ds, ds, ds, ds, t, t, 0x10, 0, 0, 0, 0, 0, 0xFEE00900L, new long[4]);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        long[] bits = a.interruptBitmap();
        bits[0] = 1;
        assertEquals("the record keeps its own copy", 0, a.interruptBitmap()[0]);
        assertNotEquals(a, a.withControl(0x11, 0, 0, 0));
        assertEquals(0xF0000, cs.base());
    }

    @Test(expected = IllegalArgumentException.class)
    public void segmentsRejectAnOutOfRangeSelector() {
        Segment.flatCode32(0x10000);
    }

    @Test(expected = IllegalArgumentException.class)
    public void descriptorTablesRejectAnOutOfRangeLimit() {
        new DescriptorTable(0, 0x10000);
    }
}
