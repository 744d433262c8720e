/**
 * The device side of virtio: what a device backend implements ({@link org.vireo.virtio.device.VirtioDevice}) and
 * what the transport gives it once a driver has set DRIVER_OK (queues, interrupts, NEEDS_RESET).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.vireo.virtio.device;
