package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * The guest kit's kernel with ACPI (the default: no acpi=off on its command line) on the CPU emulator, with a
 * virtio-rng on PCI: Linux lists Vireo's tables in /sys/firmware/acpi/tables, uses the PM timer, takes the SCI on
 * IRQ 9, reports no ACPI error or firmware bug, routes the rng's INTx through the DSDT's _PRT, and a {@code poweroff -f}
 * reaches S5 in PM1a control, which ends {@code vireo run} with exit code 0.
 */
public class AcpiIT {
    // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
    private static final String COMMAND = String.join("; ",
            "echo acpi-tables: $(ls /sys/firmware/acpi/tables | tr '\\n' ' ')",
            // Each pattern is written so that it does not match itself on the kernel command line, which dmesg shows.
            "echo acpi-pmtimer: $(dmesg | grep -c 'ACPI: PM-Timer IO Port: 0x60[8]')",
            "echo acpi-problems: $(dmesg | grep -ciE 'ACPI (error|warning|bios)|[f]irmware bug|[E]LCR')",
            "echo acpi-sci: $(awk '/ acpi$/ {print $1}' /proc/interrupts)",
            "echo acpi-rng: $(head -c 64 /dev/hwrng | wc -c)",
            "echo acpi-poweroff",
            "poweroff -f");

    @Test
    public void linuxUsesTheTablesAndPowersOffThroughS5() throws Exception {
        GuestKit.assumePresent();
        GuestKit.Run run = GuestKit.runVm("AcpiIT", "--timeout", Integer.toString(GuestKit.RUN_SECONDS), "--rng",
                "--append", "console=ttyS0 vireo.cmd=\"" + COMMAND + "\"");
        String out = run.output();
        String context = GuestKit.tail(out, 40);

        String tables = GuestKit.field(out, "acpi-tables");
        assertTrue("Linux lists the tables: " + tables + context, tables != null && tables.contains("FACP") && tables.contains("DSDT")
                && tables.contains("FACS"));
        assertTrue("the kernel found the RSDP" + context, out.contains("ACPI: RSDP 0x00000000000E0000"));
        assertEquals("the PM timer is used" + context, "1", GuestKit.field(out, "acpi-pmtimer"));
        assertEquals("no ACPI error, warning or firmware bug in dmesg" + context, "0", GuestKit.field(out, "acpi-problems"));
        assertEquals("the SCI is IRQ 9" + context, "9:", GuestKit.field(out, "acpi-sci"));
        assertEquals("virtio-rng's interrupt arrives through the _PRT's route" + context, "64", GuestKit.field(out, "acpi-rng"));
        assertTrue("the guest got to poweroff" + context, out.contains("acpi-poweroff"));
        assertTrue("the kernel entered S5" + context, out.contains("ACPI: PM: Preparing to enter system sleep state S5"));
        assertTrue("S5 in PM1a control ended the run" + context, out.contains("the guest powered off (ACPI S5)"));
        assertFalse("no reboot" + context, out.contains("reboot: Restarting system"));
        assertEquals("vireo run's exit code" + context, 0, run.exitCode());
    }
}
