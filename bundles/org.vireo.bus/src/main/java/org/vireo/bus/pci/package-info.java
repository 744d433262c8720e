/** A PCI bus: functions with type-0 configuration space, found by bus/device/function number. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.bus.pci;
