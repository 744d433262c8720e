package org.vireo.virtio.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.VirtioStatus.NEEDS_RESET;

import java.lang.foreign.Arena;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.ActivationGuard;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.testkit.LogCapture;

/**
 * Issue 18: a guest that repeats a fault must not flood the host's log. The reproducer from the issue (reset, an
 * avail index of 0xffff, DRIVER_OK, notify, over and over), a refused DRIVER_OK and a refused late queue enable,
 * each thousands of times, leave a handful of warnings, not thousands.
 */
public class GuestLogFloodTest {
    private static final int ROUNDS = 5000;
    private static final long V1 = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    private static final long DESC = 0x1000, AVAIL = 0x2000, USED = 0x3000;

    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = GuestMemory.allocate(arena, 1 << 20);
    private final GuardedDevice device = new GuardedDevice();
    private final VirtioDeviceCore core = new VirtioDeviceCore(device, memory, new InterruptSink() {
        @Override public void queueInterrupt(int queue) { }

        @Override public void configInterrupt() { }
    }, "flood");

    @After
    public void close() {
        core.close();
        arena.close();
    }

    /** A device whose queue work goes through ActivationGuard, as blk, console and rng do. */
    private static final class GuardedDevice implements VirtioDevice {
        private static final System.Logger LOG = System.getLogger("org.vireo.virtio.core.test.GuardedDevice");
        final ReentrantLock lock = new ReentrantLock();
        final ActivationGuard activations = new ActivationGuard(LOG, "guarded", lock);

        @Override public int deviceId() { return 4; }
        @Override public long offeredFeatures() { return 0; }
        @Override public int queueCount() { return 1; }
        @Override public int queueMaxSize(int index) { return 16; }
        @Override public int configSize() { return 0; }
        @Override public int readConfig(int offset, int size) { return 0; }
        @Override public void writeConfig(int offset, int size, int value) { }
        @Override public void activate(VirtioDeviceContext context) { activations.activate(context); }
        @Override public void reset() { activations.reset(); }

        @Override
        public void queueNotify(int index) {
            lock.lock();
            try {
                activations.serve(activations.current(), index, "queue", "", chain -> 0);
            } finally {
                lock.unlock();
            }
        }
    }

    private void upTo(int status, int queueSize) {
        core.reset();
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        core.selectDriverFeatures(1);
        core.writeDriverFeatureWindow((int) (V1 >>> 32));
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        core.selectQueue(0);
        core.setQueueSize(queueSize);
        core.setQueueDesc(DESC);
        core.setQueueDriver(AVAIL);
        core.setQueueDevice(USED);
        if (status != 0) core.setQueueReady(true);
        if (status != 0) core.writeStatus(status);
    }

    private static void assertBounded(LogCapture logs, int kinds) {
        int warnings = logs.atLeast(Level.WARNING).size();
        assertTrue("nothing was said at all", warnings >= 1);
        assertTrue(warnings + " warnings for " + ROUNDS + " rounds:\n" + logs.warnings(), warnings <= 2 * kinds);
    }

    @Test
    public void aBrokenAvailIndexRepeatedIsLoggedAFewTimes() {
        try (LogCapture logs = LogCapture.of("org.vireo")) {
            for (int i = 0; i < ROUNDS; i++) {
                upTo(0, 16);
                memory.writeShort(AVAIL + 2, (short) 0xffff);
                core.setQueueReady(true);
                core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
                core.notifyQueue(0);
                assertEquals(NEEDS_RESET, core.status() & NEEDS_RESET);
            }
            // two kinds: the device stops its activation, the core sets NEEDS_RESET
            assertBounded(logs, 2);
        }
    }

    @Test
    public void aRefusedDriverOkRepeatedIsLoggedAFewTimes() {
        try (LogCapture logs = LogCapture.of("org.vireo")) {
            for (int i = 0; i < ROUNDS; i++) {
                upTo(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, 3);   // not a power of two
                assertEquals(NEEDS_RESET, core.status() & NEEDS_RESET);
            }
            assertBounded(logs, 1);
        }
    }

    @Test
    public void aRefusedLateQueueEnableRepeatedIsLoggedAFewTimes() {
        try (LogCapture logs = LogCapture.of("org.vireo")) {
            for (int i = 0; i < ROUNDS; i++) {
                upTo(0, 16);
                core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
                core.selectQueue(0);
                core.setQueueDesc(memory.size());   // outside guest memory
                core.setQueueReady(true);
                assertEquals(NEEDS_RESET, core.status() & NEEDS_RESET);
            }
            assertBounded(logs, 1);
        }
    }
}
