package org.vireo.virtio.driver;

/** A buffer the device has returned: the driver's token and how many bytes the device wrote into it. */
public record UsedBuffer(Object token, int length) {}
