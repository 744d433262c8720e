/** The split virtqueue: device side ({@link org.vireo.virtio.ring.SplitQueueDevice}) and driver side ({@link org.vireo.virtio.ring.SplitQueueDriver}). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.ring;
