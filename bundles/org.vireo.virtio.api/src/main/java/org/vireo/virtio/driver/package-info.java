/**
 * The driver side of virtio, after the 2007 lguest virtio patch: drivers with id tables
 * ({@link org.vireo.virtio.driver.VirtioDriver}) are matched to devices ({@link org.vireo.virtio.driver.VirtioDriverDevice},
 * the seed's struct virtio_device with its config ops) by the virtio bus, and move data through
 * {@link org.vireo.virtio.driver.Virtqueue} (add_buf, kick, get_buf, disable/enable callbacks, detach unused).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.driver;
