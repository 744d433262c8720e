package org.vireo.x86.platform;

import java.io.IOException;
import java.io.InputStream;

/** Copies a host byte stream into a {@link Uart16550}'s receiver on a daemon thread, waiting while it is full. */
public final class SerialInputPump implements AutoCloseable {
    private final Thread thread;

    public SerialInputPump(InputStream in, Uart16550 uart, String name) {
        thread = new Thread(() -> {
            try {
                int b;
                while ((b = in.read()) >= 0) uart.put(b);
            } catch (IOException | InterruptedException e) {
                // end of input or shutdown
            }
        }, name);
        thread.setDaemon(true);
    }

    public SerialInputPump start() {
        thread.start();
        return this;
    }

    @Override
    public void close() { thread.interrupt(); }
}
