/**
 * The virtio-mmio transport, version 2 (virtio 1.x 4.2.2): {@link org.vireo.virtio.mmio.VirtioMmio#plug} puts a
 * device's register window on a machine's MMIO bus and, on Java guests, gives the driver side.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.mmio;
