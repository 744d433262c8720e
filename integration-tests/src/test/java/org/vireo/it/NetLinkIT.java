package org.vireo.it;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertNotNull;

import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.net.link.HostFrameLink;

/** Ethernet frames both ways between the Java driver's VirtioNetInterface and the device's in-JVM HostFrameLink. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NetLinkIT extends VireoTestSupport {
    private static final byte[] MAC = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

    @Test
    public void framesFlowBothWaysOnMmio() throws Exception {
        framesBothWays("mmio");
    }

    @Test
    public void framesFlowBothWaysOnPci() throws Exception {
        framesBothWays("pci");
    }

    private void framesBothWays(String transport) throws Exception {
        String machine = uniqueName("m");
        String link = machine + "-link";
        machine(machine);
        device(NET_PID, machine + "-net", machine, transport, Map.of("backend", "link:" + link, "mac", "52:54:00:12:34:56"));
        VirtioNetInterface nic = await(VirtioNetInterface.class, machineFilter(machine));
        HostFrameLink host = await(HostFrameLink.class, "(link.name=" + link + ")");
        assertArrayEquals("the configured MAC", MAC, nic.mac());

        Random random = new Random(42);
        for (int i = 0; i < 64; i++) {
            byte[] frame = frame(random, 60 + random.nextInt(1514 - 60 + 1), MAC, BROADCAST);
            nic.send(frame);
            byte[] received = host.receiveFromGuest(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertNotNull("guest→host frame " + i + " arrived", received);
            assertArrayEquals("guest→host frame " + i, frame, received);
        }
        for (int i = 0; i < 64; i++) {
            byte[] frame = frame(random, 60 + random.nextInt(1514 - 60 + 1), HOST_MAC, MAC);
            host.sendToGuest(frame);
            byte[] received = nic.receive(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertNotNull("host→guest frame " + i + " arrived", received);
            assertArrayEquals("host→guest frame " + i, frame, received);
        }
        // A burst each way, read after it was all sent: order is kept and nothing is lost.
        byte[][] burst = new byte[16][];
        for (int i = 0; i < burst.length; i++) {
            burst[i] = frame(random, 100 + i, HOST_MAC, MAC);
            host.sendToGuest(burst[i]);
        }
        for (int i = 0; i < burst.length; i++) {
            assertArrayEquals("burst frame " + i, burst[i], nic.receive(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        }
    }

    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    private static final byte[] HOST_MAC = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

    /** destination, source, EtherType 0x88B5 (local experimental), random payload. */
    private static byte[] frame(Random random, int length, byte[] source, byte[] destination) {
        byte[] frame = new byte[length];
        random.nextBytes(frame);
        System.arraycopy(destination, 0, frame, 0, 6);
        System.arraycopy(source, 0, frame, 6, 6);
        frame[12] = (byte) 0x88;
        frame[13] = (byte) 0xB5;
        return frame;
    }
}
