/** Virtual machines as services: one per {@code org.vireo.vmm.vm} factory configuration, started and stopped on demand. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.vmm.api;
