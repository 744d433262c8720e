/**
 * Test support for virtio device backends (a plain test-scope jar, not deployed): {@link org.vireo.virtio.testkit.DeviceHarness}
 * plays the guest driver over real split rings in guest memory, and {@link org.vireo.virtio.testkit.VirtioDeviceContract}
 * is the suite every device passes.
 */
package org.vireo.virtio.testkit;
