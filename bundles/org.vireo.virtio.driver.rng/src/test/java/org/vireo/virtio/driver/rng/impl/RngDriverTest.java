package org.vireo.virtio.driver.rng.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.testkit.FakeDevice;
import org.vireo.virtio.testkit.FakeQueue;

public class RngDriverTest {
    private final List<VirtioEntropySource> published = new ArrayList<>();
    private final RngDriver driver = new RngDriver((device, source) -> {
        published.add(source);
        return () -> published.remove(source);
    });
    private final FakeDevice dev = new FakeDevice(VirtioIds.RNG, (FakeQueue.Model) null);
    private volatile int answerBytes = Integer.MAX_VALUE;
    private volatile boolean stall;
    private final CountDownLatch stalled = new CountDownLatch(1);

    public RngDriverTest() {
        dev.models[0] = c -> {
            if (stall) {
                stalled.countDown();
                return -1;
            }
            GuestRange r = c.in().getFirst();
            int n = (int) Math.min(r.length(), answerBytes);
            for (int i = 0; i < n; i++) dev.memory.writeByte(r.address() + i, (byte) (0xA0 + i));
            return n;
        };
    }

    @After
    public void tearDown() throws Exception {
        dev.close();
    }

    private VirtioEntropySource bind() throws Exception {
        dev.negotiate(driver.supportedFeatures());
        driver.probe(dev);
        return published.getFirst();
    }

    @Test(timeout = 30_000)
    public void readsWhatTheDeviceWrote() throws Exception {
        VirtioEntropySource rng = bind();
        byte[] buf = new byte[10000];
        assertEquals(EntropySource.MAX_REQUEST_BYTES, rng.read(buf, 0, buf.length));
        assertEquals((byte) 0xA5, buf[5]);
        answerBytes = 3;
        byte[] small = new byte[8];
        assertEquals(3, rng.read(small, 2, 6));
        assertEquals((byte) 0xA0, small[2]);
        assertEquals(0, small[5]);
        assertEquals(0, rng.read(small, 0, 0));
    }

    @Test(timeout = 30_000)
    public void aDeviceThatNeverAnswersIsCaught() throws Exception {
        VirtioEntropySource rng = bind();
        answerBytes = 0;
        assertThrows(IOException.class, () -> rng.read(new byte[16], 0, 16));
    }

    @Test(timeout = 30_000)
    public void removeFailsAWaitingReader() throws Exception {
        long freeBefore = dev.allocator.freeBytes();
        VirtioEntropySource rng = bind();
        stall = true;
        CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return rng.read(new byte[64], 0, 64);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(stalled.await(10, TimeUnit.SECONDS));
        driver.remove(dev);
        ExecutionException e = assertThrows(ExecutionException.class, () -> reader.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause().getMessage().contains("device removed"));
        assertTrue(published.isEmpty());
        assertEquals(freeBefore, dev.allocator.freeBytes());
    }
}
