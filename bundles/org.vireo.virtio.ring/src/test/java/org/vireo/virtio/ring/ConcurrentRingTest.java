package org.vireo.virtio.ring;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.memory.GuestAllocator;
import org.vireo.memory.GuestMemory;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.driver.UsedBuffer;

/**
 * Driver and device on two threads, sleeping between notifications and interrupts exactly as real ones do: a lost
 * wakeup (a missing fence, a wrong event index, a racy restart) shows up as a thread waiting forever, caught by the
 * generous semaphore timeouts. Runs on both ring layouts.
 */
@RunWith(Parameterized.class)
public class ConcurrentRingTest {
    @Parameters(name = "{0}")
    public static List<Object[]> layouts() { return List.of(new Object[] {"split"}, new Object[] {"packed"}); }

    private final long layout;

    public ConcurrentRingTest(String layout) {
        this.layout = layout.equals("packed") ? VirtioFeatures.bit(VirtioFeatures.RING_PACKED) : 0;
    }

    private static final int OPS = 50_000;
    private static final long GUARD_SECONDS = 20;

    @Test(timeout = 120_000)
    public void noLostWakeupsWithFlags() throws Exception {
        exchange(0);
    }

    @Test(timeout = 120_000)
    public void noLostWakeupsWithEventIdx() throws Exception {
        exchange(VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX));
    }

    @Test(timeout = 120_000)
    public void noLostWakeupsWithEventIdxAndIndirect() throws Exception {
        exchange(VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC));
    }

    private void exchange(long ringFeatures) throws Exception {
        long features = ringFeatures | layout;
        try (Arena arena = Arena.ofShared()) {
            long mem = 1 << 20;
            GuestMemory memory = GuestMemory.allocate(arena, mem);
            GuestAllocator allocator = new GuestAllocator(0x1000, mem - 0x1000);
            Semaphore kicks = new Semaphore(0);
            Semaphore interrupts = new Semaphore(0);
            QueueDriver driver = Rings.driver(memory, allocator, 0, 8, features, kicks::release);
            DeviceQueue device = Rings.device(memory, 0, 8, driver.descAddress(), driver.driverAreaAddress(),
                    driver.deviceAreaAddress(), features);
            GuestRange out = new GuestRange(allocator.allocate(8, 8), 8);
            GuestRange in = new GuestRange(allocator.allocate(8, 8), 8);
            AtomicReference<Throwable> deviceFailure = new AtomicReference<>();

            Thread deviceThread = Thread.ofPlatform().name("device").start(() -> {
                try {
                    int served = 0;
                    while (served < OPS) {
                        DescriptorChain c = device.pop();
                        if (c == null) {
                            if (!kicks.tryAcquire(GUARD_SECONDS, TimeUnit.SECONDS)) throw new AssertionError("device starved: lost notification at " + served);
                            continue;
                        }
                        byte[] seq = new byte[8];
                        c.read(0, seq, 0, 8);
                        c.write(0, seq, 0, 8);
                        device.addUsed(c.head(), 8);
                        served++;
                        if (device.needsInterrupt()) interrupts.release();
                    }
                } catch (Throwable t) {
                    deviceFailure.set(t);
                }
            });

            int submitted = 0, completed = 0;
            while (completed < OPS) {
                boolean added = false;
                while (submitted < OPS) {
                    List<GuestRange> outs = submitted % 2 == 0 ? List.of(out) : List.of(out, new GuestRange(out.address(), 0));
                    if (!driver.addBuf(outs, List.of(in), submitted)) break;
                    submitted++;
                    added = true;
                }
                if (added) driver.kick();
                UsedBuffer u;
                while ((u = driver.getBuf()) != null) {
                    assertEquals(completed, u.token());
                    assertEquals(8, u.length());
                    completed++;
                }
                if (completed == submitted) continue;          // nothing in flight: add more (or finish)
                if (!driver.enableCallbacks()) continue;     // used buffers slipped in: poll again
                if (!interrupts.tryAcquire(GUARD_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("driver starved: lost interrupt at " + completed + " " + driver + " " + device
                            + (deviceFailure.get() != null ? " device failed: " + deviceFailure.get() : ""));
                }
                driver.disableCallbacks();
            }
            deviceThread.join(TimeUnit.SECONDS.toMillis(GUARD_SECONDS));
            assertNull(deviceFailure.get());
            assertFalse(deviceThread.isAlive());
            assertEquals(OPS, completed);
            assertEquals(8, driver.freeCount());
            assertFalse(driver.broken());
            assertFalse(device.broken());
            assertTrue(OPS > 0);
        }
    }
}
