/**
 * Test support for virtio device backends, drivers and transports (a plain test-scope jar, not deployed):
 * {@link org.vireo.virtio.testkit.DeviceHarness} plays the guest driver over real split rings in guest memory, and
 * {@link org.vireo.virtio.testkit.VirtioDeviceContract} is the suite every device passes. Shared test doubles:
 * {@link org.vireo.virtio.testkit.FakeDevice} and {@link org.vireo.virtio.testkit.FakeQueue} (a driver-side device
 * without a transport, for driver unit tests), {@link org.vireo.virtio.testkit.FakeBundleContext} (to activate DS
 * components by hand), {@link org.vireo.virtio.testkit.EchoDevice}, {@link org.vireo.virtio.testkit.EchoDriver} and
 * {@link org.vireo.virtio.testkit.RecordingMachine} (for transport tests).
 */
package org.vireo.virtio.testkit;
