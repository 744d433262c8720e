package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * The guest kit's kernel with ACPI (the default: no acpi=off on its command line) on the CPU emulator, with a
 * virtio-rng on PCI: Linux lists Vireo's tables (the MADT among them) in /sys/firmware/acpi/tables, uses the PM
 * timer, takes the SCI on IOAPIC pin 9, reports no ACPI error or firmware bug, gets the rng's interrupts as MSI-X
 * through the local APIC, ticks with the local APIC timer and keeps the host's time on the TSC, and a
 * {@code poweroff -f} reaches S5 in PM1a control, which ends {@code vireo run} with exit code 0.
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
            "echo acpi-sci-chip: $(awk '/ acpi$/ {print $3}' /proc/interrupts)",
            "echo apic-msi: $(grep -c 'PCI-MSI.*virtio' /proc/interrupts)",
            "echo apic-timer: $(awk '/^ *LOC:/ {print $2}' /proc/interrupts)",
            "echo apic-clock-problems: $(dmesg | grep -ciE '[u]nstable|[l]ost ticks|[c]heck_timer|IO-APIC.*[b]roken')",
            "echo apic-clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)",
            "echo guest-epoch: $(date +%s)",
            "echo acpi-poweroff",
            "poweroff -f");

    @Test
    public void linuxUsesTheTablesAndPowersOffThroughS5() throws Exception {
        GuestKit.assumePresent();
        // The 64-bit boot protocol (the kernel decompresses itself; the RSDP goes through the zero page), where the other
        // guest tests take the default PVH entry with the vmlinux unpacked on the host (the RSDP in the start info).
        GuestKit.Run run = GuestKit.runVm("AcpiIT", "--timeout", Integer.toString(GuestKit.RUN_SECONDS), "--rng", "--kernel-entry", "64bit",
                "--append", "console=ttyS0 vireo.cmd=\"" + COMMAND + "\"");
        String out = run.output();
        String context = GuestKit.tail(out, 40);

        String tables = GuestKit.field(out, "acpi-tables");
        assertTrue("Linux lists the tables: " + tables + context, tables != null && tables.contains("FACP") && tables.contains("DSDT")
                && tables.contains("FACS"));
        assertTrue("the kernel found the RSDP" + context, out.contains("ACPI: RSDP 0x00000000000E0000"));
        assertTrue("entered through the 64-bit boot protocol" + context, out.contains("(boot protocol 2."));
        assertEquals("the PM timer is used" + context, "1", GuestKit.field(out, "acpi-pmtimer"));
        assertEquals("no ACPI error, warning or firmware bug in dmesg" + context, "0", GuestKit.field(out, "acpi-problems"));
        assertEquals("the SCI is IRQ 9" + context, "9:", GuestKit.field(out, "acpi-sci"));
        assertEquals("virtio-rng's interrupts arrive" + context, "64", GuestKit.field(out, "acpi-rng"));
        assertTrue("the MADT is listed" + context, tables.contains("APIC"));
        assertTrue("the kernel found the IOAPIC" + context, out.contains("IOAPIC[0]: apic_id 0, version 32, address 0xfec00000, GSI 0-23"));
        assertEquals("the SCI goes through the IOAPIC" + context, "IO-APIC", GuestKit.field(out, "acpi-sci-chip"));
        assertEquals("virtio-rng uses MSI-X: one vector for the configuration, one for its queue" + context, "2",
                GuestKit.field(out, "apic-msi"));
        assertFalse("no MSI fallback warning" + context, out.contains("doesn't support MSI"));
        String timer = GuestKit.field(out, "apic-timer");
        assertTrue("the local APIC timer ticks: " + timer + context, timer != null && timer.matches("\\d+") && Long.parseLong(timer) > 10);
        assertEquals("no clock trouble" + context, "0", GuestKit.field(out, "apic-clock-problems"));
        assertEquals("the TSC stays the clocksource" + context, "tsc", GuestKit.field(out, "apic-clocksource"));
        String epoch = GuestKit.field(out, "guest-epoch");
        long hostEnd = run.endedAtEpochSecond();
        assertTrue("the guest's clock (" + epoch + ") kept the host's time (" + hostEnd + " at the end)" + context,
                epoch != null && epoch.matches("\\d+") && Long.parseLong(epoch) <= hostEnd + 1 && Long.parseLong(epoch) >= hostEnd - 10);
        assertTrue("the guest got to poweroff" + context, out.contains("acpi-poweroff"));
        assertTrue("the kernel entered S5" + context, out.contains("ACPI: PM: Preparing to enter system sleep state S5"));
        assertTrue("S5 in PM1a control ended the run" + context, out.contains("the guest powered off (ACPI S5)"));
        assertFalse("no reboot" + context, out.contains("reboot: Restarting system"));
        assertEquals("vireo run's exit code" + context, 0, run.exitCode());
    }
}
