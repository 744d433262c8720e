package org.vireo.virtio.driver.net.impl;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.virtio.net.LinkBackend;
import org.vireo.virtio.net.NetDevice;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.testkit.transport.TransportRig;

/** The driver against the real virtio-net device and its in-JVM link, through virtio-mmio and virtio-pci. */
@RunWith(Parameterized.class)
public class NetRoundTripTest {
    @Parameters(name = "{0}")
    public static List<Object[]> transports() { return TransportRig.TRANSPORTS; }

    @Parameter
    public String transport;

    private final List<VirtioNetInterface> published = new ArrayList<>();
    private final NetDriver driver = new NetDriver((device, nic) -> {
        synchronized (published) {
            published.add(nic);
        }
        return () -> {
            synchronized (published) {
                published.remove(nic);
            }
        };
    });

    private static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) f[i] = (byte) (seed * 7 + i);
        return f;
    }

    @Test(timeout = 60_000)
    public void framesTravelBothWaysThroughTheLink() throws Exception {
        byte[] mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
        LinkBackend link = new LinkBackend("net0");
        try (NetDevice device = new NetDevice(mac, link, "net0");
             TransportRig rig = new TransportRig(transport, device, "net0")) {
            rig.bind(driver);
            assertEquals(NetDriver.NAME, rig.binding().driver());
            VirtioNetInterface nic = published.getFirst();
            assertArrayEquals(mac, nic.mac());

            // More frames than either queue holds, so buffers must be recycled on both sides.
            int frames = 600;
            for (int i = 0; i < frames; i++) {
                byte[] f = frame(60 + i % 1455, i);
                nic.send(f);
                assertArrayEquals("frame " + i + " to the host", f, link.receiveFromGuest(10, TimeUnit.SECONDS));
            }
            for (int i = 0; i < frames; i++) {
                byte[] f = frame(1514 - i % 1455, i);
                link.sendToGuest(f);
                assertArrayEquals("frame " + i + " to the guest", f, nic.receive(10, TimeUnit.SECONDS));
            }
            assertNull(nic.receive(0, TimeUnit.SECONDS));

            rig.unbind();
            assertTrue(published.isEmpty());
            assertEquals(0, rig.guestBytesHeld());
            assertThrows(IOException.class, () -> nic.send(frame(60, 0)));
            assertNull(nic.receive(1, TimeUnit.SECONDS));
        }
    }
}
