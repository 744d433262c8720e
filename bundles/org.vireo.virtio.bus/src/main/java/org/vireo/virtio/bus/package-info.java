/** The virtio bus's view for the shell and tests: which driver-side device is bound to which driver. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.bus;
