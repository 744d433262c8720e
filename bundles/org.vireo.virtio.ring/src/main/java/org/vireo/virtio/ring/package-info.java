/**
 * The virtqueue in both layouts: split ({@link org.vireo.virtio.ring.SplitQueueDevice},
 * {@link org.vireo.virtio.ring.SplitQueueDriver}) and packed ({@link org.vireo.virtio.ring.PackedQueueDevice},
 * {@link org.vireo.virtio.ring.PackedQueueDriver}); {@link org.vireo.virtio.ring.Rings} picks one from the
 * negotiated features.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.virtio.ring;
