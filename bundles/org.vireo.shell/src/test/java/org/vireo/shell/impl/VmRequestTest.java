package org.vireo.shell.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class VmRequestTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private static String refused(String name, String... settings) {
        try {
            VmRequest.parse(name, List.of(settings));
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        fail("accepted " + name + " " + List.of(settings));
        return null;
    }

    @Test
    public void settingsBecomeTypedProperties() throws Exception {
        Path kernel = folder.newFile("bzImage").toPath();
        VmRequest r = VmRequest.parse("vm1", List.of("kernel=" + kernel, "initrd=none", "memory.mib=64", "vcpus=1",
                "accelerator=KVM", "cmdline=console=ttyS0 acpi=off vireo.cmd=\"echo hi\""));
        assertEquals(Map.of("machine.name", "vm1", "kernel", kernel.toAbsolutePath().toString(), "initrd", "none",
                "memory.mib", 64, "vcpus", 1, "accelerator", "kvm", "cmdline", "console=ttyS0 acpi=off vireo.cmd=\"echo hi\""), r.properties());
        assertEquals(Map.of("machine.name", "vm2"), VmRequest.parse("vm2", List.of()).properties());
    }

    @Test
    public void badSettingsAreRefusedWithAClearMessage() throws Exception {
        assertTrue(refused("a b").contains("Bad VM name"));
        assertTrue(refused("vm", "memory.mib").contains("is not key=value"));
        assertTrue(refused("vm", "cpus=1").contains("Unknown setting cpus"));
        assertTrue(refused("vm", "vcpus=2").contains("vcpus=2 is not supported"));
        assertTrue(refused("vm", "memory.mib=big").contains("memory.mib must be a whole number"));
        assertTrue(refused("vm", "memory.mib=4").contains("memory.mib must be 16 to 3072"));
        assertTrue(refused("vm", "accelerator=hvf").contains("accelerator must be emu or kvm"));
        assertTrue(refused("vm", "kernel=" + folder.getRoot().toPath().resolve("nope")).contains("kernel: no file at"));
        assertTrue(refused("vm", "initrd=" + Files.createDirectory(folder.getRoot().toPath().resolve("d"))).contains("initrd: no file at"));
        assertTrue(refused("vm", "vcpus=1", "vcpus=1").contains("given twice"));
    }
}
