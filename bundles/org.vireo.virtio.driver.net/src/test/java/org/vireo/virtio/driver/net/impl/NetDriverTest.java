package org.vireo.virtio.driver.net.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.testkit.FakeDevice;

public class NetDriverTest {
    private final List<VirtioNetInterface> published = new ArrayList<>();
    private final NetDriver driver = new NetDriver((device, nic) -> {
        published.add(nic);
        return () -> published.remove(nic);
    });
    private final BlockingQueue<byte[]> wire = new LinkedBlockingQueue<>();
    private final FakeDevice dev = new FakeDevice(VirtioIds.NET, c -> -1, null);
    private volatile boolean txStalled;
    private final CountDownLatch txHeld = new CountDownLatch(1);

    public NetDriverTest() {
        dev.models[1] = c -> {
            if (txStalled) {
                txHeld.countDown();
                return -1;
            }
            GuestRange r = c.out().getFirst();
            byte[] b = new byte[(int) r.length()];
            dev.memory.read(r.address(), b, 0, b.length);
            for (int i = 0; i < NetInterface.HEADER_BYTES; i++) if (b[i] != 0) throw new AssertionError("header byte " + i);
            wire.add(java.util.Arrays.copyOfRange(b, NetInterface.HEADER_BYTES, b.length));
            return 0;
        };
    }

    @After
    public void tearDown() throws Exception {
        dev.close();
    }

    private VirtioNetInterface bind() throws Exception {
        dev.negotiate(driver.supportedFeatures());
        driver.probe(dev);
        assertTrue((dev.status & VirtioStatus.DRIVER_OK) != 0);
        return published.getFirst();
    }

    /** A frame arrives from the link into the oldest posted receive buffer. */
    private boolean inject(byte[] frame) throws Exception {
        boolean delivered = dev.deviceThread.submit(() -> dev.queues[0].completeHeld(c -> {
            GuestRange r = c.in().getFirst();
            dev.memory.fill(r.address(), NetInterface.HEADER_BYTES, (byte) 0);
            dev.memory.write(r.address() + NetInterface.HEADER_BYTES, frame, 0, frame.length);
            return NetInterface.HEADER_BYTES + frame.length;
        })).get();
        dev.interruptThread.submit(() -> {}).get();   // the driver's callback (and its re-post kick) has run
        return delivered;
    }

    private int postedRxBuffers() throws Exception {
        return dev.deviceThread.submit(() -> dev.queues[0].heldCount()).get();
    }

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte) (seed + i);
        return f;
    }

    @Test(timeout = 30_000)
    public void framesTravelBothWays() throws Exception {
        dev.offered |= VirtioFeatures.bit(NetInterface.F_MAC);
        byte[] mac = {0x52, 0x54, 0, 1, 2, 3};
        System.arraycopy(mac, 0, dev.config, 0, 6);
        VirtioNetInterface nic = bind();
        assertArrayEquals(mac, nic.mac());
        assertEquals(64, postedRxBuffers());

        for (int i = 0; i < 200; i++) nic.send(frame(60 + i, i));
        for (int i = 0; i < 200; i++) assertArrayEquals(frame(60 + i, i), wire.poll(10, TimeUnit.SECONDS));

        for (int i = 0; i < 300; i++) {
            assertTrue(inject(frame(1514 - i, i)));
            assertArrayEquals(frame(1514 - i, i), nic.receive(10, TimeUnit.SECONDS));
        }
        assertEquals("every receive buffer went back to the device", 64, postedRxBuffers());
        assertNull(nic.receive(0, TimeUnit.MILLISECONDS));
    }

    @Test(timeout = 30_000)
    public void withoutTheMacFeatureTheAddressIsRandomAndLocal() throws Exception {
        VirtioNetInterface nic = bind();
        byte[] mac = nic.mac();
        assertEquals(6, mac.length);
        assertEquals("locally administered unicast", 0x02, mac[0] & 0x03);
        assertEquals(0, dev.features & VirtioFeatures.bit(NetInterface.F_MAC));
    }

    @Test(timeout = 30_000)
    public void badFramesAreRefused() throws Exception {
        VirtioNetInterface nic = bind();
        assertThrows(IOException.class, () -> nic.send(new byte[0]));
        assertThrows(IOException.class, () -> nic.send(new byte[1515]));
        nic.send(new byte[1514]);
        assertEquals(1514, wire.poll(10, TimeUnit.SECONDS).length);
    }

    @Test(timeout = 30_000)
    public void removeWakesSendersAndReceiversAndFreesTheBuffers() throws Exception {
        long freeBefore = dev.allocator.freeBytes();
        VirtioNetInterface nic = bind();
        txStalled = true;
        for (int i = 0; i < 64; i++) nic.send(frame(100, i));   // every transmit slot is now with the device
        assertTrue(txHeld.await(10, TimeUnit.SECONDS));
        CompletableFuture<Void> blockedSender = CompletableFuture.runAsync(() -> {
            try {
                nic.send(frame(100, 99));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        CompletableFuture<byte[]> blockedReceiver = CompletableFuture.supplyAsync(() -> {
            try {
                return nic.receive(1, TimeUnit.HOURS);
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        assertFalse(blockedSender.isDone());

        driver.remove(dev);

        ExecutionException e = assertThrows(ExecutionException.class, () -> blockedSender.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause().getMessage().contains("device removed"));
        assertNull(blockedReceiver.get(10, TimeUnit.SECONDS));
        assertThrows(IOException.class, () -> nic.send(frame(100, 1)));
        assertTrue(published.isEmpty());
        assertTrue(dev.resets > 0);
        assertEquals(freeBefore, dev.allocator.freeBytes());
    }

    @Test(timeout = 30_000)
    public void aDeviceThatNeedsResetReleasesWaitingSenders() throws Exception {
        VirtioNetInterface nic = bind();
        txStalled = true;
        for (int i = 0; i < 64; i++) nic.send(frame(100, i));
        CompletableFuture<Void> blockedSender = CompletableFuture.runAsync(() -> {
            try {
                nic.send(frame(100, 99));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        dev.status |= VirtioStatus.NEEDS_RESET;
        driver.configChanged(dev);
        ExecutionException e = assertThrows(ExecutionException.class, () -> blockedSender.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause().getMessage().contains("needs reset"));
    }
}
