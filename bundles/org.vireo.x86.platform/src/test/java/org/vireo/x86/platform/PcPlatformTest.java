package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Test;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;

public class PcPlatformTest {
    private final IoBus pio = new IoBus("pio");
    private final PciBus pci = new PciBus();
    private final ByteArrayOutputStream serial = new ByteArrayOutputStream();
    private final ManualClock clock = new ManualClock();
    private final AtomicInteger resets = new AtomicInteger();
    private PcPlatform platform = new PcPlatform(pio, pci, new PcPlatform.Config(serial, clock,
            Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC), 256L << 20, 0, resets::incrementAndGet));

    @After
    public void tearDown() { platform.close(); }

    private void out(int port, int v) { pio.write(port, 1, v); }

    private void initialisePic() {
        out(0x20, 0x11); out(0x21, 0x30); out(0x21, 0x04); out(0x21, 0x01);
        out(0xa0, 0x11); out(0xa1, 0x38); out(0xa1, 0x02); out(0xa1, 0x01);
        out(0x21, 0x00); out(0xa1, 0x00);
    }

    @Test
    public void timerTickReachesTheCpuAsVector0x30() {
        initialisePic();
        out(0x43, 0x34);
        out(0x40, 0x9c);
        out(0x40, 0x2e);                   // 11932: 100 Hz
        clock.advance(10_100_000);
        platform.pit().update();
        assertTrue(platform.pic().interruptPending());
        assertEquals(0x30, platform.pic().acknowledgeInterrupt());
    }

    @Test
    public void ticksMissedWhileTheCpuWasAwayAreDeliveredAfterward() {
        initialisePic();
        out(0x43, 0x34);
        out(0x40, 0x9c);
        out(0x40, 0x2e);                   // 11932: 100 Hz
        clock.advance(50_100_000);         // five periods pass before the CPU looks
        platform.pit().update();
        int taken = 0;
        while (platform.pic().interruptPending()) {
            assertEquals(0x30, platform.pic().acknowledgeInterrupt());
            taken++;
            assertFalse("the next tick waits for the end of this one", platform.pic().interruptPending());
            out(0x20, 0x20);               // EOI
            assertTrue("five periods, not more", taken <= 5);
        }
        assertEquals("every period reached the CPU", 5, taken);
        assertEquals(0, platform.pit().owedTicks());
    }

    @Test
    public void serialConsoleInterruptsOnIrq4() {
        initialisePic();
        out(0x3f9, 0x02);
        assertTrue(platform.pic().interruptPending());
        assertEquals(0x34, platform.pic().acknowledgeInterrupt());
        out(0x3f8, 'A');
        assertEquals("A", serial.toString(StandardCharsets.US_ASCII));
    }

    @Test
    public void devicesAreWhereLinuxLooks() {
        assertEquals(0x60L, pio.read(0x3fd, 1));
        assertEquals(0x1237_8086L, readConfig(0, 0));
        assertEquals(0xffff_ffffL, readConfig(1, 0));
        out(0x70, 0x0d);
        assertEquals(0x80L, pio.read(0x71, 1));
        out(0x80, 0x42);
        assertEquals(0x42, platform.post().lastCode());
        assertEquals("unclaimed ports float high", 0xffL, pio.read(0x2f8, 1));
    }

    private long readConfig(int device, int reg) {
        pio.write(0xcf8, 4, 0x8000_0000L | device << 11 | reg);
        return pio.read(0xcfc, 4);
    }

    @Test
    public void keyboardControllerAndPortAReset() {
        out(0x64, 0xfe);
        assertEquals(1, resets.get());
        out(0x92, 0x01);
        assertEquals(2, resets.get());
        out(0xcf9, 0x02);
        assertEquals("0xcf9 without the reset bit only selects the reset type", 2, resets.get());
        assertEquals(0x02L, pio.read(0xcf9, 1));
        out(0xcf9, 0x06);
        assertEquals(3, resets.get());
    }

    @Test
    public void closeUnregistersEverything() {
        platform.close();
        assertTrue(pio.ranges().isEmpty());
        assertEquals(null, pci.function(0));
    }

    @Test
    public void hostTimerRaisesIrq0InRealTime() throws Exception {
        platform.close();
        CountDownLatch ticks = new CountDownLatch(3);
        platform = new PcPlatform(pio, pci, new PcPlatform.Config(serial, NanoClock.host(), Clock.systemUTC(), 256L << 20, 0, () -> { }));
        initialisePic();
        platform.pic().setWake(() -> {
            if (platform.pic().interruptPending()) {
                int v = platform.pic().acknowledgeInterrupt();
                if (v == 0x30) ticks.countDown();
                out(0x20, 0x20);
            }
        });
        platform.startTimer();
        out(0x43, 0x34);
        out(0x40, 0xa9);
        out(0x40, 0x04);                   // 1193: 1 kHz
        assertTrue("three timer interrupts within 10 s", ticks.await(10, TimeUnit.SECONDS));
        assertFalse(ticks.getCount() > 0);
    }
}
