/** The host end of the in-JVM network link that a virtio-net device can be attached to. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.net.link;
