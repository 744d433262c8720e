package org.vireo.virtio.balloon;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;
import org.vireo.virtio.testkit.DeviceHarness.Token;

public class BalloonDeviceTest {
    private static final long MEMORY = 8 << 20;
    private static final int INFLATE = 0, DEFLATE = 1, STATS = 2, REPORTING = 3;

    private final BalloonDevice device = new BalloonDevice("balloon0", 256, false);
    private DeviceHarness h;

    private DeviceHarness harness() {
        h = DeviceHarness.builder(device).memoryBytes(MEMORY).queueSize(128).build();
        h.activate();
        return h;
    }

    @After
    public void close() {
        if (h != null) h.close();
    }

    private static byte[] pfns(long... pfns) {
        ByteBuffer b = ByteBuffer.allocate(4 * pfns.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long p : pfns) b.putInt((int) p);
        return b.array();
    }

    private Completion await(int queue) throws InterruptedException {
        Completion c = h.awaitUsed(queue, 5, TimeUnit.SECONDS);
        assertNotNull("the device answers on queue " + queue, c);
        return c;
    }

    @Test
    public void configHoldsTheTargetAndTheDriversActual() {
        assertEquals(256, device.readConfig(0, 4));
        assertEquals(1, device.readConfig(1, 1));          // 256 = 0x100: byte 1 is 1
        device.writeConfig(4, 4, 200);
        assertEquals(200, device.readConfig(4, 4));
        assertEquals(200, device.actualPages());
        device.writeConfig(0, 4, 7);                         // num_pages is the device's
        assertEquals(256, device.readConfig(0, 4));
        assertEquals(0, device.readConfig(8, 4));            // beyond config space
        assertEquals(0, device.readConfig(-4, 4));
    }

    @Test
    public void offersStatsAndReportingAndNumbersQueuesAsLinuxDoes() throws Exception {
        assertEquals((1L << BalloonDevice.F_STATS_VQ) | (1L << BalloonDevice.F_PAGE_REPORTING), device.offeredFeatures());
        assertEquals(1L << BalloonDevice.F_DEFLATE_ON_OOM, new BalloonDevice("b", 0, true).offeredFeatures() & (1L << BalloonDevice.F_DEFLATE_ON_OOM));
        assertEquals(1L << BalloonDevice.F_STATS_VQ, new BalloonDevice("b", 0, false, false).offeredFeatures());
        // Without STATS_VQ the reporting queue is queue 2.
        h = DeviceHarness.builder(device).memoryBytes(MEMORY).queueSize(128).wantedFeatures(1L << BalloonDevice.F_PAGE_REPORTING).build();
        h.activate();
        Token t = h.submitIn(2, 4096);
        h.kick(2);
        assertEquals(0, await(2).length());
        assertEquals("a 4 KiB report is whole pages only when aligned", true, device.reportedBytes() <= 4096);
    }

    @Test
    public void inflatedPagesGoBackToTheHostAndReadZero() throws Exception {
        harness();
        long page = 0x600000;   // high in guest RAM, away from the rings the harness allocates low
        byte[] ones = new byte[2 * 4096];
        Arrays.fill(ones, (byte) 0x5a);
        h.memory().write(page, ones, 0, ones.length);
        h.submit(INFLATE, pfns(page >> 12, (page >> 12) + 1, 0x7fff_ffffL));
        h.kick(INFLATE);
        assertEquals("nothing written back", 0, await(INFLATE).length());
        byte[] after = new byte[ones.length];
        h.memory().read(page, after, 0, after.length);
        assertArrayEquals("the pages read zero once given back", new byte[ones.length], after);
        assertEquals("the page outside RAM is skipped", 2, device.inflatedPages());
        assertEquals(2 * 4096, device.discardedBytes());

        h.submit(DEFLATE, pfns(page >> 12));
        h.kick(DEFLATE);
        assertEquals(0, await(DEFLATE).length());
        assertEquals(1, device.deflatedPages());
    }

    @Test
    public void reportedFreePagesGoBackToTheHost() throws Exception {
        harness();
        Token t = h.submitIn(REPORTING, 3 * 4096);
        for (GuestRange r : t.in()) {
            byte[] fill = new byte[(int) r.length()];
            Arrays.fill(fill, (byte) 1);
            h.memory().write(r.address(), fill, 0, fill.length);
        }
        h.kick(REPORTING);
        assertEquals(0, await(REPORTING).length());
        assertTrue("at least two whole pages of the three", device.reportedBytes() >= 2 * 4096);
        assertEquals(device.reportedBytes(), device.discardedBytes());
        GuestRange first = t.in().getFirst();
        long aligned = (first.address() + 4095) & -4096;
        byte[] page = new byte[4096];
        h.memory().read(aligned, page, 0, page.length);
        assertArrayEquals(new byte[4096], page);
    }

    @Test
    public void statsBufferIsHeldUntilTheDeviceAsksAgain() throws Exception {
        harness();
        assertFalse("no buffer yet", device.requestStats());
        ByteBuffer b = ByteBuffer.allocate(30).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 4).putLong(100L << 20);    // free memory
        b.putShort((short) 5).putLong(500L << 20);    // total memory
        b.putShort((short) 99).putLong(7);            // a tag this device does not know
        h.submit(STATS, b.array());
        h.kick(STATS);
        Thread.sleep(200);
        assertNull("the device keeps the buffer", h.pollUsed(STATS));
        assertEquals(Long.valueOf(100L << 20), device.stats().get("free-memory"));
        assertEquals(Long.valueOf(500L << 20), device.stats().get("total-memory"));
        assertEquals(Long.valueOf(7), device.stats().get("tag-99"));
        assertTrue(device.requestStats());
        assertEquals("handed back for a refill", 0, await(STATS).length());
        assertFalse("nothing held until the driver queues it again", device.requestStats());
    }

    @Test
    public void aNewTargetIsAConfigurationChange() throws Exception {
        harness();
        int before = h.configChanges();
        device.setTargetPages(1024);
        assertEquals(1024, device.readConfig(0, 4));
        assertEquals(before + 1, h.configChanges());
    }

    @Test
    public void oddAndOversizedBuffersAreAnsweredNotThrown() throws Exception {
        harness();
        h.submit(INFLATE, new byte[] {1, 2, 3});
        h.kick(INFLATE);
        assertEquals(0, await(INFLATE).length());
        h.submit(INFLATE, new byte[4 * (BalloonDevice.MAX_PFNS_PER_CHAIN + 10)]);   // pfn 0 again and again
        h.kick(INFLATE);
        assertEquals(0, await(INFLATE).length());
        assertTrue(h.needsResetReasons().isEmpty());
    }

    @Test
    public void controlSocketSetsTheTargetAndReportsStats() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("balloon");
        java.nio.file.Path path = dir.resolve("b.sock");
        harness();
        try (BalloonControl control = BalloonControl.open(device, path);
             java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(path))) {
            java.io.BufferedReader in = new java.io.BufferedReader(java.nio.channels.Channels.newReader(c, "US-ASCII"));
            c.write(ByteBuffer.wrap("target 8M\nstats\nbogus\ntarget 1.5G\n".getBytes()));
            assertEquals("ok 2048 pages", in.readLine());
            assertEquals(2048, device.targetPages());
            String stats = in.readLine();
            assertTrue(stats, stats.startsWith("target=2048 actual=0 inflated=0"));
            assertTrue(in.readLine().startsWith("error: unknown command \"bogus\""));
            assertTrue(in.readLine().startsWith("error: target"));
            c.write(ByteBuffer.wrap(("x".repeat(BalloonControl.MAX_LINE + 1)).getBytes()));
            assertTrue("an endless line ends the connection", in.readLine().startsWith("error: a line is at most"));
            try {
                assertNull("closed after it", in.readLine());
            } catch (java.io.IOException reset) {
                // closed with unread bytes: a reset, also the end
            }
        }
        assertFalse("the socket file goes with the device", java.nio.file.Files.exists(path));
        java.nio.file.Files.delete(dir);
    }

    @Test
    public void runOptionParsesIntoSettings() {
        BalloonKind kind = new BalloonKind();
        var option = kind.runOptions().getFirst();
        assertEquals(java.util.Map.of(), kind.parseRunOption(new org.vireo.virtio.kind.RunOption.Occurrence(option, "--balloon", null, "balloon0", java.util.List.of(), 0)));
        var settings = kind.parseRunOption(new org.vireo.virtio.kind.RunOption.Occurrence(option, "--balloon", "target=64M,deflate-on-oom", "balloon0", java.util.List.of(), 0));
        assertEquals(64, settings.get("target.mib"));
        assertEquals(true, settings.get("deflate.on.oom"));
        assertEquals("balloon0: virtio-balloon, target 64 MiB, deflate on OOM", kind.describe("balloon0", settings));
        String bad = org.junit.Assert.assertThrows(IllegalArgumentException.class, () -> kind.parseRunOption(
                new org.vireo.virtio.kind.RunOption.Occurrence(option, "--balloon", "size=1G", "balloon0", java.util.List.of(), 0))).getMessage();
        assertEquals("--balloon: unknown balloon option \"size=1G\" (use target=SIZE, control=PATH, deflate-on-oom, no-reporting)", bad);
        assertTrue(org.junit.Assert.assertThrows(IllegalArgumentException.class, () -> kind.parseRunOption(
                new org.vireo.virtio.kind.RunOption.Occurrence(option, "--balloon", null, "balloon1", java.util.List.of(), 1))).getMessage().contains("twice"));
    }
}
