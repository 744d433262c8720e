/** The entropy source API the Java virtio-rng driver registers, one service per bound device. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.driver.rng;
