package org.vireo.virtio.driver.console.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.virtio.console.ConsoleDevice;
import org.vireo.virtio.console.LinkBackend;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.testkit.transport.TransportRig;

/** The driver against the real virtio-console device and its in-JVM link, through virtio-mmio and virtio-pci. */
@RunWith(Parameterized.class)
public class ConsoleRoundTripTest {
    @Parameters(name = "{0}")
    public static List<Object[]> transports() { return TransportRig.TRANSPORTS; }

    @Parameter
    public String transport;

    private final List<VirtioConsolePort> published = new ArrayList<>();
    private final ConsoleDriver driver = new ConsoleDriver((device, port) -> {
        synchronized (published) {
            published.add(port);
        }
        return () -> {
            synchronized (published) {
                published.remove(port);
            }
        };
    });

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (seed + i * 13);
        return b;
    }

    private interface Reader {
        int read(byte[] buf, int off, int len) throws InterruptedException;
    }

    private static byte[] readFully(Reader r, int n) throws InterruptedException {
        byte[] all = new byte[n];
        int got = 0;
        while (got < n) {
            int k = r.read(all, got, n - got);
            assertTrue("data stopped after " + got + " of " + n + " bytes", k > 0);
            got += k;
        }
        return all;
    }

    @Test(timeout = 60_000)
    public void bytesTravelBothWaysThroughTheLink() throws Exception {
        LinkBackend link = new LinkBackend("con0");
        try (ConsoleDevice device = new ConsoleDevice(link, "con0");
             TransportRig rig = new TransportRig(transport, device, "con0")) {
            rig.bind(driver);
            assertEquals(ConsoleDriver.NAME, rig.binding().driver());
            VirtioConsolePort port = published.getFirst();

            byte[] out = bytes(200_000, 1);
            port.write(out, 0, out.length);
            assertArrayEquals(out, readFully((b, o, l) -> link.receiveFromGuest(b, o, l, 10, TimeUnit.SECONDS), out.length));

            byte[] in = bytes(300_000, 2);   // more than the driver's receive buffers hold at once
            Thread host = Thread.ofVirtual().start(() -> {
                for (int off = 0; off < in.length; off += 1000) {
                    link.sendToGuest(java.util.Arrays.copyOfRange(in, off, Math.min(in.length, off + 1000)));
                }
            });
            assertArrayEquals(in, readFully((b, o, l) -> port.read(b, o, l, 10, TimeUnit.SECONDS), in.length));
            host.join();
            assertEquals(0, port.read(new byte[1], 0, 1, 0, TimeUnit.SECONDS));

            rig.unbind();
            assertTrue(published.isEmpty());
            assertEquals(0, rig.guestBytesHeld());
            assertEquals(-1, port.read(new byte[1], 0, 1, 1, TimeUnit.SECONDS));
        }
    }
}
