/** The virtio-console device backend (virtio 1.x 5.3), single port, and its stdio/file/link backends. Private to this bundle. */
package org.vireo.virtio.console;
