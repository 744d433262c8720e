package org.vireo.guest;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code vireo run --ring packed}: the Debian kernel of the guest kit takes VIRTIO_F_RING_PACKED for virtio-blk and
 * virtio-net (bit 34 of /sys/bus/virtio/devices/&#42;/features, a string of bits counted from 0 at the left), reads
 * the host's data from the disk and writes to it with fsync, and gets a payload over TCP through slirp: both
 * devices move data over packed rings.
 */
public class PackedRingIT {
    private static final int IMAGE_HEAD = 256 << 10;
    private static final int WRITE_LINES = 20000;
    private static final int WRITE_OFFSET = 4 << 20;
    private static final int PAYLOAD = 256 << 10;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void linuxRunsBlkAndNetOverPackedRings() throws Exception {
        GuestKit.assumePresent();
        Random random = new Random(17);
        byte[] head = new byte[IMAGE_HEAD];
        random.nextBytes(head);
        Path image = folder.getRoot().toPath().resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.write(head);
            f.setLength(8 << 20);
        }
        byte[] payload = new byte[PAYLOAD];
        random.nextBytes(payload);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> request = serveOnce(server, payload);
            // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
            String command = String.join("; ",
                    "for d in /sys/bus/virtio/devices/*; do echo ring-$(cat $d/device): $(cut -c35 $d/features); done",
                    "echo packed-disk-read: $(dd if=/dev/vda bs=65536 count=" + IMAGE_HEAD / 65536 + " 2>/dev/null | md5sum)",
                    "seq 1 " + WRITE_LINES + " >/tmp/w",
                    "dd if=/tmp/w of=/dev/vda bs=4096 seek=" + WRITE_OFFSET / 4096 + " conv=fsync 2>/dev/null && echo packed-disk-write: $(wc -c </tmp/w)",
                    "ip link set eth0 up",
                    "udhcpc -i eth0 -n -q -t 10 -T 3",
                    "echo GET-packed | nc 10.0.2.2 " + server.getLocalPort() + " >/tmp/p",
                    "echo packed-net: $(wc -c </tmp/p) $(md5sum </tmp/p)");
            GuestKit.Run run = GuestKit.runVm("PackedRingIT", "--timeout", Integer.toString(GuestKit.RUN_SECONDS), "--ring", "packed",
                    "--disk", image.toString(), "--net", "user", "--append", "console=ttyS0 vireo.cmd=\"" + command + "\"");
            String out = run.output();
            String context = GuestKit.tail(out, 60);

            assertEquals("virtio-blk (device 0x0002) negotiated RING_PACKED" + context, "1", GuestKit.field(out, "ring-0x0002"));
            assertEquals("virtio-net (device 0x0001) negotiated RING_PACKED" + context, "1", GuestKit.field(out, "ring-0x0001"));
            assertEquals("md5 of the image's head read in the guest" + context, GuestKit.md5(head) + " -", GuestKit.field(out, "packed-disk-read"));
            byte[] written = GuestKit.seq(WRITE_LINES);
            assertEquals("the guest wrote" + context, Integer.toString(written.length), GuestKit.field(out, "packed-disk-write"));
            byte[] inImage = new byte[written.length];
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
                f.seek(WRITE_OFFSET);
                f.readFully(inImage);
            }
            assertArrayEquals("the guest's write is in the host image at 4 MiB", written, inImage);
            assertEquals("the payload arrived whole in the guest" + context, PAYLOAD + " " + GuestKit.md5(payload) + " -",
                    GuestKit.field(out, "packed-net"));
            assertEquals("the host server got the guest's request", "GET-packed", request.get(10, TimeUnit.SECONDS));
            assertEquals("vireo run's exit code" + context, 0, run.exitCode());
        }
    }

    /** Accepts one connection, reads its request line, answers with {@code payload} and closes. */
    private static CompletableFuture<String> serveOnce(ServerSocket server, byte[] payload) {
        CompletableFuture<String> request = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("packed-ring-it-server").start(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(60_000);
                String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                OutputStream out = s.getOutputStream();
                out.write(payload);
                out.flush();
                request.complete(line);
            } catch (Exception e) {
                request.completeExceptionally(e);
            }
        });
        return request;
    }
}
