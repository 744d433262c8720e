package org.vireo.virtio.driver;

/** The seed's "buffers used" callback: runs on the interrupt thread; typically drains {@link Virtqueue#getBuf()}. */
@FunctionalInterface
public interface VirtqueueCallback {
    void buffersUsed(Virtqueue queue);
}
