package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class VmOptionsTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private Path kit() throws Exception {
        Path kit = folder.newFolder("kit").toPath();
        Files.write(kit.resolve("bzImage"), new byte[1]);
        Files.write(kit.resolve("initramfs.cpio.gz"), new byte[1]);
        return kit;
    }

    @Test
    public void ringLayoutSplitByDefaultOrPacked() throws Exception {
        Path kit = kit();
        assertEquals(org.vireo.virtio.ring.RingLayout.SPLIT, VmOptions.parse(kit).ring());
        assertEquals(org.vireo.virtio.ring.RingLayout.PACKED, VmOptions.parse(kit, "--ring", "packed").ring());
        assertEquals(org.vireo.virtio.ring.RingLayout.SPLIT, VmOptions.parse(kit, "--ring=split").ring());
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--ring", "twisted"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--ring"));
    }

    @Test
    public void transportPciByDefaultOrMmioWithAcpi() throws Exception {
        Path kit = kit();
        assertEquals(VmOptions.Transport.PCI, VmOptions.parse(kit).transport());
        assertEquals(VmOptions.Transport.MMIO, VmOptions.parse(kit, "--transport", "mmio").transport());
        assertEquals("mmio", VmOptions.parse(kit, "--transport=mmio").transport().property());
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--transport", "isa"));
        assertThrows("Linux finds mmio devices only through ACPI", VmOptions.UsageException.class,
                () -> VmOptions.parse(kit, "--transport", "mmio", "--no-acpi"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--transport", "mmio", "--append", "console=ttyS0 acpi=off"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--transport", "mmio", "--hotplug-slot"));
        assertTrue(VmOptions.usage().contains("--transport pci|mmio"));
    }

    @Test
    public void kernelEntryPvhByDefaultOr64Bit() throws Exception {
        Path kit = kit();
        assertEquals(VmOptions.KernelEntry.PVH, VmOptions.parse(kit).kernelEntry());
        assertEquals(org.vireo.x86.boot.LinuxLoader.Unpack.NEVER, VmOptions.parse(kit, "--kernel-entry", "64bit").kernelEntry().unpack);
        assertEquals(VmOptions.KernelEntry.PVH, VmOptions.parse(kit, "--kernel-entry=pvh").kernelEntry());
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--kernel-entry", "16bit"));
        assertTrue(VmOptions.usage().contains("--kernel-entry pvh|64bit"));
    }

    @Test
    public void acpiOnOrOff() throws Exception {
        Path kit = kit();
        VmOptions off = VmOptions.parse(kit, "--no-acpi");
        assertTrue(!off.acpi());
        assertEquals("without tables the kernel is told", "console=ttyS0 acpi=off tsc_early_khz=1000000 tsc=reliable", off.kernelCommandLine());
        assertEquals("the user's acpi= wins", "console=ttyS0 acpi=noirq",
                VmOptions.parse(kit, "--no-acpi", "--append", "console=ttyS0 acpi=noirq", "--accel", "kvm").kernelCommandLine());
        assertTrue(VmOptions.parse(kit, "--no-acpi", "--acpi").acpi());
        assertEquals("a hot-plug slot with ACPI: PCI as without ACPI", "console=ttyS0 pci=noacpi tsc_early_khz=1000000 tsc=reliable",
                VmOptions.parse(kit, "--hotplug-slot").kernelCommandLine());
        assertEquals("console=ttyS0 acpi=off tsc_early_khz=1000000 tsc=reliable", VmOptions.parse(kit, "--hotplug-slot", "--no-acpi").kernelCommandLine());
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--acpi=yes"));
        VmOptions told = VmOptions.parse(kit, "--append", "console=ttyS0 acpi=off", "--hotplug-slot");
        assertTrue("tables, but a kernel told acpi=off does not use them", told.acpi() && !told.guestAcpi());
        assertEquals("console=ttyS0 acpi=off tsc_early_khz=1000000 tsc=reliable", told.kernelCommandLine());
        assertTrue(VmOptions.parse(kit, "--append", "console=ttyS0 acpi=force").guestAcpi());
        assertTrue(VmOptions.usage().contains("--no-acpi"));
        assertTrue("APICs with ACPI on the emulator", VmOptions.parse(kit).guestApic());
        assertFalse("not on KVM", VmOptions.parse(kit, "--accel", "kvm").guestApic());
        assertFalse("not without ACPI", off.guestApic() || told.guestApic());
        assertFalse("not with the hot-plug slot", VmOptions.parse(kit, "--hotplug-slot").guestApic());
    }

    @Test
    public void defaultsComeFromTheGuestKit() throws Exception {
        Path kit = kit();
        VmOptions o = VmOptions.parse(kit);
        assertEquals(kit.resolve("bzImage"), o.kernel());
        assertEquals(kit.resolve("initramfs.cpio.gz"), o.initrd());
        assertEquals("console=ttyS0", o.append());
        assertTrue("ACPI by default", o.acpi());
        assertEquals("console=ttyS0 tsc_early_khz=1000000 tsc=reliable", o.kernelCommandLine());
        assertEquals(512L << 20, o.memory());
        assertEquals(0, o.timeoutSeconds());
    }

    @Test
    public void optionsOverrideDefaults() throws Exception {
        Path kit = kit();
        Path kernel = Files.write(folder.getRoot().toPath().resolve("vmlinux"), new byte[1]);
        VmOptions o = VmOptions.parse(kit, "--kernel", kernel.toString(), "--initrd", "none", "--append", "console=ttyS0 quiet",
                "--mem=1G", "--timeout", "30");
        assertEquals(kernel, o.kernel());
        assertNull(o.initrd());
        assertEquals("console=ttyS0 quiet", o.append());
        assertEquals(1L << 30, o.memory());
        assertEquals(30, o.timeoutSeconds());
    }

    @Test
    public void sizes() throws Exception {
        assertEquals(256L << 20, VmOptions.parseSize("256M"));
        assertEquals(256L << 20, VmOptions.parseSize("256m"));
        assertEquals(3L << 30, VmOptions.parseSize("3G"));
        assertEquals(65536L << 10, VmOptions.parseSize("65536K"));
        assertEquals(1L << 30, VmOptions.parseSize("1073741824"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parseSize("12X"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parseSize("-1M"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parseSize("1001"));
    }

    @Test
    public void badOptionsAreExplained() throws Exception {
        Path kit = kit();
        assertTrue(message(kit, "--bogus").contains("unknown option --bogus"));
        assertTrue(message(kit, "--kernel").contains("needs a value"));
        assertTrue(message(kit, "--mem", "4G").contains("3G"));
        assertTrue(message(kit, "--mem", "8M").contains("16M"));
        assertTrue(message(kit, "--timeout", "soon").contains("seconds"));
        assertTrue(message(kit, "--kernel", "/no/such/kernel").contains("no kernel at"));
        Path empty = folder.newFolder("empty").toPath();
        assertTrue(message(empty).contains("scripts/guest-kit"));
        assertNull("--help asks for the usage text", assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--help")).getMessage());
    }

    /** A kind with one option whose value may be left out, as a new device bundle brings it. */
    private static final class OptionalValueKind implements org.vireo.virtio.kind.DeviceKind {
        private static final org.vireo.virtio.kind.RunOption OPTION =
                new org.vireo.virtio.kind.RunOption("--gadget", "size=N", false, 70, "a gadget", true);
        @Override public String label() { return "gadget"; }
        @Override public String factoryPid() { return "test.gadget"; }
        @Override public int order() { return 70; }
        @Override public String description() { return "a gadget"; }
        @Override public java.util.List<org.vireo.virtio.kind.Setting> settings() { return java.util.List.of(); }
        @Override public String defaultName() { return "gadget"; }
        @Override public java.util.List<org.vireo.virtio.kind.RunOption> runOptions() { return java.util.List.of(OPTION); }
        @Override public java.util.Map<String, Object> parseRunOption(org.vireo.virtio.kind.RunOption.Occurrence o) {
            return o.value() == null ? java.util.Map.of() : java.util.Map.of("spec", o.value());
        }
        @Override public String describe(String name, java.util.Map<String, ?> settings) { return name; }
        @Override public org.vireo.virtio.kind.DeviceInstance create(java.util.Map<String, ?> c, org.vireo.virtio.kind.DeviceEnvironment e) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    public void aNewKindBringsItsOptionsAndAnOptionalValue() throws Exception {
        Path kit = kit();
        DeviceKinds kinds = DeviceKinds.of(java.util.List.of(new OptionalValueKind()));
        assertEquals(java.util.List.of("gadget0 gadget {}"), specs(VmOptions.parse(kit, kinds, "--gadget")));
        assertEquals(java.util.List.of("gadget0 gadget {spec=size=3}"), specs(VmOptions.parse(kit, kinds, "--gadget=size=3")));
        assertEquals("the next word is not its value", "unknown option size=3",
                assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, kinds, "--gadget", "size=3")).getMessage());
        assertTrue(VmOptions.usage(kinds).contains("[--gadget[=size=N]]"));
        assertTrue(VmOptions.usage(kinds).contains("\n  --gadget[=size=N]\n"));
        assertEquals("without the kind the option is unknown", "unknown option --gadget",
                assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--gadget")).getMessage());
    }

    /** Each device as "NAME KIND {SETTINGS}". */
    private static java.util.List<String> specs(VmOptions o) { return o.devices().stream().map(DeviceSpec::toString).toList(); }

    @Test
    public void devicesInSlotOrder() throws Exception {
        Path kit = kit();
        Path a = Files.write(folder.getRoot().toPath().resolve("a.img"), new byte[4096]);
        Path b = Files.write(folder.getRoot().toPath().resolve("b.img"), new byte[4096]);
        Path out = folder.getRoot().toPath().resolve("hvc0.txt");
        VmOptions o = VmOptions.parse(kit, "--console-device", "virtio,file=" + out, "--rng", "--disk", a.toString(),
                "--net=user", "--disk=" + b + ",ro");
        assertEquals(java.util.List.of(
                "disk0 blk {path=" + a + ", readonly=false}",
                "disk1 blk {path=" + b + ", readonly=true}",
                "net0 net {backend=user}",
                "rng0 rng {source=/dev/urandom}",
                "console0 console {backend=file:" + out + "}"), specs(o));
        assertEquals(java.util.List.of(), VmOptions.parse(kit).devices());
        assertEquals("--net none is no NIC", java.util.List.of(), VmOptions.parse(kit, "--net", "none").devices());
        assertEquals(java.util.List.of("net0 net {backend=tap:vireo0}"), specs(VmOptions.parse(kit, "--net", "tap:vireo0")));
        assertEquals(java.util.List.of("console0 console {backend=terminal}"), specs(VmOptions.parse(kit, "--console-device", "virtio")));
    }

    @Test
    public void badDevicesAreExplained() throws Exception {
        Path kit = kit();
        Path img = Files.write(folder.getRoot().toPath().resolve("a.img"), new byte[4096]);
        assertTrue(message(kit, "--disk", "/no/such.img").contains("no disk image at /no/such.img"));
        assertTrue(message(kit, "--disk", img + ",rw").contains("unknown disk option \"rw\""));
        assertTrue(message(kit, "--disk", folder.getRoot().toString()).contains("not a regular file"));
        assertTrue(message(kit, "--disk").contains("needs a value"));
        assertTrue(message(kit, "--net", "bridge").contains("user, tap:IFNAME or none"));
        assertTrue(message(kit, "--net", "tap:").contains("not an interface name"));
        assertTrue(message(kit, "--net", "tap:a-very-long-interface-name").contains("not an interface name"));
        assertTrue(message(kit, "--net", "user", "--net", "none").contains("twice"));
        assertTrue(message(kit, "--rng=yes").contains("takes no value"));
        assertTrue(message(kit, "--rng", "--rng").contains("twice"));
        assertTrue(message(kit, "--console-device", "serial").contains("virtio or virtio,file=PATH"));
        assertTrue(message(kit, "--console-device", "virtio,file=/no/such/dir/out").contains("no directory /no/such/dir"));
    }

    @Test
    public void rootfsIsTheFirstDiskWithTheDebianInitramfsAndARootParameter() throws Exception {
        Path kit = kit();
        Path initramfs = kit.resolve(VmOptions.DEBIAN_INITRAMFS);
        Path root = Files.write(folder.getRoot().toPath().resolve("root.img"), new byte[4096]);
        Path data = Files.write(folder.getRoot().toPath().resolve("data.img"), new byte[4096]);
        assertTrue(message(kit, "--rootfs", root.toString()).contains("run scripts/guest-kit --debian, or pass --initrd"));
        Files.createDirectories(initramfs.getParent());
        Files.write(initramfs, new byte[1]);

        VmOptions o = VmOptions.parse(kit, "--disk", data.toString(), "--rootfs", root.toString());
        assertEquals(initramfs, o.initrd());
        assertEquals("console=ttyS0 root=/dev/vda rw", o.append());
        assertEquals(1L << 30, o.memory());
        assertEquals(java.util.List.of("disk0 blk {path=" + root.toAbsolutePath() + ", readonly=false}",
                "disk1 blk {path=" + data.toAbsolutePath() + ", readonly=false}"), specs(o));

        o = VmOptions.parse(kit, "--rootfs", root + ",ro", "--mem", "768M", "--append", "console=ttyS0 quiet");
        assertEquals("console=ttyS0 quiet root=/dev/vda ro", o.append());
        assertEquals(768L << 20, o.memory());
        assertEquals(Boolean.TRUE, o.devices().get(0).settings().get("readonly"));
        o = VmOptions.parse(kit, "--rootfs", root.toString(), "--append", "console=ttyS0 root=/dev/vdb", "--initrd", "none");
        assertEquals("the user's root= wins", "console=ttyS0 root=/dev/vdb", o.append());
        assertNull(o.initrd());

        assertTrue(message(kit, "--rootfs", "/no/such.img").contains("--rootfs: no disk image at /no/such.img"));
        assertTrue(message(kit, "--rootfs", root.toString(), "--rootfs", root.toString()).contains("twice"));
    }

    @Test
    public void statsIsAFlag() throws Exception {
        Path kit = kit();
        assertEquals(false, VmOptions.parse(kit).stats());
        assertEquals(true, VmOptions.parse(kit, "--stats", "--timeout", "5").stats());
        assertTrue(message(kit, "--stats=yes").contains("takes no value"));
    }

    @Test
    public void usageDescribesEveryOption() {
        String usage = VmOptions.usage();
        for (String option : new String[] {"--kernel", "--initrd", "--append", "--mem", "--timeout", "--disk FILE[,ro]", "--rootfs FILE[,ro]",
                "--net MODE", "--rng", "--console-device virtio[,file=PATH]", "--stats"}) {
            assertTrue(option, usage.contains("\n  " + option));
        }
    }

    private static String message(Path kit, String... args) {
        return assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, args)).getMessage();
    }
}
