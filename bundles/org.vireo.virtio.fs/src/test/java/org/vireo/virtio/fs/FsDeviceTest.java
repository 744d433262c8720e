package org.vireo.virtio.fs;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.vireo.virtio.testkit.DeviceHarness;
import org.vireo.virtio.testkit.DeviceHarness.Completion;

/** The device over real virtqueues: config space, INIT, zero-copy READ and WRITE across descriptors, FORGET on hiprio. */
public class FsDeviceTest {
    private static final long TIMEOUT = 10;
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private static ByteBuffer le(byte[] b) { return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN); }

    private static Completion send(DeviceHarness h, int queue, List<byte[]> out, int... in) throws InterruptedException {
        Completion c = h.roundTrip(queue, out, in, TIMEOUT, TimeUnit.SECONDS);
        assertNotNull(c);
        return c;
    }

    private static int error(Completion c) { return -le(c.in()).getInt(4); }

    @Test
    public void configHoldsTagAndOneRequestQueue() throws Exception {
        try (FsDevice d = new FsDevice(tmp.getRoot().toPath(), "hostshare", false, "fs0")) {
            assertEquals(26, d.deviceId());
            assertEquals(2, d.queueCount());
            byte[] tag = new byte[FsDevice.TAG_BYTES];
            for (int i = 0; i < tag.length; i++) tag[i] = (byte) d.readConfig(i, 1);
            assertEquals("hostshare", new String(tag, StandardCharsets.UTF_8).replace("\0", ""));
            assertEquals(0, tag[9]);
            assertEquals(1, d.readConfig(FsDevice.CFG_NUM_REQUEST_QUEUES, 4));
        }
        try {
            new FsDevice(tmp.getRoot().toPath(), "x".repeat(37), false, "fs0");
            fail("a 37-byte tag");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("36"));
        }
        try {
            new FsDevice(tmp.getRoot().toPath().resolve("missing"), "t", false, "fs0");
            fail("a missing directory");
        } catch (java.io.IOException expected) {
            // the component turns this into a log line
        }
    }

    @Test
    public void requestsOverTheQueues() throws Exception {
        Path dir = tmp.newFolder("share").toPath();
        byte[] content = new byte[200_000];
        new Random(7).nextBytes(content);
        Files.write(dir.resolve("data"), content);
        FsDevice dev = new FsDevice(dir, "share", false, "fs0");
        try (DeviceHarness h = DeviceHarness.builder(dev).memoryBytes(16L << 20).build()) {
            h.activate();
            int q = FsDevice.REQUEST_QUEUE;
            Completion init = send(h, q, List.of(FuseClient.request(Fuse.INIT, 1, 0, FuseClient.args().u32(7).u32(38).u32(65536).u32(0).bytes(new byte[48]).build())), 16 + 64);
            assertEquals(0, error(init));
            assertEquals(80, init.length());
            // LOOKUP with the header and the name in separate descriptors, as the Linux client sends them.
            byte[] req = FuseClient.request(Fuse.LOOKUP, 2, Fuse.ROOT_ID, FuseClient.args().str("data").build());
            Completion lookup = send(h, q, List.of(java.util.Arrays.copyOf(req, 40), java.util.Arrays.copyOfRange(req, 40, req.length)), 16, Fuse.ENTRY_OUT);
            assertEquals(0, error(lookup));
            long node = le(lookup.in()).getLong(16);
            assertEquals(content.length, le(lookup.in()).getLong(16 + 48));
            Completion open = send(h, q, List.of(FuseClient.request(Fuse.OPEN, 3, node, FuseClient.args().u32(2).u32(0).build())), 16, 16);
            long fh = le(open.in()).getLong(16);
            // READ into several page-sized buffers: the data lands across them.
            byte[] read = FuseClient.request(Fuse.READ, 4, node, FuseClient.args().u64(fh).u64(1000).u32(3 * 4096).u32(0).u64(0).u32(0).u32(0).build());
            Completion r = send(h, q, List.of(read), 16, 4096, 4096, 4096);
            assertEquals(16 + 3 * 4096, r.length());
            assertArrayEquals(java.util.Arrays.copyOfRange(content, 1000, 1000 + 3 * 4096), java.util.Arrays.copyOfRange(r.in(), 16, 16 + 3 * 4096));
            // WRITE from several descriptors.
            byte[] payload = new byte[10_000];
            new Random(8).nextBytes(payload);
            byte[] wh = FuseClient.request(Fuse.WRITE, 5, node, FuseClient.args().u64(fh).u64(5).u32(payload.length).u32(0).u64(0).u32(0).u32(0).build());
            ByteBuffer.wrap(wh).order(ByteOrder.LITTLE_ENDIAN).putInt(0, wh.length + payload.length);
            Completion w = send(h, q, List.of(wh, java.util.Arrays.copyOf(payload, 3000), java.util.Arrays.copyOfRange(payload, 3000, payload.length)), 16, 8);
            assertEquals(0, error(w));
            assertEquals(payload.length, le(w.in()).getInt(16));
            byte[] onHost = Files.readAllBytes(dir.resolve("data"));
            assertArrayEquals(payload, java.util.Arrays.copyOfRange(onHost, 5, 5 + payload.length));
            // FORGET on the high-priority queue: no reply, the node goes.
            assertEquals(2, dev.nodeCount());
            Completion forget = send(h, FsDevice.HIPRIO_QUEUE, List.of(FuseClient.request(Fuse.FORGET, 6, node, FuseClient.args().u64(1).build())));
            assertEquals(0, forget.length());
            assertEquals(1, dev.nodeCount());
            // Garbage and a chain with no room for a reply: answered or dropped, the device keeps serving.
            Completion junk = send(h, q, List.of(new byte[] {1, 2, 3}), 16);
            assertEquals(Fuse.EINVAL, error(junk));
            assertEquals(0, send(h, q, List.of(new byte[3])).length());
            assertEquals(List.of(), h.needsResetReasons());
            // A reset ends the session: handles closed, nodes forgotten.
            assertEquals(1, dev.handleCount());
            h.reset();
            assertEquals(0, dev.handleCount());
            assertEquals(0, dev.nodeCount());
        } finally {
            dev.close();
        }
    }
}
