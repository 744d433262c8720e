package org.vireo.virtio.console;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;

public class ConsoleDeviceTest {
    private static final long TIMEOUT = 10;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final LinkBackend link = new LinkBackend("con");
    private final ConsoleDevice device = new ConsoleDevice(link, "console0");
    private DeviceHarness harness;

    @After
    public void tearDown() {
        if (harness != null) harness.close();
        device.close();
    }

    private static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    private String readFromGuest(int expected) throws InterruptedException {
        byte[] buf = new byte[expected];
        int at = 0;
        while (at < expected) {
            int n = link.receiveFromGuest(buf, at, expected - at, TIMEOUT, TimeUnit.SECONDS);
            if (n == 0) break;
            at += n;
        }
        return new String(buf, 0, at, StandardCharsets.US_ASCII);
    }

    @Test
    public void guestOutputReachesTheLink() throws Exception {
        harness = DeviceHarness.activated(device);
        Completion c = harness.roundTrip(ConsoleDevice.TX, List.of(ascii("hello, "), ascii("host\n")), new int[0], TIMEOUT, TimeUnit.SECONDS);
        assertNotNull(c);
        assertEquals(0, c.length());
        assertEquals("hello, host\n", readFromGuest(12));
        assertEquals(12, device.outputBytes());
        byte[] none = new byte[4];
        assertEquals("nothing more", 0, link.receiveFromGuest(none, 0, 4, 0, TimeUnit.SECONDS));
    }

    @Test
    public void hostInputWaitsForReceiveBuffers() throws Exception {
        harness = DeviceHarness.activated(device);
        link.sendToGuest(ascii("abc"));
        assertEquals(0, harness.usedIndex(ConsoleDevice.RX));
        harness.submitIn(ConsoleDevice.RX, 2);
        harness.kick(ConsoleDevice.RX);
        Completion first = harness.awaitUsed(ConsoleDevice.RX, TIMEOUT, TimeUnit.SECONDS);
        assertEquals("ab", new String(first.written(), StandardCharsets.US_ASCII));
        harness.submitIn(ConsoleDevice.RX, 16);
        harness.kick(ConsoleDevice.RX);
        Completion second = harness.awaitUsed(ConsoleDevice.RX, TIMEOUT, TimeUnit.SECONDS);
        assertEquals("c", new String(second.written(), StandardCharsets.US_ASCII));
        assertEquals(3, device.inputBytes());
    }

    @Test
    public void hostInputFillsBuffersAlreadyPosted() throws Exception {
        harness = DeviceHarness.activated(device);
        harness.submitIn(ConsoleDevice.RX, 4, 4);
        harness.kick(ConsoleDevice.RX);
        assertNull(harness.pollUsed(ConsoleDevice.RX));
        link.sendToGuest(ascii("xyz"));
        Completion c = harness.awaitUsed(ConsoleDevice.RX, TIMEOUT, TimeUnit.SECONDS);
        assertNotNull(c);
        assertEquals(3, c.length());
        assertArrayEquals(ascii("xyz"), c.written());
    }

    @Test
    public void inputBeforeActivationAndAcrossResetIsKept() throws Exception {
        link.sendToGuest(ascii("early"));
        harness = DeviceHarness.builder(device).build();
        harness.activate();
        harness.reset();
        link.sendToGuest(ascii("+late"));
        assertEquals(0, harness.staleCalls());
        harness.activate();
        harness.submitIn(ConsoleDevice.RX, 64);
        harness.kick(ConsoleDevice.RX);
        assertEquals("early+late", new String(harness.awaitUsed(ConsoleDevice.RX, TIMEOUT, TimeUnit.SECONDS).written(), StandardCharsets.US_ASCII));
    }

    @Test
    public void stdioBackendBothWays() throws Exception {
        PipedOutputStream typing = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(typing);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ConsoleDevice dev = new ConsoleDevice(new StdioBackend(in, out, "stdio"), "c");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            h.roundTrip(ConsoleDevice.TX, List.of(ascii("login: ")), new int[0], TIMEOUT, TimeUnit.SECONDS);
            assertEquals("login: ", out.toString(StandardCharsets.US_ASCII));
            h.submitIn(ConsoleDevice.RX, 64);
            h.kick(ConsoleDevice.RX);
            typing.write(ascii("root\n"));
            typing.flush();
            Completion c = h.awaitUsed(ConsoleDevice.RX, TIMEOUT, TimeUnit.SECONDS);
            assertNotNull("typed input delivered by the reader thread", c);
            assertEquals("root\n", new String(c.written(), StandardCharsets.US_ASCII));
        } finally {
            dev.close();
            typing.close();
        }
    }

    @Test
    public void fileBackendAppends() throws Exception {
        Path log = tmp.getRoot().toPath().resolve("console.log");
        Files.writeString(log, "before\n");
        ConsoleDevice dev = new ConsoleDevice(new FileBackend(log), "c");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            h.roundTrip(ConsoleDevice.TX, List.of(ascii("boot ok\n")), new int[0], TIMEOUT, TimeUnit.SECONDS);
        } finally {
            dev.close();
        }
        assertEquals("before\nboot ok\n", Files.readString(log));
        assertTrue(dev.describe(), dev.describe().startsWith("file:" + log));
    }

    /**
     * Issue 18: a backend that blocks on output (stdout nobody reads) held the transmit lock, so a reset or an unplug
     * waited for it forever. Neither the notifying thread nor a reset may wait for the backend.
     */
    @Test
    public void aBlockedBackendHoldsUpNeitherTheNotifierNorAReset() throws Exception {
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ConsoleDevice dev = new ConsoleDevice(new ConsoleBackend() {
            @Override public void start(java.util.function.Consumer<byte[]> input) { }

            @Override
            public void write(byte[] data, int off, int len) {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                synchronized (out) {
                    out.write(data, off, len);
                }
            }

            @Override public String describe() { return "blocked"; }

            @Override public void close() { }
        }, "c");
        DeviceHarness h = DeviceHarness.activated(dev);
        try {
            h.submit(ConsoleDevice.TX, ascii("stuck"));
            Thread kicker = Thread.ofPlatform().start(() -> h.kick(ConsoleDevice.TX));
            assertTrue("the backend was asked to write", entered.await(TIMEOUT, TimeUnit.SECONDS));
            kicker.join(TimeUnit.SECONDS.toMillis(TIMEOUT));
            assertFalse("the notifying thread waits for the backend", kicker.isAlive());
            assertNull("nothing is used before the backend took it", h.pollUsed(ConsoleDevice.TX));
            Thread resetter = Thread.ofPlatform().start(h::reset);
            resetter.join(TimeUnit.SECONDS.toMillis(TIMEOUT));
            assertFalse("reset waits for the backend", resetter.isAlive());
            assertEquals(0, h.staleCalls());
            // A new activation works while the old output is still stuck; once released, everything arrives in order.
            h.activate();
            h.submit(ConsoleDevice.TX, ascii(" then more"));
            h.kick(ConsoleDevice.TX);
            release.countDown();
            assertNotNull(h.awaitUsed(ConsoleDevice.TX, TIMEOUT, TimeUnit.SECONDS));
            synchronized (out) {
                assertEquals("stuck then more", out.toString(StandardCharsets.US_ASCII));
            }
            assertEquals(0, h.staleCalls());
        } finally {
            release.countDown();
            h.close();
            dev.close();
        }
    }

    @Test
    public void largeOutputChainIsStreamed() throws Exception {
        harness = DeviceHarness.activated(device);
        byte[] big = new byte[100_000];
        for (int i = 0; i < big.length; i++) big[i] = (byte) ('a' + i % 26);
        harness.roundTrip(ConsoleDevice.TX, List.of(big), new int[0], TIMEOUT, TimeUnit.SECONDS);
        byte[] got = new byte[big.length];
        int at = 0;
        while (at < got.length) {
            int n = link.receiveFromGuest(got, at, got.length - at, TIMEOUT, TimeUnit.SECONDS);
            assertTrue("output arrives", n > 0);
            at += n;
        }
        assertArrayEquals(big, got);
    }

    @Test
    public void byteQueueDropsTheOldest() {
        ByteQueue q = new ByteQueue(8);
        q.add(ascii("abcdef"), 0, 6);
        q.add(ascii("ghij"), 0, 4);
        assertEquals(8, q.size());
        assertEquals(2, q.dropped());
        byte[] out = new byte[8];
        assertEquals(8, q.poll(out, 0, 8));
        assertEquals("cdefghij", new String(out, StandardCharsets.US_ASCII));
        q.add(ascii("0123456789AB"), 0, 12);
        assertEquals(6, q.dropped());
        assertEquals(8, q.poll(out, 0, 8));
        assertEquals("456789AB", new String(out, StandardCharsets.US_ASCII));
        assertTrue(q.isEmpty());
        // Wrap-around and growth.
        ByteQueue big = new ByteQueue(4096);
        byte[] chunk = new byte[300];
        for (int round = 0; round < 20; round++) {
            Arrays.fill(chunk, (byte) round);
            big.add(chunk, 0, chunk.length);
            byte[] back = new byte[300];
            assertEquals(300, big.poll(back, 0, 300));
            assertArrayEquals(chunk, back);
        }
    }
}
