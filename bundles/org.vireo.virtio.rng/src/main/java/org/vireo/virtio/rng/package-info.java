/** The virtio-rng device backend (virtio 1.x 5.4). Private to this bundle. */
package org.vireo.virtio.rng;
