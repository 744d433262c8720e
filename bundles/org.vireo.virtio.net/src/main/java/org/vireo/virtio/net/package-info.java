/** The virtio-net device backend (virtio 1.x 5.1) and its frame backends. Private to this bundle. */
package org.vireo.virtio.net;
