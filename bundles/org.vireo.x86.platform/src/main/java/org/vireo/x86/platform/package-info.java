/**
 * The legacy PC platform as port-I/O devices: the 8259A PIC pair, the 8254 PIT, a 16550A UART, the CMOS RTC,
 * the i8042 keyboard controller, system control ports A and B, the POST port, and the PCI host bridge with its
 * type-1 configuration mechanism. Each device is a plain class, usable without a CPU or a framework.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.x86.platform;
