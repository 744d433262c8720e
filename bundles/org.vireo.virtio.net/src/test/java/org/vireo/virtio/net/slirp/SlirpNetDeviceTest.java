package org.vireo.virtio.net.slirp;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Assume;
import org.junit.Test;
import org.vireo.virtio.net.NetDevice;
import org.vireo.virtio.net.slirp.Packets.Frame;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;

/** virtio-net on the user backend, driven through real split rings by the testkit's mock driver. */
public class SlirpNetDeviceTest {
    private static final long TIMEOUT = 30;
    private NetDevice device;
    private DeviceHarness harness;

    @After
    public void tearDown() {
        if (harness != null) harness.close();
        if (device != null) device.close();
    }

    @Test
    public void aDhcpDiscoverSentOnTheTransmitQueueBringsAnOfferOnTheReceiveQueue() throws Exception {
        Assume.assumeTrue("libslirp is not installed (apt-get install libslirp0): skipped", SlirpBackendTest.libslirpInstalled());
        SlirpBackend backend = SlirpBackend.open(UserNetConfig.parse("user"));
        device = new NetDevice(Packets.GUEST_MAC, backend, "net0");
        harness = DeviceHarness.activated(device);
        for (int i = 0; i < 8; i++) harness.submitIn(NetDevice.RX, NetDevice.HEADER_SIZE + 1514);
        harness.kick(NetDevice.RX);

        byte[] discover = Packets.dhcpDiscover(Packets.GUEST_MAC, 0x0bad_cafe);
        Completion sent = harness.roundTrip(NetDevice.TX, List.of(new byte[NetDevice.HEADER_SIZE], discover), new int[0],
                TIMEOUT, TimeUnit.SECONDS);
        assertNotNull("transmit completed", sent);

        List<Frame> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT);
        while (System.nanoTime() < deadline) {
            Completion c = harness.awaitUsed(NetDevice.RX, deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (c == null) break;
            Frame f = new Frame(Arrays.copyOfRange(c.in(), NetDevice.HEADER_SIZE, c.length()));
            if (f.isUdp() && f.srcPort() == 67) {
                assertEquals(Packets.DHCP_OFFER, f.dhcpMessageType());
                assertEquals(UserNetConfig.DHCP_START, f.bootpYourIp());
                assertEquals(0x0bad_cafe, f.bootpXid());
                assertEquals(1, device.txFrames());
                assertTrue(device.rxFrames() >= 1);
                return;
            }
            seen.add(f);
            harness.submitIn(NetDevice.RX, NetDevice.HEADER_SIZE + 1514);
            harness.kick(NetDevice.RX);
        }
        throw new AssertionError("no DHCP offer on the receive queue; frames seen: " + seen);
    }
}
