/**
 * ACPI for the x86 PC: an AML encoder ({@link org.vireo.x86.acpi.Aml}, {@link org.vireo.x86.acpi.ResourceTemplate})
 * and the tables Linux reads at boot ({@link org.vireo.x86.acpi.AcpiTables}: RSDP, XSDT, FADT, FACS, DSDT). Plain
 * bytes, no dependencies: the machine decides where they go in guest memory and which devices they describe.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.vireo.x86.acpi;
