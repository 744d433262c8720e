/** The console port API the Java virtio-console driver registers, one service per bound device. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.driver.console;
