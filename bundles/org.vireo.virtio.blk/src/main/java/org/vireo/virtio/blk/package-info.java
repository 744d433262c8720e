/** The virtio-blk device backend (virtio 1.x 5.2) over raw image files. Private to this bundle. */
package org.vireo.virtio.blk;
