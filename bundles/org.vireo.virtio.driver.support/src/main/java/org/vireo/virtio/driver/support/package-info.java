/**
 * Helpers shared by the Java virtio drivers: {@link org.vireo.virtio.driver.support.RequestQueue} (requests callers
 * wait for on one virtqueue), {@link org.vireo.virtio.driver.support.GuestBuffer} (a guest RAM allocation freed once),
 * {@link org.vireo.virtio.driver.support.ServicePublisher} and {@link org.vireo.virtio.driver.support.OsgiPublisher}
 * (one service per bound device), and {@link org.vireo.virtio.driver.support.PublishingDriver} (the bind, publish,
 * unbind bookkeeping of a driver whose bound devices each become a service).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.virtio.driver.support;
