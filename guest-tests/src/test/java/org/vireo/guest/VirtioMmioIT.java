package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code vireo run --transport mmio} through the packaged launcher (so the mmio transport component plugs the
 * ConfigurationAdmin-configured devices): the Debian kernel finds each virtio-mmio window only through the DSDT's
 * {@code LNRO0005} devices, its virtio_mmio driver binds them, and virtio_blk, virtio_net, virtio_rng and
 * virtio_console each bind one of them and work: the disk's first MiB reads back as the host wrote it, the rng gives
 * bytes, the console's output reaches a host file, the interrupts arrive through the IOAPIC.
 */
public class VirtioMmioIT {
    private static final int IMAGE_HEAD = 1 << 20;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void theKernelFindsVirtioMmioDevicesInTheDsdtAndItsDriversBindThem() throws Exception {
        GuestKit.assumePresent();
        Path home = LauncherProcess.home();
        byte[] head = new byte[IMAGE_HEAD];
        new Random(42).nextBytes(head);
        Path image = folder.getRoot().toPath().resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.write(head);
            f.setLength(8 << 20);
        }
        Path hvc = folder.getRoot().toPath().resolve("hvc0.txt");
        Path deploy = folder.newFolder("deploy").toPath(); // exists, so the launcher adds no demo configuration
        Path log = GuestKit.logFile("VirtioMmioIT");
        // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
        String command = String.join("; ",
                "echo mmio-platform: $(ls /sys/bus/platform/drivers/virtio-mmio | grep -c LNRO0005)",
                "for d in /sys/bus/virtio/devices/*; do echo mmio-bound: $(basename $(readlink $d/driver))"
                        + " $(basename $(readlink -f $d/..) | cut -d: -f1); done",
                "echo mmio-pci-virtio: $(grep -l 0x1af4 /sys/bus/pci/devices/*/vendor | wc -l)",
                "echo mmio-disk: $(dd if=/dev/vda bs=65536 count=" + IMAGE_HEAD / 65536 + " 2>/dev/null | md5sum)",
                "echo mmio-rng: $(head -c 64 /dev/hwrng | wc -c)",
                "echo mmio-irq: $(grep -c 'IO-APIC.*virtio' /proc/interrupts)",
                "echo MMIO-HVC >/dev/hvc0 && echo mmio-hvc: written",
                "poweroff -f");
        String out, context;
        int exitCode;
        try (LauncherProcess vireo = LauncherProcess.start(home, deploy, log, "run", "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--transport", "mmio", "--disk", image.toString(), "--net", "user", "--rng", "--console-device", "virtio,file=" + hvc,
                "--append", "console=ttyS0 vireo.cmd=\"" + command + "\"")) {
            boolean ended = vireo.waitFor(GuestKit.RUN_SECONDS + 60);
            out = vireo.output();
            context = GuestKit.tail(out, 60);
            assertTrue("vireo run did not end within " + (GuestKit.RUN_SECONDS + 60) + " s" + context, ended);
            exitCode = vireo.process().exitValue();
        }
        assertEquals("vireo run's exit code (0: the guest powered off)" + context, 0, exitCode);

        assertEquals("four LNRO0005 devices bound by virtio-mmio" + context, "4", GuestKit.field(out, "mmio-platform"));
        List<String> bound = out.lines().filter(l -> l.startsWith("mmio-bound: ")).map(l -> l.substring(12).strip()).sorted().toList();
        assertEquals("each driver binds a device on an LNRO0005 window" + context,
                List.of("virtio_blk LNRO0005", "virtio_console LNRO0005", "virtio_net LNRO0005", "virtio_rng LNRO0005"), bound);
        assertEquals("no virtio device on PCI" + context, "0", GuestKit.field(out, "mmio-pci-virtio"));
        assertEquals("the disk reads back" + context, GuestKit.md5(head) + " -", GuestKit.field(out, "mmio-disk"));
        assertEquals("the rng gives bytes" + context, "64", GuestKit.field(out, "mmio-rng"));
        assertEquals("four level-triggered lines on the IOAPIC" + context, "4", GuestKit.field(out, "mmio-irq"));
        assertEquals("the console wrote" + context, "written", GuestKit.field(out, "mmio-hvc"));
        assertTrue("hvc0's output reached the host file", Files.readString(hvc).contains("MMIO-HVC"));
    }
}
