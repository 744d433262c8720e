package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class CmosRtcTest {
    private static final long MIB = 1 << 20;

    /** A clock the test moves by hand. */
    private static final class MovableClock extends Clock {
        Instant now;

        MovableClock(Instant now) { this.now = now; }

        @Override public ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }

    private final MovableClock clock = new MovableClock(Instant.parse("2024-02-29T23:59:58.25Z"));
    private final CmosRtc rtc = new CmosRtc(clock, 512 * MIB, 0);
    private final IoBus pio = new IoBus("pio");

    {
        pio.register(CmosRtc.PORT, 2, "cmos", rtc);
    }

    private int read(int index) {
        pio.write(0x70, 1, index);
        return (int) pio.read(0x71, 1);
    }

    private void write(int index, int v) {
        pio.write(0x70, 1, index);
        pio.write(0x71, 1, v);
    }

    @Test
    public void readsTheDateInBcd() {
        assertEquals(0x58, read(0x00));
        assertEquals(0x59, read(0x02));
        assertEquals(0x23, read(0x04));
        assertEquals("Thursday (1 = Sunday)", 0x05, read(0x06));
        assertEquals(0x29, read(0x07));
        assertEquals(0x02, read(0x08));
        assertEquals(0x24, read(0x09));
        assertEquals(0x20, read(0x32));
    }

    @Test
    public void binaryAnd12HourModes() {
        write(0x0b, 0x04);                 // binary, 12-hour
        assertEquals(58, read(0x00));
        assertEquals("11 PM", 0x80 | 11, read(0x04));
        write(0x0b, 0x06);                 // binary, 24-hour
        assertEquals(23, read(0x04));
        assertEquals(2024 % 100, read(0x09));
    }

    @Test
    public void statusRegisters() {
        assertEquals(0x26, read(0x0a));
        assertEquals(0x02, read(0x0b));
        assertEquals(0x00, read(0x0c));
        assertEquals("valid RAM and time", 0x80, read(0x0d));
        clock.now = Instant.parse("2024-02-29T23:59:59.9999Z");
        assertEquals("update in progress in the last 244 us", 0x80, read(0x0a) & 0x80);
    }

    @Test
    public void indexBitSevenMasksNmi() {
        assertTrue("NMI masked at power-on", rtc.nmiMasked());
        pio.write(0x70, 1, 0x0d);
        assertFalse(rtc.nmiMasked());
        pio.write(0x70, 1, 0x8d);
        assertTrue(rtc.nmiMasked());
        assertEquals("the index does not include the NMI bit", 0x80, (int) pio.read(0x71, 1));
    }

    @Test
    public void memorySizeBytes() {
        assertEquals(640, read(0x15) | read(0x16) << 8);
        assertEquals("extended memory saturates at 63 MiB", 0xffff, read(0x30) | read(0x31) << 8);
        assertEquals((512 - 16) * MIB / 65536, read(0x34) | read(0x35) << 8);
        CmosRtc small = new CmosRtc(clock, 32 * MIB, 0);
        assertEquals(31 * 1024, small.nvram(0x17) | small.nvram(0x18) << 8);
        CmosRtc big = new CmosRtc(clock, 3L << 30, 1L << 30);
        assertEquals(0x4000, big.nvram(0x5b) | big.nvram(0x5c) << 8 | big.nvram(0x5d) << 16);
    }

    @Test
    public void guestSetsTheTimeWithTheSetBit() {
        write(0x0b, 0x82);                 // SET, BCD, 24h
        write(0x04, 0x10);
        write(0x02, 0x30);
        write(0x00, 0x00);
        write(0x07, 0x01);
        write(0x08, 0x03);
        clock.now = clock.now.plus(Duration.ofSeconds(5));
        assertEquals("frozen while SET", 0x00, read(0x00));
        write(0x0b, 0x02);
        assertEquals(0x10, read(0x04));
        assertEquals(0x30, read(0x02));
        assertEquals(0x03, read(0x08));
        clock.now = clock.now.plus(Duration.ofSeconds(7));
        assertEquals("runs on from the set time", 0x07, read(0x00));
    }

    @Test
    public void nvramBytesAreReadWrite() {
        write(0x40, 0xa5);
        assertEquals(0xa5, read(0x40));
        write(0x0d, 0x00);
        assertEquals("status D is read-only", 0x80, read(0x0d));
    }
}
