/** I/O buses (port and memory-mapped), address allocation, interrupt lines and MSI messages. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.bus;
