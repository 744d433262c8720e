package org.vireo.virtio.net.slirp;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.vireo.virtio.net.FrameBackend;
import org.vireo.virtio.net.slirp.Packets.Frame;

/**
 * The guest end of a backend, without a guest: collects the frames the backend delivers and, like a real NIC's stack,
 * answers ARP requests for {@link Packets#GUEST_IP} so that libslirp can address frames to it.
 */
final class FakeGuest implements Consumer<byte[]> {
    private final FrameBackend backend;
    private final LinkedBlockingQueue<Frame> received = new LinkedBlockingQueue<>();
    private final List<Frame> skipped = new ArrayList<>();

    FakeGuest(FrameBackend backend) {
        this.backend = backend;
        backend.start(this);
    }

    @Override
    public void accept(byte[] bytes) {
        Frame f = new Frame(bytes);
        if (f.isArp() && f.arpOp() == 1 && f.arpTargetIp() == Packets.GUEST_IP) {
            try {
                backend.send(Packets.arpReply(Packets.GUEST_MAC, Packets.GUEST_IP, f.arpSenderMac(), f.arpSenderIp()));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return;
        }
        received.add(f);
    }

    void send(byte[] frame) throws IOException { backend.send(frame); }

    /** The next received frame matching {@code wanted}; others are set aside. Fails after {@code seconds}. */
    Frame await(String what, Predicate<Frame> wanted, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        for (long left; (left = deadline - System.nanoTime()) > 0; ) {
            Frame f = received.poll(left, TimeUnit.NANOSECONDS);
            if (f == null) break;
            if (wanted.test(f)) return f;
            skipped.add(f);
        }
        throw new AssertionError("no " + what + " within " + seconds + " s; other frames seen: " + skipped);
    }
}
