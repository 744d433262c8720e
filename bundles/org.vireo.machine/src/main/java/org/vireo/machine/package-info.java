/** The machine service: one VM's memory, buses and interrupts, which devices and transports attach to. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.machine;
