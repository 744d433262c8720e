package org.vireo.virtio.balloon;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The balloon's host control: a Unix domain socket at a path, served by one thread, one client at a time, one command
 * a line (at most {@value #MAX_LINE} bytes; a longer one ends the connection):
 * <ul>
 * <li>{@code target SIZE}: the balloon's new size (bytes, or with K, M or G; whole MiB); answers {@code ok N pages};</li>
 * <li>{@code stats}: asks the guest for fresh statistics and answers what the device has now, one line:
 *     {@code target=N actual=N inflated=N deflated=N reported-bytes=N discarded-bytes=N guest-resident-bytes=N} (the
 *     guest RAM the host holds now, -1 before the driver starts) and the guest's statistics as
 *     {@code name=value}.</li>
 * </ul>
 * Anything else is answered {@code error: ...}. Closing stops the thread and removes the socket file.
 */
final class BalloonControl implements AutoCloseable {
    static final int MAX_LINE = 256;
    private static final System.Logger LOG = System.getLogger(BalloonControl.class.getName());

    private final BalloonDevice device;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile SocketChannel client;
    private volatile boolean closed;

    private BalloonControl(BalloonDevice device, Path path, ServerSocketChannel server) {
        this.device = device;
        this.path = path;
        this.server = server;
        this.thread = Thread.ofPlatform().daemon().name("vireo-balloon-" + device.name() + "-control").unstarted(this::serve);
    }

    /** Listens at {@code path} (an existing socket file there is replaced; any other file is refused). */
    static BalloonControl open(BalloonDevice device, Path path) throws IOException {
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            if (!"socket".equals(kind(path))) throw new IOException("control socket path " + path + " exists and is not a socket");
            Files.delete(path);
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path));
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen at " + path + ": " + e.getMessage(), e);
        }
        BalloonControl control = new BalloonControl(device, path, server);
        control.thread.start();
        return control;
    }

    private static String kind(Path path) {
        try {
            Object mode = Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return (((Integer) mode) & 0170000) == 0140000 ? "socket" : "other";
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "unknown";
        }
    }

    private void serve() {
        while (!closed) {
            try (SocketChannel c = server.accept()) {
                client = c;
                if (closed) return;
                converse(c);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) return;
                LOG.log(System.Logger.Level.DEBUG, () -> "balloon control: " + e.getMessage());
            } finally {
                client = null;
            }
        }
    }

    private void converse(SocketChannel c) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(MAX_LINE);
        while (!closed) {
            if (c.read(in) < 0) return;
            int end;
            while ((end = newline(in)) >= 0) {
                String line = new String(in.array(), 0, end, StandardCharsets.US_ASCII).strip();
                in.flip().position(end + 1);
                in.compact();
                c.write(ByteBuffer.wrap((answer(line) + "\n").getBytes(StandardCharsets.US_ASCII)));
            }
            if (!in.hasRemaining()) {
                c.write(ByteBuffer.wrap(("error: a line is at most " + MAX_LINE + " bytes\n").getBytes(StandardCharsets.US_ASCII)));
                return;
            }
        }
    }

    private static int newline(ByteBuffer in) {
        for (int i = 0; i < in.position(); i++) if (in.get(i) == '\n') return i;
        return -1;
    }

    String answer(String line) {
        if (line.startsWith("target ")) {
            try {
                long bytes = BalloonKind.parseSize("target", line.substring(7));
                if (bytes / BalloonDevice.PAGE_SIZE > Integer.MAX_VALUE) return "error: target too large";
                device.setTargetPages((int) (bytes / BalloonDevice.PAGE_SIZE));
                return "ok " + device.targetPages() + " pages";
            } catch (IllegalArgumentException e) {
                return "error: " + e.getMessage();
            }
        }
        if (line.equals("stats")) {
            device.requestStats();
            return status(device);
        }
        return "error: unknown command \"" + (line.length() > 40 ? line.substring(0, 40) + "..." : line) + "\" (use: target SIZE, stats)";
    }

    /** One line: the device's counters and the guest's last statistics. */
    static String status(BalloonDevice device) {
        StringBuilder out = new StringBuilder();
        out.append("target=").append(device.targetPages()).append(" actual=").append(device.actualPages())
                .append(" inflated=").append(device.inflatedPages()).append(" deflated=").append(device.deflatedPages())
                .append(" reported-bytes=").append(device.reportedBytes()).append(" discarded-bytes=").append(device.discardedBytes())
                .append(" guest-resident-bytes=").append(device.guestResidentBytes());
        for (Map.Entry<String, Long> e : device.stats().entrySet()) out.append(' ').append(e.getKey()).append('=').append(e.getValue());
        return out.toString();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        SocketChannel c = client;
        if (c != null) c.close();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(path);
        device.close();
    }
}
