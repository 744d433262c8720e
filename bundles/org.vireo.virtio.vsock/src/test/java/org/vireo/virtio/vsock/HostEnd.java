package org.vireo.virtio.vsock;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A host process's end of a Unix socket, with reads that give up after a timeout (never a hung test). */
final class HostEnd implements AutoCloseable {
    final SocketChannel channel;
    private final Selector selector;
    private final ByteArrayOutputStream got = new ByteArrayOutputStream();
    private boolean eof;

    HostEnd(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    static HostEnd connect(Path path) throws IOException {
        return new HostEnd(SocketChannel.open(UnixDomainSocketAddress.of(path)));
    }

    static SocketChannel open() throws IOException { return SocketChannel.open(StandardProtocolFamily.UNIX); }

    /** Writes all of {@code data}, waiting for room up to 10 s (an IOException then: a test must not hang). */
    void write(byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data);
        long deadline = System.currentTimeMillis() + 10_000;
        try (Selector writable = Selector.open()) {
            channel.register(writable, SelectionKey.OP_WRITE);
            while (b.hasRemaining()) {
                if (channel.write(b) > 0) continue;
                if (System.currentTimeMillis() > deadline) throw new IOException("the device took no more after " + b.position() + " bytes");
                writable.select(100);
                writable.selectedKeys().clear();
            }
        }
    }

    /** Writes {@code data} from another thread, as a host process that writes more than the guest reads would. */
    Thread writeInBackground(byte[] data) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                write(data);
            } catch (IOException e) {
                // the test closed the socket, or the device held the bytes back for good: the test judges that
            }
        });
    }

    void write(String s) throws IOException { write(s.getBytes(StandardCharsets.US_ASCII)); }

    /** Reads whatever arrives within {@code millis} into the buffer of received bytes; false once at EOF. */
    private boolean pump(long millis) throws IOException {
        if (eof) return false;
        selector.select(Math.max(1, millis));
        selector.selectedKeys().clear();
        ByteBuffer b = ByteBuffer.allocate(65536);
        int n;
        try {
            while ((n = channel.read(b)) > 0) {
                got.write(b.array(), 0, n);
                b.clear();
            }
        } catch (java.net.SocketException reset) {
            n = -1;     // closed with our bytes unread: a reset is an end too
        }
        if (n < 0) eof = true;
        return !eof;
    }

    /** Waits until {@code count} bytes have arrived (or EOF, or the timeout); returns and forgets them. */
    byte[] read(int count, long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        while (got.size() < count && !eof && System.currentTimeMillis() < deadline) pump(deadline - System.currentTimeMillis());
        return take(Math.min(count, got.size()));
    }

    /** A line ending in \n, or what arrived before EOF or the timeout. */
    String readLine(long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            byte[] all = got.toByteArray();
            for (int i = 0; i < all.length; i++) {
                if (all[i] == '\n') return new String(take(i + 1), StandardCharsets.US_ASCII);
            }
            if (eof || System.currentTimeMillis() >= deadline) return new String(take(all.length), StandardCharsets.US_ASCII);
            pump(deadline - System.currentTimeMillis());
        }
    }

    /** Everything until EOF; null if EOF did not come within {@code millis}. */
    byte[] readToEof(long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        while (!eof && System.currentTimeMillis() < deadline) pump(deadline - System.currentTimeMillis());
        return eof ? take(got.size()) : null;
    }

    boolean eof() { return eof; }

    /** Whether EOF comes within {@code millis} (bytes before it are dropped). */
    boolean closedWithin(long millis) throws IOException { return readToEof(millis) != null; }

    private byte[] take(int n) {
        byte[] all = got.toByteArray();
        got.reset();
        got.write(all, n, all.length - n);
        return java.util.Arrays.copyOf(all, n);
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
