package org.vireo.virtio.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.vireo.virtio.VirtioStatus.ACKNOWLEDGE;
import static org.vireo.virtio.VirtioStatus.DRIVER;
import static org.vireo.virtio.VirtioStatus.DRIVER_OK;
import static org.vireo.virtio.VirtioStatus.FAILED;
import static org.vireo.virtio.VirtioStatus.FEATURES_OK;
import static org.vireo.virtio.VirtioStatus.NEEDS_RESET;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.ring.PackedQueueDevice;
import org.vireo.virtio.ring.QueueDriver;
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.ring.Rings;
import org.vireo.virtio.ring.SplitQueueDriver;

public class VirtioDeviceCoreTest {
    private static final long V1 = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    private static final int MEMORY = 1 << 20;

    private final Arena arena = Arena.ofShared();
    private final GuestMemory memory = GuestMemory.allocate(arena, MEMORY);
    private final FakeDevice device = new FakeDevice();
    private final List<Integer> queueInterrupts = new CopyOnWriteArrayList<>();
    private final List<String> configInterrupts = new CopyOnWriteArrayList<>();
    private final VirtioDeviceCore core = new VirtioDeviceCore(device, memory, new InterruptSink() {
        @Override public void queueInterrupt(int queue) { queueInterrupts.add(queue); }

        @Override public void configInterrupt() { configInterrupts.add("config"); }
    }, "test");

    @After
    public void closeMemory() { arena.close(); }

    // ---- helpers ----

    private void negotiate(long features) {
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        core.selectDriverFeatures(0);
        core.writeDriverFeatureWindow((int) features);
        core.selectDriverFeatures(1);
        core.writeDriverFeatureWindow((int) (features >>> 32));
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
    }

    /** A valid ring for queue {@code index} of {@code size} entries at {@code base} (desc, then avail, then used). */
    private void configureQueue(int index, int size, long base) {
        core.selectQueue(index);
        core.setQueueSize(size);
        core.setQueueDesc(base);
        core.setQueueDriver(base + 16L * size);
        core.setQueueDevice((base + 16L * size + 6 + 2L * size + 3) & ~3L);
        core.setQueueReady(true);
    }

    private void start() {
        negotiate(V1);
        configureQueue(0, 16, 0x1000);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(1, device.activations.size());
    }

    // ---- features ----

    @Test
    public void offersTransportFeaturesButNeverPacked() {
        device.offered = FakeDevice.OWN_FEATURE | VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
        VirtioDeviceCore c = new VirtioDeviceCore(device, memory, null, "t");
        long offered = c.offeredFeatures();
        assertTrue(VirtioFeatures.has(offered, VirtioFeatures.VERSION_1));
        assertTrue(VirtioFeatures.has(offered, VirtioFeatures.RING_INDIRECT_DESC));
        assertTrue(VirtioFeatures.has(offered, VirtioFeatures.RING_EVENT_IDX));
        assertTrue((offered & FakeDevice.OWN_FEATURE) != 0);
        assertFalse(VirtioFeatures.has(offered, VirtioFeatures.RING_PACKED));
    }

    @Test
    public void packedLayoutOffersBit34AndADriverAcceptingItGetsPackedRings() throws Exception {
        VirtioDeviceCore c = new VirtioDeviceCore(device, memory, new InterruptSink() {
            @Override public void queueInterrupt(int queue) { queueInterrupts.add(queue); }

            @Override public void configInterrupt() {}
        }, "packed", RingLayout.PACKED);
        assertTrue(VirtioFeatures.has(c.offeredFeatures(), VirtioFeatures.RING_PACKED));
        long features = V1 | VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
        c.writeStatus(ACKNOWLEDGE | DRIVER);
        c.selectDriverFeatures(0);
        c.writeDriverFeatureWindow((int) features);
        c.selectDriverFeatures(1);
        c.writeDriverFeatureWindow((int) (features >>> 32));
        c.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        GuestAllocator allocator = new GuestAllocator(0x10000, MEMORY - 0x10000);
        QueueDriver driver = Rings.driver(memory, allocator, 0, 12, features, () -> c.notifyQueue(0));   // not a power of two
        c.selectQueue(0);
        c.setQueueSize(12);
        c.setQueueDesc(driver.descAddress());
        c.setQueueDriver(driver.driverAreaAddress());
        c.setQueueDevice(driver.deviceAreaAddress());
        c.setQueueReady(true);
        c.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, c.status());
        DeviceQueue q = device.context().queue(0);
        assertTrue(q instanceof PackedQueueDevice);
        long buffer = allocator.allocate(64, 8);
        assertTrue(driver.addBuf(List.of(new GuestRange(buffer, 8)), List.of(), "a"));
        driver.kick();
        DescriptorChain chain = q.pop();
        q.addUsed(chain.head(), 0);
        device.context().signalUsed(0);
        assertEquals(List.of(0), queueInterrupts);
        assertEquals("a", driver.getBuf().token());
    }

    @Test
    public void featureWindows() {
        core.selectDeviceFeatures(0);
        assertEquals((int) core.offeredFeatures(), core.deviceFeatureWindow());
        core.selectDeviceFeatures(1);
        assertEquals(1, core.deviceFeatureWindow()); // VERSION_1 is bit 32
        core.selectDeviceFeatures(2);
        assertEquals(0, core.deviceFeatureWindow());
        core.selectDeviceFeatures(-1);
        assertEquals(0, core.deviceFeatureWindow());

        core.selectDriverFeatures(1);
        core.writeDriverFeatureWindow(0xdead);
        core.selectDriverFeatures(7);
        core.writeDriverFeatureWindow(0xffff_ffff);
        assertEquals(0, core.driverFeatureWindow());
        core.selectDriverFeatures(0);
        core.writeDriverFeatureWindow(0xbeef);
        assertEquals(0xbeef, core.driverFeatureWindow());
        assertEquals(0xdead_0000_beefL, core.driverFeatures());
    }

    // ---- status machine ----

    @Test
    public void happyPathActivatesWithNegotiatedFeatures() {
        long features = V1 | FakeDevice.OWN_FEATURE | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX);
        negotiate(features);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, core.status());
        configureQueue(0, 16, 0x1000);
        assertTrue(device.activations.isEmpty());
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, core.status());
        assertEquals(1, device.activations.size());
        VirtioDeviceContext ctx = device.context();
        assertEquals(features, ctx.negotiatedFeatures());
        assertSame(memory, ctx.memory());
        assertNotNull(ctx.queue(0));
        assertEquals(16, ctx.queue(0).size());
        assertNull("queue 1 was not enabled", ctx.queue(1));
        assertNull(ctx.queue(2));
        assertNull(ctx.queue(-1));
        assertTrue(core.running());
    }

    @Test
    public void statusBitsOnlyGrowInOrder() {
        core.writeStatus(DRIVER);
        assertEquals("DRIVER before ACKNOWLEDGE", 0, core.status());
        core.writeStatus(ACKNOWLEDGE);
        core.writeStatus(ACKNOWLEDGE | FEATURES_OK);
        assertEquals("FEATURES_OK before DRIVER", ACKNOWLEDGE, core.status());
        core.writeStatus(ACKNOWLEDGE | DRIVER);
        core.writeStatus(ACKNOWLEDGE | DRIVER | DRIVER_OK);
        assertEquals("DRIVER_OK before FEATURES_OK", ACKNOWLEDGE | DRIVER, core.status());
        core.writeStatus(ACKNOWLEDGE);
        assertEquals("bits cannot be cleared but by reset", ACKNOWLEDGE | DRIVER, core.status());
        core.writeStatus(ACKNOWLEDGE | DRIVER | 0x30);
        assertEquals("unknown bits are dropped", ACKNOWLEDGE | DRIVER, core.status());
        assertTrue(device.activations.isEmpty());
    }

    @Test
    public void severalBitsAtOnceInOrderAreAccepted() {
        core.selectDriverFeatures(1);
        core.writeDriverFeatureWindow(1);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, core.status());
        assertEquals(1, device.activations.size());
    }

    @Test
    public void featuresOkRefusedForUnofferedBits() {
        negotiate(V1 | (1L << 20));
        assertEquals("FEATURES_OK must read back clear", ACKNOWLEDGE | DRIVER, core.status());
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
        assertTrue(device.activations.isEmpty());
        // the driver may try again with an acceptable set
        core.selectDriverFeatures(0);
        core.writeDriverFeatureWindow(0);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK, core.status());
    }

    @Test
    public void featuresOkRefusedWithoutVersion1() {
        negotiate(FakeDevice.OWN_FEATURE);
        assertEquals(ACKNOWLEDGE | DRIVER, core.status());
    }

    @Test
    public void featureWritesAfterFeaturesOkAreIgnored() {
        negotiate(V1);
        core.selectDriverFeatures(0);
        core.writeDriverFeatureWindow((int) FakeDevice.OWN_FEATURE);
        core.selectDriverFeatures(1);
        core.writeDriverFeatureWindow(0);
        assertEquals(V1, core.driverFeatures());
    }

    @Test
    public void invalidQueuesAtDriverOkSetNeedsReset() {
        long[][] cases = {
                {3, 0x1000, 0x2000, 0x3000},            // not a power of two
                {512, 0x1000, 0x4000, 0x8000},          // above the maximum of 256
                {16, 0x1008, 0x2000, 0x3000},           // descriptor table misaligned
                {16, 0x1000, 0x2001, 0x3000},           // avail misaligned
                {16, 0x1000, 0x2000, 0x3002},           // used misaligned
                {16, MEMORY - 16, 0x2000, 0x3000},      // descriptor table runs out of memory
                {16, 0x1000, 0x2000, 0x7fff_0000_0000L}, // used ring outside memory
        };
        for (long[] c : cases) {
            core.reset();
            configInterrupts.clear();
            int activations = device.activations.size();
            negotiate(V1);
            core.selectQueue(0);
            core.setQueueSize((int) c[0]);
            core.setQueueDesc(c[1]);
            core.setQueueDriver(c[2]);
            core.setQueueDevice(c[3]);
            core.setQueueReady(true);
            core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            String what = java.util.Arrays.toString(c);
            assertTrue(what, (core.status() & NEEDS_RESET) != 0);
            assertEquals(what, activations, device.activations.size());
            assertEquals(what, 1, configInterrupts.size());
            assertEquals(what, VirtioDeviceCore.ISR_CONFIG, core.interruptStatus() & VirtioDeviceCore.ISR_CONFIG);
            assertFalse(core.running());
            core.notifyQueue(0);
            assertTrue("no notifications after a refused DRIVER_OK", device.notifies.isEmpty());
        }
    }

    @Test
    public void resetClearsDeviceAndQueueState() {
        start();
        VirtioDeviceContext old = device.context();
        core.selectQueue(1);
        core.setQueueSize(32);
        core.setQueueVector(3);
        core.setConfigVector(2);
        int resetsBefore = device.resets;
        core.writeStatus(0);
        assertEquals(resetsBefore + 1, device.resets);
        assertEquals(0, core.status());
        assertEquals(0, core.driverFeatures());
        assertEquals(0, core.interruptStatus());
        assertEquals(0, core.queueSelect());
        assertEquals(VirtioDeviceCore.NO_VECTOR, core.configVector());
        for (int q = 0; q < 2; q++) {
            core.selectQueue(q);
            assertFalse(core.queueReady());
            assertEquals(q == 0 ? 256 : 64, core.queueSize());
            assertEquals(0, core.queueDesc());
            assertEquals(0, core.queueDriver());
            assertEquals(0, core.queueDevice());
            assertEquals(VirtioDeviceCore.NO_VECTOR, core.queueVector());
        }
        assertFalse(core.running());
        // The old context is inert: a late worker cannot disturb the next driver.
        assertNull(old.queue(0));
        old.signalConfigChange();
        old.needsReset("late");
        old.signalUsed(0);
        assertEquals(0, core.interruptStatus());
        assertEquals(0, core.status());
        assertTrue(configInterrupts.isEmpty());
        // and the device can be brought up again
        start2();
    }

    private void start2() {
        negotiate(V1);
        configureQueue(0, 16, 0x1000);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertEquals(2, device.activations.size());
        assertTrue(core.running());
    }

    @Test
    public void failedStopsTheDeviceUntilReset() {
        start();
        int resets = device.resets;
        core.writeStatus(core.status() | FAILED);
        assertTrue((core.status() & FAILED) != 0);
        assertEquals(resets + 1, device.resets);
        assertFalse(core.running());
        core.notifyQueue(0);
        assertTrue(device.notifies.isEmpty());
        core.writeStatus(ACKNOWLEDGE);
        assertTrue("only reset leaves FAILED", (core.status() & FAILED) != 0);
        core.writeConfig(0, 1, 1);
        assertTrue(device.configWrites.isEmpty());
        core.writeStatus(0);
        assertEquals(0, core.status());
        start2();
    }

    @Test
    public void failedBeforeActivationDoesNotActivate() {
        negotiate(V1);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FAILED);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | FAILED);
        assertTrue(device.activations.isEmpty());
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | FAILED, core.status());
    }

    // ---- notifications ----

    @Test
    public void notificationsOnlyReachARunningDeviceOnReadyQueues() {
        core.notifyQueue(0);
        negotiate(V1);
        configureQueue(0, 16, 0x1000);
        core.notifyQueue(0);
        assertTrue("before DRIVER_OK", device.notifies.isEmpty());
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        core.notifyQueue(1);
        core.notifyQueue(2);
        core.notifyQueue(-1);
        core.notifyQueue(0xffff);
        assertTrue("unready or missing queues", device.notifies.isEmpty());
        core.notifyQueue(0);
        assertEquals(List.of(0), device.notifies);
    }

    @Test
    public void deviceExceptionInActivateSetsNeedsReset() {
        device.failActivate = true;
        negotiate(V1);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertTrue((core.status() & NEEDS_RESET) != 0);
        assertEquals(1, configInterrupts.size());
        core.notifyQueue(0);
        assertTrue(device.notifies.isEmpty());
    }

    @Test
    public void deviceExceptionInNotifySetsNeedsReset() {
        start();
        device.failNotify = true;
        core.notifyQueue(0);
        assertEquals(1, device.notifies.size());
        assertTrue((core.status() & NEEDS_RESET) != 0);
        assertEquals(1, configInterrupts.size());
        core.notifyQueue(0);
        assertEquals("stopped after NEEDS_RESET", 1, device.notifies.size());
    }

    @Test
    public void needsResetFromTheDeviceRaisesConfigInterruptOnce() {
        start();
        device.context().needsReset("broken backend");
        device.context().needsReset("again");
        assertEquals(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK | NEEDS_RESET, core.status());
        assertEquals(1, configInterrupts.size());
        assertEquals(VirtioDeviceCore.ISR_CONFIG, core.interruptStatus());
        core.notifyQueue(0);
        assertTrue(device.notifies.isEmpty());
        // the driver's status writes keep the device's NEEDS_RESET
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        assertTrue((core.status() & NEEDS_RESET) != 0);
        core.writeStatus(0);
        assertEquals(0, core.status());
    }

    @Test
    public void lateQueueEnableStartsTheQueueOrSetsNeedsReset() {
        start();
        assertNull(device.context().queue(1));
        configureQueue(1, 8, 0x8000);
        assertNotNull(device.context().queue(1));
        core.notifyQueue(1);
        assertEquals(List.of(1), device.notifies);
        core.selectQueue(1);
        core.setQueueReady(false);
        assertNull(device.context().queue(1));
        core.setQueueSize(5);
        core.setQueueReady(true);
        assertTrue((core.status() & NEEDS_RESET) != 0);
        assertEquals(1, configInterrupts.size());
    }

    @Test
    public void queueFieldsAreFrozenWhileReadyAndAbsentQueuesReadZero() {
        configureQueue(0, 16, 0x1000);
        core.selectQueue(0);
        core.setQueueSize(32);
        core.setQueueDesc(0x5000);
        core.setQueueDriver(0x5000);
        core.setQueueDevice(0x5000);
        assertEquals(16, core.queueSize());
        assertEquals(0x1000, core.queueDesc());
        core.selectQueue(2);
        assertEquals(0, core.queueMaxSize());
        assertEquals(0, core.queueSize());
        assertFalse(core.queueReady());
        core.setQueueReady(true);
        core.setQueueSize(4);
        assertFalse(core.queueReady());
        assertEquals(VirtioDeviceCore.NO_VECTOR, core.queueVector());
        core.selectQueue(1);
        assertEquals(64, core.queueMaxSize());
        assertEquals(1, core.queueNotifyOffset());
    }

    // ---- interrupts ----

    @Test
    public void signalUsedHonoursSuppressionAndSetsIsr() throws Exception {
        GuestAllocator allocator = new GuestAllocator(0x10000, MEMORY - 0x10000);
        negotiate(V1);
        SplitQueueDriver driver = new SplitQueueDriver(memory, allocator, 0, 16, V1, () -> core.notifyQueue(0));
        core.selectQueue(0);
        core.setQueueSize(16);
        core.setQueueDesc(driver.descAddress());
        core.setQueueDriver(driver.availAddress());
        core.setQueueDevice(driver.usedAddress());
        core.setQueueReady(true);
        core.writeStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
        DeviceQueue q = device.context().queue(0);

        long buffer = allocator.allocate(64, 8);
        assertTrue(driver.addBuf(List.of(new GuestRange(buffer, 8)), List.of(), "a"));
        driver.kick();
        assertEquals(List.of(0), device.notifies);
        DescriptorChain chain = q.pop();
        q.addUsed(chain.head(), 0);
        device.context().signalUsed(0);
        assertEquals(List.of(0), queueInterrupts);
        assertEquals(VirtioDeviceCore.ISR_QUEUE, core.interruptStatus());
        core.acknowledgeInterrupt(VirtioDeviceCore.ISR_QUEUE);
        assertEquals(0, core.interruptStatus());

        driver.getBuf();
        driver.disableCallbacks();
        assertTrue(driver.addBuf(List.of(new GuestRange(buffer, 8)), List.of(), "b"));
        driver.kick();
        chain = q.pop();
        q.addUsed(chain.head(), 0);
        device.context().signalUsed(0);
        assertEquals("suppressed by the driver", 1, queueInterrupts.size());
        assertEquals(0, core.interruptStatus());
        device.context().signalUsed(1);
        device.context().signalUsed(99);
        assertEquals(1, queueInterrupts.size());
    }

    @Test
    public void configChangeBumpsGenerationAndSetsIsr() {
        start();
        int generation = core.configGeneration();
        device.context().signalConfigChange();
        assertEquals(generation + 1, core.configGeneration());
        assertEquals(1, configInterrupts.size());
        assertEquals(VirtioDeviceCore.ISR_CONFIG, core.takeInterruptStatus());
        assertEquals(0, core.takeInterruptStatus());
    }

    // ---- config space ----

    @Test
    public void configAccessesAreBoundsChecked() {
        assertEquals(0x44, core.readConfig(0, 1));
        assertEquals(0x3344, core.readConfig(0, 2));
        assertEquals(0x11223344, core.readConfig(0, 4));
        assertEquals(0x55667788, core.readConfig(4, 4));
        assertEquals(0, core.readConfig(5, 4));
        assertEquals(0, core.readConfig(8, 1));
        assertEquals(0, core.readConfig(-1, 1));
        assertEquals(0, core.readConfig(0, 3));
        assertEquals(0, core.readConfig(0, 8));
        assertEquals(0, core.readConfig(Integer.MAX_VALUE, 4));
        core.writeConfig(7, 2, 0xffff);
        core.writeConfig(0, 8, 1);
        core.writeConfig(-4, 4, 1);
        assertTrue(device.configWrites.isEmpty());
        core.writeConfig(6, 2, 0x1234);
        assertEquals(List.of("6:2:1234"), device.configWrites);
        device.failConfig = true;
        assertEquals(0, core.readConfig(0, 4));
    }

    // ---- lifecycle ----

    @Test
    public void closeResetsAndIgnoresEverythingAfter() {
        start();
        int resets = device.resets;
        core.close();
        assertEquals(resets + 1, device.resets);
        assertEquals(0, core.status());
        core.writeStatus(ACKNOWLEDGE);
        assertEquals(0, core.status());
        core.selectQueue(0);
        core.setQueueReady(true);
        assertFalse(core.queueReady());
    }

    @Test
    public void resetWaitsForANotificationInFlight() throws Exception {
        start();
        CountDownLatch inNotify = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean notifying = new AtomicBoolean();
        AtomicBoolean overlapped = new AtomicBoolean();
        device.onNotify = () -> {
            notifying.set(true);
            inNotify.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            notifying.set(false);
        };
        device.onReset = () -> { if (notifying.get()) overlapped.set(true); };
        Thread notifier = new Thread(() -> core.notifyQueue(0));
        notifier.start();
        assertTrue(inNotify.await(30, TimeUnit.SECONDS));
        Thread resetter = new Thread(core::reset);
        resetter.start();
        // Wait (bounded) until the reset is parked on the lock, then let the notification finish.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (resetter.getState() != Thread.State.WAITING && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(Thread.State.WAITING, resetter.getState());
        release.countDown();
        notifier.join(30_000);
        resetter.join(30_000);
        assertFalse("device.reset ran during queueNotify", overlapped.get());
        assertEquals(0, core.status());
    }

    @Test
    public void transportInfoReflectsTheCore() {
        start();
        CoreTransportInfo info = new CoreTransportInfo(core, "m/x", "mmio", () -> "0x1 irq 2", "m", "rng0");
        assertEquals("m/x", info.name());
        assertEquals("mmio", info.transport());
        assertEquals("0x1 irq 2", info.address());
        assertEquals("m", info.machine());
        assertEquals(4, info.deviceId());
        assertEquals("rng0", info.deviceName());
        assertEquals(core.status(), info.status());
        assertEquals(core.offeredFeatures(), info.deviceFeatures());
        assertEquals(V1, info.driverFeatures());
        List<VirtioTransportInfo.QueueInfo> queues = info.queues();
        assertEquals(2, queues.size());
        assertEquals(new VirtioTransportInfo.QueueInfo(0, 256, 16, true, 0, 0, 0), queues.get(0));
        assertEquals(new VirtioTransportInfo.QueueInfo(1, 64, 64, false, 0, 0, 0), queues.get(1));
        assertEquals("", info.backend());
    }
}
