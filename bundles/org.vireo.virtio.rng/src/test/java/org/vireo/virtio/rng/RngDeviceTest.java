package org.vireo.virtio.rng;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;

public class RngDeviceTest {
    private static final long TIMEOUT = 10;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private static Completion fill(DeviceHarness h, int... lengths) throws InterruptedException {
        Completion c = h.roundTrip(0, List.of(), lengths, TIMEOUT, TimeUnit.SECONDS);
        assertNotNull(c);
        return c;
    }

    @Test
    public void secureRandomFillsTheWholeBuffer() throws Exception {
        RngDevice dev = new RngDevice(new SecureRandomSource(), "rng");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            Completion c = fill(h, 100, 28);
            assertEquals(128, c.length());
            // 128 random bytes that are all zero: probability 2^-1024.
            assertFalse(Arrays.equals(new byte[128], c.in()));
            assertEquals(128, dev.bytes());
        }
    }

    @Test
    public void fileSourceIsServedInOrderUntilExhausted() throws Exception {
        Path p = tmp.newFile().toPath();
        byte[] content = new byte[100];
        for (int i = 0; i < content.length; i++) content[i] = (byte) (i + 1);
        Files.write(p, content);
        RngDevice dev = new RngDevice(new FileSource(p), "rng");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            Completion a = fill(h, 64);
            assertEquals(64, a.length());
            assertArrayEquals(Arrays.copyOf(content, 64), a.in());
            Completion b = fill(h, 64);
            assertEquals("only what is left", 36, b.length());
            assertArrayEquals(Arrays.copyOfRange(content, 64, 100), b.written());
            assertEquals("exhausted", 0, fill(h, 64).length());
            assertTrue(h.needsResetReasons().isEmpty());
        } finally {
            dev.close();
        }
    }

    @Test
    public void severalChainsInOneKick() throws Exception {
        RngDevice dev = new RngDevice(new SecureRandomSource(), "rng");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            h.submitIn(0, 16);
            h.submitIn(0, 32);
            h.submitIn(0, 8);
            h.kick(0);
            int[] expected = {16, 32, 8};
            for (int e : expected) assertEquals(e, h.awaitUsed(0, TIMEOUT, TimeUnit.SECONDS).length());
        }
    }

    @Test
    public void largeRequestsAreCapped() throws Exception {
        RngDevice dev = new RngDevice(new SecureRandomSource(), "rng");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            assertEquals(RngDevice.MAX_PER_REQUEST, fill(h, RngDevice.MAX_PER_REQUEST + 1000).length());
            assertEquals("a chain with nothing writable gets nothing", 0,
                    h.roundTrip(0, List.of(new byte[8]), new int[0], TIMEOUT, TimeUnit.SECONDS).length());
        }
    }

    @Test
    public void urandomWorksWhenPresent() throws Exception {
        Path urandom = Path.of("/dev/urandom");
        org.junit.Assume.assumeTrue(Files.isReadable(urandom));
        RngDevice dev = new RngDevice(new FileSource(urandom), "rng");
        try (DeviceHarness h = DeviceHarness.activated(dev)) {
            assertEquals(256, fill(h, 256).length());
        } finally {
            dev.close();
        }
        assertTrue(dev.describe(), dev.describe().startsWith("/dev/urandom"));
    }
}
