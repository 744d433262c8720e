/** The block device API the Java virtio-blk driver registers, one service per bound device. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.driver.blk;
