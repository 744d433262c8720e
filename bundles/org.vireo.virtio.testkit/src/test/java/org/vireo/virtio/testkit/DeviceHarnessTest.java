package org.vireo.virtio.testkit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.vireo.virtio.VirtioFeatures;

public class DeviceHarnessTest {
    @Test(timeout = 60_000)
    public void negotiatesOfferedAndWantedFeaturesPlusTheChosenRingFeatures() {
        try (DeviceHarness h = DeviceHarness.builder(new HarnessEchoDevice(false)).build()) {
            assertEquals(HarnessEchoDevice.FEATURE_A | VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                    | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC), h.features());
        }
        try (DeviceHarness h = DeviceHarness.builder(new HarnessEchoDevice(false)).wantedFeatures(HarnessEchoDevice.FEATURE_B)
                .eventIdx(false).indirect(false).build()) {
            assertEquals(VirtioFeatures.bit(VirtioFeatures.VERSION_1), h.features());
        }
    }

    @Test(timeout = 60_000)
    public void roundTripReturnsTheWrittenBytesAndRecordsSignals() throws Exception {
        try (DeviceHarness h = DeviceHarness.activated(new HarnessEchoDevice(true))) {
            DeviceHarness.Token t = h.submit(1, List.of(new byte[] {1, 2}, new byte[] {3}), 2, 4);
            assertArrayEquals(new byte[6], h.readIn(t));
            h.kick(1);
            DeviceHarness.Completion c = h.awaitUsed(1, 10, TimeUnit.SECONDS);
            assertNotNull(c);
            assertSame(t, c.token());
            assertEquals(3, c.length());
            assertArrayEquals(new byte[] {1, 2, 3}, c.written());
            assertArrayEquals(new byte[] {1, 2, 3, 0, 0, 0}, c.in());
            assertTrue(t.completed());
            assertThrows(IllegalStateException.class, () -> h.readIn(t));
            assertEquals(1, h.signals(1));
            assertEquals(1, h.interrupts(1));
            assertEquals(1, h.notifications(1));
            assertEquals(0, h.signals(0));
            assertEquals(1, h.usedIndex(1));
            assertEquals(List.of(), h.needsResetReasons());
        }
    }

    @Test(timeout = 60_000)
    public void manyRoundTripsWrapTheRingAndFreeTheirBuffers() throws Exception {
        try (DeviceHarness h = DeviceHarness.builder(new HarnessEchoDevice(false)).queueSize(4).build()) {
            h.activate();
            long free = h.allocator().freeBytes();
            for (int i = 0; i < 1000; i++) {
                byte[] msg = {(byte) i, (byte) (i >> 8)};
                DeviceHarness.Completion c = h.roundTrip(0, List.of(msg), new int[] {2}, 10, TimeUnit.SECONDS);
                assertArrayEquals(msg, c.written());
            }
            assertEquals(free, h.allocator().freeBytes());
            assertEquals(4, h.driver(0).size());
        }
    }

    @Test(timeout = 60_000)
    public void awaitUsedTimesOutWithNullWhenNothingComes() throws Exception {
        try (DeviceHarness h = DeviceHarness.activated(new HarnessEchoDevice(false))) {
            h.submit(0, new byte[] {1}, 1);     // not kicked: the device never hears of it
            assertNull(h.awaitUsed(0, 50, TimeUnit.MILLISECONDS));
            assertNull(h.pollUsed(0));
        }
    }

    @Test(timeout = 60_000)
    public void notificationsAreDroppedAfterResetAndQueuesComeBackFreshOnActivate() throws Exception {
        try (DeviceHarness h = DeviceHarness.activated(new HarnessEchoDevice(false))) {
            h.reset();
            assertFalse(h.active());
            h.submit(0, new byte[] {1}, 1);
            h.kick(0);
            assertEquals(0, h.notifications(0));
            assertEquals(0, h.usedIndex(0));
            h.activate();
            assertEquals(2, h.activations());
            assertEquals(0, h.driver(0).size() - h.driver(0).freeCount());
            assertNotNull(h.roundTrip(0, List.of(new byte[] {5}), new int[] {1}, 10, TimeUnit.SECONDS));
        }
    }

    @Test(timeout = 60_000)
    public void corruptingARingMakesTheDeviceAskForReset() throws Exception {
        try (DeviceHarness h = DeviceHarness.activated(new HarnessEchoDevice(true))) {
            h.corruptAndNotify(1);
            assertTrue(h.awaitNeedsReset(10, TimeUnit.SECONDS));
            assertTrue(h.needsResetReasons().get(0), h.needsResetReasons().get(0).contains("out of range"));
            assertTrue(h.deviceQueue(1).broken());
        }
    }

    @Test(timeout = 60_000)
    public void submitThrowsWhenTheRingIsFull() {
        try (DeviceHarness h = DeviceHarness.builder(new HarnessEchoDevice(false)).queueSize(2).indirect(false).build()) {
            h.activate();
            h.submit(0, new byte[] {1}, 1);
            long free = h.allocator().freeBytes();
            assertThrows(IllegalStateException.class, () -> h.submit(0, new byte[] {1}, 1));
            assertEquals("the refused buffers were freed", free, h.allocator().freeBytes());
        }
    }
}
