package org.vireo.virtio.console;

import java.io.IOException;
import java.util.function.Consumer;

/** Where a virtio-console's output goes and its input comes from. */
public interface ConsoleBackend extends AutoCloseable {
    /** Starts delivering host input to {@code input}, on the backend's own thread or the host caller's. Called once. */
    void start(Consumer<byte[]> input);

    /** Guest output. */
    void write(byte[] data, int off, int len) throws IOException;

    /** One line for {@link ConsoleDevice#describe()}, e.g. "stdio" or "file:/tmp/console.log". */
    String describe();

    /** After this returns the input consumer is not called again. */
    @Override
    void close();
}
