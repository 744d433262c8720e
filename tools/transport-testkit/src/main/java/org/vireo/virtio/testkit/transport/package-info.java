/**
 * Test support for Java driver round-trip tests: {@link org.vireo.virtio.testkit.transport.TransportRig} plugs a real
 * device through a real transport on a hosted machine and binds drivers through the virtio bus core. A plain jar (it
 * depends on the transports, which use org.vireo.virtio.testkit in their own tests, so it cannot live there).
 */
package org.vireo.virtio.testkit.transport;
