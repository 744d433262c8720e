package org.vireo.virtio.testkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.junit.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.vireo.virtio.device.ConfigSpace;
import org.vireo.virtio.device.DescriptorChain;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.device.VirtioDeviceContext;
import org.vireo.virtio.device.VirtqueueException;

/** The contract must be able to fail: run it against devices with known bugs and check which checks catch them. */
public class ContractCatchesBadDevicesTest {

    /** Lets VirtqueueException escape as a RuntimeException, has a size-3 queue, offers RING_PACKED, throws on config reads. */
    static class SloppyDevice implements VirtioDevice {
        private volatile VirtioDeviceContext context;

        @Override public int deviceId() { return 0x7f; }
        @Override public long offeredFeatures() { return 1L << 34; }
        @Override public int queueCount() { return 2; }
        @Override public int queueMaxSize(int index) { return index == 0 ? 64 : 3; }
        @Override public int configSize() { return 4; }
        @Override public int readConfig(int offset, int size) { throw new IllegalStateException("no config"); }
        @Override public void writeConfig(int offset, int size, int value) {}
        @Override public void activate(VirtioDeviceContext ctx) { context = ctx; }
        @Override public void reset() { context = null; }

        @Override
        public void queueNotify(int index) {
            try {
                DeviceQueue q = context.queue(index);
                DescriptorChain c;
                while ((c = q.pop()) != null) {
                    q.addUsed(c.head(), 0);
                    context.signalUsed(index);
                }
            } catch (VirtqueueException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Polls its queue on a thread that reset() forgets to stop. */
    static class PollingDevice implements VirtioDevice {
        private final ConfigSpace config = new ConfigSpace(0);
        private volatile VirtioDeviceContext context;
        private volatile boolean run;
        private Thread poller;

        @Override public int deviceId() { return 0x7f; }
        @Override public long offeredFeatures() { return 0; }
        @Override public int queueCount() { return 1; }
        @Override public int queueMaxSize(int index) { return 16; }
        @Override public int configSize() { return config.size(); }
        @Override public int readConfig(int offset, int size) { return config.read(offset, size); }
        @Override public void writeConfig(int offset, int size, int value) {}

        @Override
        public synchronized void activate(VirtioDeviceContext ctx) {
            context = ctx;
            run = true;
            DeviceQueue q = ctx.queue(0);
            poller = Thread.ofPlatform().daemon().start(() -> {
                while (run) {
                    try {
                        DescriptorChain c = q.pop();
                        if (c != null) {
                            q.addUsed(c.head(), 0);
                            ctx.signalUsed(0);
                        } else {
                            LockSupport.parkNanos(100_000);
                        }
                    } catch (VirtqueueException e) {
                        ctx.needsReset(e.getMessage());
                        return;
                    } catch (IllegalStateException memoryGone) {
                        return;     // the harness closed guest memory under this (buggy) poller
                    }
                }
            });
        }

        @Override public void queueNotify(int index) {}

        @Override
        public synchronized void reset() {
            context = null;     // bug: the poller keeps going
        }

        void stop() throws InterruptedException {
            run = false;
            Thread p;
            synchronized (this) { p = poller; }
            if (p != null) p.join();
        }
    }

    public static class SloppyContract extends VirtioDeviceContract {
        @Override protected VirtioDevice newDevice() { return new SloppyDevice(); }

        @Override protected Request promptRequest() { return Request.of(0, new byte[] {1}); }
    }

    public static class PollingContract extends VirtioDeviceContract {
        @Override protected VirtioDevice newDevice() { return new PollingDevice(); }

        @Override protected Request promptRequest() { return Request.of(0, new byte[] {1}); }

        @Override protected void cleanUp(VirtioDevice device) throws Exception { ((PollingDevice) device).stop(); }
    }

    private static Set<String> failedChecks(Class<?> contract) {
        Result r = JUnitCore.runClasses(contract);
        return r.getFailures().stream().map(Failure::getDescription).map(d -> d.getMethodName()).collect(Collectors.toSet());
    }

    /** Each check that catches a bug must catch it on both ring layouts: "check[SPLIT]" and "check[PACKED]". */
    private static Set<String> onBothLayouts(String... checks) {
        return java.util.Arrays.stream(checks).flatMap(c -> java.util.stream.Stream.of(c + "[SPLIT]", c + "[PACKED]"))
                .collect(Collectors.toSet());
    }

    @Test(timeout = 120_000)
    public void sloppyDeviceFailsTheChecksItBreaks() {
        Set<String> failed = failedChecks(SloppyContract.class);
        assertEquals(onBothLayouts("queueCountIsPositiveAndMaxSizesArePowersOfTwo", "configReadsInsideConfigSpaceNeverThrow",
                "offeredFeaturesNeverIncludePackedRing", "malformedRingEndsInNeedsReset"), failed);
    }

    @Test(timeout = 120_000)
    public void deviceThatKeepsPollingAfterResetFailsResetStopsProcessing() {
        Set<String> failed = failedChecks(PollingContract.class);
        assertTrue(failed.toString(), failed.containsAll(onBothLayouts("resetStopsProcessing")));
    }
}
