package org.vireo.virtio.driver.console.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.vireo.memory.GuestRange;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.testkit.FakeDevice;

public class ConsoleDriverTest {
    private final List<VirtioConsolePort> published = new ArrayList<>();
    private final ConsoleDriver driver = new ConsoleDriver((device, port) -> {
        published.add(port);
        return () -> published.remove(port);
    });
    private final FakeDevice dev = new FakeDevice(VirtioIds.CONSOLE, c -> -1, null);
    private final ByteArrayOutputStream host = new ByteArrayOutputStream();
    private volatile boolean txStalled;
    private final CountDownLatch txHeld = new CountDownLatch(1);

    public ConsoleDriverTest() {
        dev.models[1] = c -> {
            if (txStalled) {
                txHeld.countDown();
                return -1;
            }
            for (GuestRange r : c.out()) {
                byte[] b = new byte[(int) r.length()];
                dev.memory.read(r.address(), b, 0, b.length);
                synchronized (host) {
                    host.writeBytes(b);
                }
            }
            return 0;
        };
    }

    @After
    public void tearDown() throws Exception {
        dev.close();
    }

    private VirtioConsolePort bind() throws Exception {
        dev.negotiate(driver.supportedFeatures());
        driver.probe(dev);
        return published.getFirst();
    }

    /** The host sends up to one receive buffer's worth; false if the driver has no buffer posted. */
    private boolean hostSends(byte[] data) throws Exception {
        boolean sent = dev.deviceThread.submit(() -> dev.queues[0].completeHeld(c -> {
            GuestRange r = c.in().getFirst();
            int n = (int) Math.min(r.length(), data.length);
            dev.memory.write(r.address(), data, 0, n);
            return n;
        })).get();
        dev.interruptThread.submit(() -> {}).get();   // the driver's callback (and any re-post kick) has run
        return sent;
    }

    private int postedRxBuffers() throws Exception {
        return dev.deviceThread.submit(() -> dev.queues[0].heldCount()).get();
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed * 31 + i);
        return b;
    }

    @Test(timeout = 30_000)
    public void bytesTravelBothWays() throws Exception {
        VirtioConsolePort port = bind();
        byte[] out = bytes(100_000, 1);
        port.write(out, 0, out.length);
        synchronized (host) {
            assertArrayEquals(out, host.toByteArray());
        }

        assertTrue(hostSends("hello ".getBytes()));
        assertTrue(hostSends("world".getBytes()));
        byte[] in = new byte[64];
        int n = 0;
        while (n < 11) {
            int r = port.read(in, n, in.length - n, 10, TimeUnit.SECONDS);
            assertTrue(r > 0);
            n += r;
        }
        assertEquals("hello world", new String(in, 0, n));
        assertEquals(0, port.read(in, 0, in.length, 0, TimeUnit.MILLISECONDS));
    }

    @Test(timeout = 30_000)
    public void readersThatFallBehindHoldBackTheDevice() throws Exception {
        VirtioConsolePort port = bind();
        int posted = postedRxBuffers();
        assertEquals(ConsolePort.MAX_RX_BUFFERS, posted);
        byte[] block = bytes(ConsolePort.RX_BUFFER_BYTES, 2);
        int sent = 0;
        while (hostSends(block)) sent++;   // nobody reads: the driver stops giving buffers back
        assertTrue("the device ran out of buffers after the limit", sent * block.length >= ConsolePort.RX_LIMIT);
        assertTrue(sent * block.length < ConsolePort.RX_LIMIT + posted * block.length + block.length);

        byte[] all = new byte[sent * block.length];
        int n = 0;
        while (n < all.length) {
            int r = port.read(all, n, all.length - n, 10, TimeUnit.SECONDS);
            assertTrue(r > 0);
            n += r;
        }
        for (int i = 0; i < sent; i++) assertArrayEquals(block, Arrays.copyOfRange(all, i * block.length, (i + 1) * block.length));
        assertEquals("reading gave every buffer back", posted, postedRxBuffers());
    }

    @Test(timeout = 30_000)
    public void removeEndsReadsAndFailsWrites() throws Exception {
        long freeBefore = dev.allocator.freeBytes();
        VirtioConsolePort port = bind();
        txStalled = true;
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                port.write(new byte[10], 0, 10);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return port.read(new byte[10], 0, 10, 1, TimeUnit.HOURS);
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(txHeld.await(10, TimeUnit.SECONDS));

        driver.remove(dev);

        ExecutionException e = assertThrows(ExecutionException.class, () -> writer.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getCause().getMessage().contains("device removed"));
        assertEquals(-1, (int) reader.get(10, TimeUnit.SECONDS));
        assertTrue(published.isEmpty());
        assertEquals(freeBefore, dev.allocator.freeBytes());
    }
}
