package org.vireo.virtio.vsock;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.vireo.virtio.testkit.DeviceHarness;

/**
 * A guest's vsock driver reduced to packets, over the testkit's mock driver: keeps receive buffers posted (as
 * Linux does: header and 4 KiB of data), sends packets on the transmit queue and hands back what the device
 * delivered. One thread at a time.
 */
final class FakeGuest implements AutoCloseable {
    static final long CID = 3;
    static final int RX_BUFFERS = 64;
    static final int RX_DATA = 4096;

    record Packet(VsockHeader header, byte[] payload) {
        int op() { return header.op(); }

        @Override
        public String toString() { return header + " payload " + payload.length; }
    }

    final DeviceHarness h;
    private int posted;

    FakeGuest(VsockDevice device) { this(device, RX_BUFFERS); }

    FakeGuest(VsockDevice device, int rxBuffers) {
        h = DeviceHarness.builder(device).build();
        h.activate();
        postRx(rxBuffers);
    }

    void postRx(int n) {
        for (int i = 0; i < n; i++) h.submitIn(VsockDevice.RX, VsockHeader.SIZE, RX_DATA);
        posted += n;
        h.kick(VsockDevice.RX);
    }

    static VsockHeader header(int srcPort, int dstPort, int op, int len, int flags, int bufAlloc, int fwdCnt) {
        return new VsockHeader(CID, VsockHeader.HOST_CID, srcPort, dstPort, len, VsockHeader.TYPE_STREAM, op, flags, bufAlloc, fwdCnt);
    }

    /** Sends a raw transmit chain (header bytes and payload in separate descriptors) and waits until it is used. */
    void sendRaw(byte[]... buffers) throws InterruptedException {
        List<byte[]> out = new ArrayList<>(Arrays.asList(buffers));
        DeviceHarness.Completion c = h.roundTrip(VsockDevice.TX, out, new int[0], 10, TimeUnit.SECONDS);
        assertNotNull("the device did not use a transmit chain within 10 s", c);
        assertEquals("a transmit chain's used length", 0, c.length());
    }

    void send(VsockHeader header, byte[] payload) throws InterruptedException {
        if (payload == null || payload.length == 0) sendRaw(header.encode());
        else sendRaw(header.encode(), payload);
    }

    void send(VsockHeader header) throws InterruptedException { send(header, null); }

    /** The next packet the device delivers, within {@code millis}, or null; its buffer is posted again. */
    Packet receive(long millis) throws InterruptedException {
        DeviceHarness.Completion c = h.awaitUsed(VsockDevice.RX, millis, TimeUnit.MILLISECONDS);
        if (c == null) return null;
        h.submitIn(VsockDevice.RX, VsockHeader.SIZE, RX_DATA);
        h.kick(VsockDevice.RX);
        byte[] in = c.written();
        if (in.length < VsockHeader.SIZE) throw new AssertionError("a receive buffer used with " + in.length + " bytes");
        VsockHeader hdr = VsockHeader.parse(in);
        assertEquals("header len vs used length", in.length - VsockHeader.SIZE, hdr.len());
        return new Packet(hdr, Arrays.copyOfRange(in, VsockHeader.SIZE, in.length));
    }

    Packet receive() throws InterruptedException {
        Packet p = receive(10_000);
        assertNotNull("no packet from the device within 10 s", p);
        return p;
    }

    /** The next packet, which must have op {@code op}. */
    Packet expect(int op) throws InterruptedException {
        Packet p = receive();
        assertEquals("op of " + p, VsockHeader.opName(op), VsockHeader.opName(p.op()));
        return p;
    }

    /** A TRANSPORT_RESET event, if the device used an event buffer within {@code millis}: its id, else -1. */
    int awaitEvent(long millis) throws InterruptedException {
        DeviceHarness.Completion c = h.awaitUsed(VsockDevice.EVENT, millis, TimeUnit.MILLISECONDS);
        if (c == null) return -1;
        assertEquals(4, c.length());
        return ByteBuffer.wrap(c.in()).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Override
    public void close() { h.close(); }
}
