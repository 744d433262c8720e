/**
 * Loading Linux into guest memory: the x86 64-bit boot protocol for a bzImage (zero page, e820 map, command line,
 * initrd, identity page tables, GDT) and PVH entry for an ELF vmlinux (hvm_start_info). The result is a
 * {@link org.vireo.x86.boot.BootPlan}: the CPU state the machine sets before the first instruction.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.vireo.x86.boot;
