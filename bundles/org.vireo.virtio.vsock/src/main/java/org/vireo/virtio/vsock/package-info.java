/** The virtio-vsock device backend (virtio 1.x 5.10) with Firecracker's host side on Unix domain sockets. Private to this bundle. */
package org.vireo.virtio.vsock;
