package org.vireo.virtio.testkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.ring.SplitRing;

/**
 * The checks every virtio device backend must pass. Subclass it in the device's tests:
 * <pre>{@code
 * public class RngContractTest extends VirtioDeviceContract {
 *     protected VirtioDevice newDevice() { return new RngDevice(...); }
 *     protected Request promptRequest() { return Request.of(0, null, 64); }
 * }
 * }</pre>
 * {@link #promptRequest()} (optional but strongly advised) names a request the device completes promptly on its
 * own (a block read, an entropy request, a transmit); without it the checks that need a positive control are
 * skipped. Negative checks ("nothing happens") wait {@link #QUIET_MILLIS}: a slow machine can only make them miss a
 * bug, never fail a correct device.
 * <p>
 * Every check runs twice, on split and on packed rings (the {@link #ring} parameter, set by the Parameterized
 * runner that subclasses inherit); {@link #configure} sees a builder already set to that layout.
 */
@RunWith(Parameterized.class)
public abstract class VirtioDeviceContract {
    /** The ring layouts every check runs on. */
    @Parameterized.Parameters(name = "{0}")
    public static List<Object[]> ringLayouts() {
        return List.of(new Object[] {RingLayout.SPLIT}, new Object[] {RingLayout.PACKED});
    }

    /** The layout of this run's harnesses. */
    @Parameterized.Parameter
    public RingLayout ring = RingLayout.SPLIT;

    /** Failure guard for things that must happen. */
    protected static final long TIMEOUT_SECONDS = 10;
    /** How long a check waits for something that must not happen. */
    protected static final long QUIET_MILLIS = 200;

    private final List<VirtioDevice> devices = new ArrayList<>();
    private final List<DeviceHarness> harnesses = new ArrayList<>();

    /** A new, unactivated device (with its backend) for one check. */
    protected abstract VirtioDevice newDevice() throws Exception;

    /** Releases what {@link #newDevice()} set up (files, links, threads), after its harness was closed. */
    protected void cleanUp(VirtioDevice device) throws Exception {}

    /** A request the device completes promptly without outside help, or null if it has none. */
    protected Request promptRequest() { return null; }

    /** Adjusts the harness options (memory, features, queue size) for this device. */
    protected DeviceHarness.Builder configure(DeviceHarness.Builder builder) { return builder; }

    /** A request: readable buffers (one descriptor each) and the sizes of writable ones, on a queue. */
    public record Request(int queue, List<byte[]> out, int[] inLengths) {
        public Request {
            out = List.copyOf(out);
            inLengths = inLengths.clone();
        }

        /** One readable buffer ({@code null}: none) and writable buffers of {@code inLengths} bytes. */
        public static Request of(int queue, byte[] out, int... inLengths) {
            return new Request(queue, out == null ? List.of() : List.of(out), inLengths);
        }

        DeviceHarness.Token submitTo(DeviceHarness h) { return h.submit(queue, out, inLengths); }
    }

    /** A fresh device, cleaned up after the test. */
    protected final VirtioDevice device() throws Exception {
        VirtioDevice d = newDevice();
        assertNotNull("newDevice() returned null", d);
        devices.add(d);
        return d;
    }

    /** A harness (not yet activated) for {@code device}, closed after the test. */
    protected final DeviceHarness harness(VirtioDevice device) {
        DeviceHarness h = configure(DeviceHarness.builder(device).ring(ring)).build();
        harnesses.add(h);
        return h;
    }

    @After
    public final void closeContractResources() throws Exception {
        Throwable first = null;
        for (DeviceHarness h : harnesses) {
            try {
                h.close();
            } catch (RuntimeException | Error e) {
                if (first == null) first = e;
            }
        }
        harnesses.clear();
        for (VirtioDevice d : devices) {
            try {
                cleanUp(d);
            } catch (Exception | Error e) {
                if (first == null) first = e;
            }
        }
        devices.clear();
        if (first instanceof Exception e) throw e;
        if (first instanceof Error e) throw e;
    }

    private int checkedQueue() {
        Request r = promptRequest();
        return r == null ? 0 : r.queue();
    }

    private void assertRoundTrip(DeviceHarness h, String when) throws InterruptedException {
        Request r = promptRequest();
        if (r == null) return;
        DeviceHarness.Token t = r.submitTo(h);
        h.kick(r.queue());
        DeviceHarness.Completion c = h.awaitUsed(r.queue(), TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(when + ": the prompt request was not completed within " + TIMEOUT_SECONDS + " s", c);
        assertTrue(when + ": completed a different buffer", c.token() == t);
        assertTrue(when + ": used length " + c.length() + " exceeds the writable " + t.inLength(), c.length() <= t.inLength());
    }

    private static void assertNoReset(DeviceHarness h) {
        assertEquals("unexpected needsReset", List.of(), h.needsResetReasons());
        assertEquals("context misuse", List.of(), h.protocolErrors());
    }

    @Test
    public void queueCountIsPositiveAndMaxSizesArePowersOfTwo() throws Exception {
        VirtioDevice d = device();
        assertTrue("queueCount() must be positive", d.queueCount() > 0);
        for (int i = 0; i < d.queueCount(); i++) {
            int max = d.queueMaxSize(i);
            assertTrue("queue " + i + " max size " + max + " is not a power of two up to 32768", SplitRing.validSize(max));
        }
    }

    @Test
    public void configReadsInsideConfigSpaceNeverThrow() throws Exception {
        VirtioDevice d = device();
        assertTrue("configSize() must not be negative", d.configSize() >= 0);
        readAllConfig(d);
        DeviceHarness h = harness(d);
        h.activate();
        readAllConfig(d);
        h.reset();
        readAllConfig(d);
    }

    private static void readAllConfig(VirtioDevice d) {
        int size = d.configSize();
        for (int width : new int[] {1, 2, 4}) {
            for (int off = 0; off + width <= size; off++) {
                try {
                    d.readConfig(off, width);
                } catch (RuntimeException e) {
                    throw new AssertionError("readConfig(" + off + ", " + width + ") threw", e);
                }
            }
        }
    }

    @Test
    public void offeredFeaturesNeverIncludePackedRing() throws Exception {
        VirtioDevice d = device();
        assertFalse("RING_PACKED is the transport's to offer (virtio.ring=packed), not the device's",
                VirtioFeatures.has(d.offeredFeatures(), VirtioFeatures.RING_PACKED));
    }

    @Test
    public void resetBeforeActivateIsHarmless() throws Exception {
        VirtioDevice d = device();
        d.reset();
        d.reset();
        DeviceHarness h = harness(d);
        h.activate();
        assertRoundTrip(h, "after reset-before-activate");
        assertNoReset(h);
    }

    @Test
    public void activateResetActivateWorks() throws Exception {
        VirtioDevice d = device();
        DeviceHarness h = harness(d);
        h.activate();
        assertRoundTrip(h, "first activation");
        h.reset();
        h.activate();
        assertRoundTrip(h, "second activation");
        h.reset();
        assertNoReset(h);
        assertEquals("the device used a context it was told to forget", 0, h.staleCalls());
    }

    @Test
    public void malformedRingEndsInNeedsReset() throws Exception {
        VirtioDevice d = device();
        DeviceHarness h = harness(d);
        h.activate();
        int q = checkedQueue();
        // A head index equal to the queue size: the smallest possible lie.
        try {
            h.corruptAndNotify(q);
        } catch (RuntimeException e) {
            throw new AssertionError("queueNotify let an exception escape on a malformed ring", e);
        }
        assertTrue("no needsReset within " + TIMEOUT_SECONDS + " s after a malformed chain on queue " + q,
                h.awaitNeedsReset(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        assertTrue(h.deviceQueue(q).broken());
        try {
            h.notifyDevice(q);      // the driver keeps kicking a broken queue: still no exception
        } catch (RuntimeException e) {
            throw new AssertionError("queueNotify let an exception escape on a broken queue", e);
        }
        h.reset();
        h.activate();
        assertRoundTrip(h, "after reset from NEEDS_RESET");
    }

    @Test
    public void notifyOnAnEmptyQueueDoesNothing() throws Exception {
        VirtioDevice d = device();
        DeviceHarness h = harness(d);
        h.activate();
        for (int q = 0; q < d.queueCount(); q++) {
            try {
                h.notifyDevice(q);
            } catch (RuntimeException e) {
                throw new AssertionError("queueNotify(" + q + ") on an empty queue threw", e);
            }
        }
        Request r = promptRequest();
        if (r != null) {
            assertRoundTrip(h, "after empty notifies");     // a barrier: the device has handled the notifies before it
        } else {
            Thread.sleep(QUIET_MILLIS);
        }
        for (int q = 0; q < d.queueCount(); q++) {
            int expected = r != null && q == r.queue() ? 1 : 0;
            assertEquals("used entries on queue " + q, expected, h.usedIndex(q));
            assertFalse(h.deviceQueue(q).broken());
        }
        assertNoReset(h);
    }

    @Test
    public void resetStopsProcessing() throws Exception {
        Request r = promptRequest();
        Assume.assumeNotNull(r);    // needs a request the device would complete
        VirtioDevice d = device();
        DeviceHarness h = harness(d);
        h.activate();
        assertRoundTrip(h, "before reset");     // positive control: this device does complete the request
        // Work in flight at reset may or may not complete, but nothing may move after reset() returns.
        int inFlight = Math.min(4, h.driver(r.queue()).freeCount());
        for (int i = 0; i < inFlight; i++) {
            if (h.driver(r.queue()).freeCount() < r.out().size() + r.inLengths().length) break;
            r.submitTo(h);
        }
        h.kick(r.queue());
        h.reset();
        int usedAtReset = h.usedIndex(r.queue());
        r.submitTo(h);
        h.kick(r.queue());          // dropped, as a transport drops notifies to a reset device
        Thread.sleep(QUIET_MILLIS);
        assertEquals("the device used buffers after reset", usedAtReset, h.usedIndex(r.queue()));
        assertEquals("the device used a context it was told to forget", 0, h.staleCalls());
    }
}
