/** The virtio-fs device backend (virtio 1.2 5.11): a host directory served to the guest over FUSE. Private to this bundle. */
package org.vireo.virtio.fs;
