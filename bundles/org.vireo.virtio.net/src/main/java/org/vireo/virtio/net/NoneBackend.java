package org.vireo.virtio.net;

import java.util.function.Consumer;

/** Backend "none": the cable is cut. Sent frames vanish and nothing arrives. */
public final class NoneBackend implements FrameBackend {
    @Override public void start(Consumer<byte[]> receiver) {}

    @Override public void send(byte[] frame) {}

    @Override public String describe() { return "none"; }

    @Override public void close() {}
}
