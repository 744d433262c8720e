package org.vireo.virtio.device;

import org.vireo.virtio.VirtioException;

/** The guest's virtqueue is malformed (bad index, loop, out-of-memory address, bad ordering, nested indirect...). */
public final class VirtqueueException extends VirtioException {
    private static final long serialVersionUID = 1L;

    public VirtqueueException(String message) { super(message); }
}
