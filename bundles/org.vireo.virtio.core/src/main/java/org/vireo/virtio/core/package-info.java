/**
 * The virtio device model shared by every transport: {@link org.vireo.virtio.core.VirtioDeviceCore} (status and
 * feature state machine, queue configuration, config generation, interrupt status), the
 * {@link org.vireo.virtio.core.PluggedDevice} handle transports return, and helpers for their DS components.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package org.vireo.virtio.core;
