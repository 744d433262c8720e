package org.vireo.virtio.net;

import java.io.IOException;
import java.util.function.Consumer;

/**
 * Where a virtio-net device's frames go and come from: an in-JVM link, a TAP interface, or nowhere. Frames are plain
 * Ethernet frames without the virtio header.
 */
public interface FrameBackend extends AutoCloseable {
    /**
     * Starts delivering frames from the host side to {@code receiver}, on the backend's own thread (or the host
     * caller's), never on a vCPU. Called once, before any {@link #send}.
     */
    void start(Consumer<byte[]> receiver);

    /** Sends one frame from the guest to the host side. Must not block for long. */
    void send(byte[] frame) throws IOException;

    /** One line for {@link NetDevice#describe()}, e.g. "link:net0" or "tap:tap0". */
    String describe();

    /** Stops delivering; after this returns the receiver is not called again. */
    @Override
    void close();
}
