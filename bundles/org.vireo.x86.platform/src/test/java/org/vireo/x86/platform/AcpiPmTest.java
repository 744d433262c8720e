package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class AcpiPmTest {
    private final ManualClock clock = new ManualClock(123_456_789);
    private final RecordingLine sci = new RecordingLine();
    private final AtomicInteger powerOffs = new AtomicInteger();
    private final AcpiPm pm = new AcpiPm(clock, sci, powerOffs::incrementAndGet);
    private final IoBus pio = new IoBus("pio");

    { pm.register(pio); }

    private static final int S5 = AcpiPm.S5_SLP_TYP << 10;

    @Test
    public void s5PowersOffOnce() {
        pio.write(AcpiPm.PM1_CNT, 2, S5);                             // SLP_TYP alone: nothing yet
        assertEquals(0, powerOffs.get());
        pio.write(AcpiPm.PM1_CNT, 2, S5 | 1 << 13);                   // SLP_EN
        assertEquals(1, powerOffs.get());
        assertTrue(pm.poweredOff());
        pio.write(AcpiPm.PM1_CNT, 2, S5 | 1 << 13);
        assertEquals("only once", 1, powerOffs.get());
        assertEquals("SLP_EN reads 0, SLP_TYP as written, SCI_EN 1", S5 | 1, pio.read(AcpiPm.PM1_CNT, 2));
    }

    @Test
    public void otherSleepTypesAreIgnored() {
        for (int typ = 0; typ < 8; typ++) {
            if (typ == AcpiPm.S5_SLP_TYP) continue;
            pio.write(AcpiPm.PM1_CNT, 2, typ << 10 | 1 << 13);
        }
        assertEquals(0, powerOffs.get());
        // Byte writes: SLP_TYP and SLP_EN live in the high byte.
        pio.write(AcpiPm.PM1_CNT + 1, 1, (S5 | 1 << 13) >> 8);
        assertEquals(1, powerOffs.get());
    }

    @Test
    public void sciEnIsAlwaysSet() {
        assertEquals(1, pio.read(AcpiPm.PM1_CNT, 2) & 1);
        pio.write(AcpiPm.PM1_CNT, 2, 0);
        assertEquals(1, pio.read(AcpiPm.PM1_CNT, 2) & 1);
    }

    @Test
    public void statusIsWriteOneToClearAndDrivesTheSci() {
        pm.pressPowerButton();
        assertEquals(AcpiPm.PWRBTN, pio.read(AcpiPm.PM1_EVT, 2) & AcpiPm.PWRBTN);
        assertFalse("not enabled: no SCI", sci.level);
        pio.write(AcpiPm.PM1_EVT + 2, 2, AcpiPm.PWRBTN);              // PM1_EN
        assertTrue(sci.level);
        assertEquals(AcpiPm.PWRBTN, pio.read(AcpiPm.PM1_EVT + 2, 2));
        pio.write(AcpiPm.PM1_EVT, 2, 0);                              // writing 0 clears nothing
        assertTrue(sci.level);
        pio.write(AcpiPm.PM1_EVT, 2, AcpiPm.PWRBTN);                  // write 1 to clear
        assertFalse(sci.level);
        assertEquals(0, pio.read(AcpiPm.PM1_EVT, 2) & AcpiPm.PWRBTN);
        assertEquals(1, sci.risingEdges);
        // Enabled while pending: the SCI rises then; disabled: it falls.
        pio.write(AcpiPm.PM1_EVT + 2, 2, 0);
        pm.pressPowerButton();
        assertFalse(sci.level);
        pio.write(AcpiPm.PM1_EVT + 3, 1, AcpiPm.PWRBTN >> 8);
        assertTrue(sci.level);
        pio.write(AcpiPm.PM1_EVT + 2, 4, 0);
        assertFalse(sci.level);
    }

    @Test
    public void timerCountsAt3579545HzMonotonically() {
        int t0 = (int) pio.read(AcpiPm.PM_TMR, 4);
        assertEquals(0, t0);
        clock.advance(1_000_000_000L);
        assertEquals(3_579_545, (int) pio.read(AcpiPm.PM_TMR, 4));
        long previous = 3_579_545;
        for (int i = 0; i < 1000; i++) {
            clock.advance(279);                                        // about one tick
            long now = pio.read(AcpiPm.PM_TMR, 4);
            assertTrue(now >= previous);
            previous = now;
        }
        clock.advance(3_600_000_000_000L);                             // an hour: the 32-bit counter wraps
        long wrapped = pio.read(AcpiPm.PM_TMR, 4);
        assertEquals((3_579_545L * 3601 + 279L * 1000 * 3_579_545 / 1_000_000_000) & 0xffff_ffffL, wrapped, 1);
        pio.write(AcpiPm.PM_TMR, 4, 0);                                // read-only
        assertEquals(wrapped, pio.read(AcpiPm.PM_TMR, 4));
        assertEquals(wrapped & 0xff, pio.read(AcpiPm.PM_TMR, 1));
        assertEquals(wrapped >>> 16, pio.read(AcpiPm.PM_TMR + 2, 2));
    }

    @Test
    public void timerBit31ChangeSetsTmrStsAndAnEnabledSci() {
        pio.write(AcpiPm.PM1_EVT + 2, 2, AcpiPm.TMR);
        assertFalse(sci.level);
        clock.advance((1L << 31) * 1_000_000_000L / AcpiPm.TIMER_HZ + 1_000_000);   // past bit 31
        assertEquals(AcpiPm.TMR, pio.read(AcpiPm.PM1_EVT, 2) & AcpiPm.TMR);
        assertTrue(sci.level);
        pio.write(AcpiPm.PM1_EVT, 2, AcpiPm.TMR);
        assertFalse(sci.level);
    }

    @Test
    public void anySizeAndOffsetIsHarmless() {
        Random r = new Random(13);
        for (int i = 0; i < 20_000; i++) {
            long offset = r.nextInt(20) - 4;
            int size = r.nextInt(11) - 1;
            long value = r.nextLong() & ~(long) (1 << 13) << 0;        // no SLP_EN: this test is not about power-off
            if (r.nextBoolean()) pm.write(offset, size, value & ~(0x20L << 8 * Math.max(0, (int) (5 - offset))));
            else pm.read(offset, size);
        }
        assertEquals(1, pio.read(AcpiPm.PM1_CNT, 2) & 1);
        assertEquals(0xffL, pm.read(AcpiPm.LENGTH, 1));
        assertEquals(0L, pm.read(0, 0));
        assertEquals(0L, pm.read(0, -3));
    }

    @Test
    public void sciIsNotTouchedWhileNothingIsEnabled() {
        RecordingLine shared = new RecordingLine();
        shared.level = true;                                           // a PCI device holds the line high
        AcpiPm quiet = new AcpiPm(clock, shared, () -> { });
        quiet.write(0, 4, 0xffff_ffffL);
        quiet.write(0, 4, 0);
        assertTrue(shared.level);
    }
}
