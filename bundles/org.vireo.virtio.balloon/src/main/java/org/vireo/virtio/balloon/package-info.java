/** The virtio-balloon device (virtio 1.x 5.5), its kind, host control socket and dev:balloon. Private to this bundle. */
package org.vireo.virtio.balloon;
