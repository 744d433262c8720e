package org.vireo.it;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.virtio.console.link.HostConsoleLink;
import org.vireo.virtio.driver.console.VirtioConsolePort;

/** Console bytes both ways between the Java driver's VirtioConsolePort and the device's in-JVM HostConsoleLink. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConsoleLinkIT extends VireoTestSupport {
    @Test
    public void bytesFlowBothWaysOnMmio() throws Exception {
        bytesBothWays("mmio");
    }

    @Test
    public void bytesFlowBothWaysOnPci() throws Exception {
        bytesBothWays("pci");
    }

    private void bytesBothWays(String transport) throws Exception {
        String machine = uniqueName("m");
        String link = machine + "-link";
        machine(machine);
        device(CONSOLE_PID, machine + "-console", machine, transport, Map.of("backend", "link:" + link));
        VirtioConsolePort port = await(VirtioConsolePort.class, machineFilter(machine));
        HostConsoleLink host = await(HostConsoleLink.class, "(link.name=" + link + ")");

        byte[] hello = "hello from the guest\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        port.write(hello, 0, hello.length);
        assertArrayEquals(hello, readFromGuest(host, hello.length));

        // More than one receive buffer's worth each way (the driver posts buffers of a few KiB at most).
        Random random = new Random(7);
        byte[] toHost = new byte[48 * 1024];
        random.nextBytes(toHost);
        port.write(toHost, 0, toHost.length);
        assertArrayEquals("guest→host", toHost, readFromGuest(host, toHost.length));

        byte[] toGuest = new byte[48 * 1024];
        random.nextBytes(toGuest);
        host.sendToGuest(toGuest);
        byte[] received = new byte[toGuest.length];
        int got = 0;
        while (got < received.length) {
            int n = port.read(received, got, received.length - got, TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertTrue("host→guest: only " + got + " of " + received.length + " bytes arrived", n > 0);
            got += n;
        }
        assertArrayEquals("host→guest", toGuest, received);
    }

    private static byte[] readFromGuest(HostConsoleLink host, int length) throws InterruptedException {
        byte[] buf = new byte[length];
        int got = 0;
        while (got < length) {
            int n = host.receiveFromGuest(buf, got, length - got, TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertTrue("guest→host: only " + got + " of " + length + " bytes arrived", n > 0);
            got += n;
        }
        return Arrays.copyOf(buf, got);
    }
}
