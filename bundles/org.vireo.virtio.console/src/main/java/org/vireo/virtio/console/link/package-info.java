/** The host end of the in-JVM console link that a virtio-console device can be attached to. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.console.link;
