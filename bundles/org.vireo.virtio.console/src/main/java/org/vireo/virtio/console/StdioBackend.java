package org.vireo.virtio.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Backend "stdio": guest output to an output stream (System.out), host input from an input stream (System.in) read
 * by a daemon thread. A read blocked in the input stream cannot be interrupted; after {@link #close()} whatever it
 * returns is discarded and the thread ends.
 */
public final class StdioBackend implements ConsoleBackend {
    private static final System.Logger LOG = System.getLogger(StdioBackend.class.getName());

    private final InputStream in;
    private final OutputStream out;
    private final String label;
    private volatile boolean closed;
    private boolean warned;   // reader thread only
    private Thread reader;

    /** @param in host input, or null for none */
    public StdioBackend(InputStream in, OutputStream out, String label) {
        this.in = in;
        this.out = out;
        this.label = label;
    }

    /** System.in and System.out. */
    public static StdioBackend system() { return new StdioBackend(System.in, System.out, "stdio"); }

    @Override
    public synchronized void start(Consumer<byte[]> input) {
        if (in == null || reader != null || closed) return;
        reader = Thread.ofPlatform().daemon().name("vireo-console-" + label).start(() -> readLoop(input));
    }

    private void readLoop(Consumer<byte[]> input) {
        byte[] buf = new byte[1024];
        try {
            int n;
            while (!closed && (n = in.read(buf)) >= 0) {
                if (n > 0 && !closed) deliver(input, Arrays.copyOf(buf, n));
            }
        } catch (IOException e) {
            if (!closed) LOG.log(System.Logger.Level.WARNING, "console " + label + ": input stopped: " + e.getMessage());
        }
    }

    /** The reader must outlive a device that throws: that input is lost, later input still arrives. */
    private void deliver(Consumer<byte[]> input, byte[] data) {
        try {
            input.accept(data);
        } catch (RuntimeException e) {
            if (!warned) LOG.log(System.Logger.Level.ERROR, "console " + label + ": delivering input failed; it is dropped", e);
            warned = true;
        }
    }

    @Override
    public void write(byte[] data, int off, int len) throws IOException {
        synchronized (out) {
            out.write(data, off, len);
            out.flush();
        }
    }

    @Override
    public String describe() { return label; }

    @Override
    public void close() { closed = true; }
}
