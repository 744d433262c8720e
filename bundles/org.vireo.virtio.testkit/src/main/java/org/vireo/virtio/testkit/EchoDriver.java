package org.vireo.virtio.testkit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.driver.UsedBuffer;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.driver.Virtqueue;
import org.vireo.virtio.driver.VirtqueueCallback;

/**
 * A minimal guest driver for {@link EchoDevice} on a transport's driver side, for transport round-trip tests: the
 * status handshake with queue 0, whose used buffers it collects, and echo rounds through that queue.
 */
public final class EchoDriver {
    /** The ring features both transports offer on top of the device's own. */
    public static final long RING_FEATURES = VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC);

    private final VirtioDriverDevice driver;
    private final BlockingQueue<UsedBuffer> used = new LinkedBlockingQueue<>();

    public EchoDriver(VirtioDriverDevice driver) {
        this.driver = driver;
    }

    /** Buffers queue 0 returned, in the order its callback saw them. */
    public BlockingQueue<UsedBuffer> used() {
        return used;
    }

    /** A queue callback that moves every used buffer into {@code sink}. */
    public static VirtqueueCallback collectInto(BlockingQueue<UsedBuffer> sink) {
        return vq -> {
            for (UsedBuffer b = vq.getBuf(); b != null; b = vq.getBuf()) sink.add(b);
        };
    }

    /**
     * Resets the device and brings it up step by step with the offered features that are in {@code wanted} and
     * queue 0 at its maximum size, checking that FEATURES_OK and DRIVER_OK stick.
     */
    public Virtqueue bringUp(long wanted) {
        driver.reset();
        driver.setStatus(ACKNOWLEDGE);
        driver.setStatus(ACKNOWLEDGE | DRIVER);
        driver.writeDriverFeatures(driver.deviceFeatures() & wanted);
        driver.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, driver.getStatus());
        Virtqueue q = driver.setupQueue(0, 0, collectInto(used));
        driver.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, driver.getStatus());
        return q;
    }

    /** Adds one 8-byte readable and one 8-byte writable buffer at {@code buf} as a chain to {@code q}, and kicks. */
    public static void postEcho(Virtqueue q, long buf, Object token) {
        assertTrue(q.addBuf(List.of(new GuestRange(buf, 8)), List.of(new GuestRange(buf + 8, 8)), token));
        q.kick();
    }

    /** Checks that a configuration change {@code device} signals reaches the handler and bumps the generation. */
    public void checkConfigChange(EchoDevice device) throws InterruptedException {
        CountDownLatch changed = new CountDownLatch(1);
        driver.setConfigChangeHandler(changed::countDown);
        int generation = driver.configGeneration();
        device.context.signalConfigChange();
        assertTrue("config change handler did not run", changed.await(10, TimeUnit.SECONDS));
        assertEquals(generation + 1, driver.configGeneration());
    }

    /**
     * Sends {@code rounds} messages ("message N through {@code via}") one at a time, each split over two readable
     * and two writable ranges (so chains, and indirect tables, have several descriptors), and checks each comes back
     * whole with its token; then that the queue is not broken. Frees its buffers.
     */
    public void echoRounds(Virtqueue q, int rounds, String via) throws InterruptedException {
        long out = driver.allocator().allocate(4096, 16);
        long in = driver.allocator().allocate(4096, 16);
        for (int round = 0; round < rounds; round++) {
            byte[] message = ("message " + round + " through " + via).getBytes();
            driver.memory().write(out, message, 0, message.length);
            driver.memory().fill(in, 64, (byte) 0);
            int half = message.length / 2;
            List<GuestRange> outRanges = List.of(new GuestRange(out, half), new GuestRange(out + half, message.length - half));
            List<GuestRange> inRanges = List.of(new GuestRange(in, 10), new GuestRange(in + 10, 54));
            assertTrue(q.addBuf(outRanges, inRanges, round));
            q.kick();
            UsedBuffer b = used.poll(10, TimeUnit.SECONDS);
            assertNotNull("no used buffer for round " + round, b);
            assertEquals(round, b.token());
            assertEquals(message.length, b.length());
            byte[] echoed = new byte[message.length];
            driver.memory().read(in, echoed, 0, echoed.length);
            assertArrayEquals(message, echoed);
        }
        assertFalse(q.broken());
        driver.allocator().free(out);
        driver.allocator().free(in);
    }
}
