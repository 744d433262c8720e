/** Virtio constants shared by devices, transports and drivers (OASIS virtio 1.x, modern devices only). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.vireo.virtio;
