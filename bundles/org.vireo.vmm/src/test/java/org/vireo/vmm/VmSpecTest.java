package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class VmSpecTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private static Map<String, Object> config(Object... keyValues) {
        Map<String, Object> m = new HashMap<>();
        m.put("machine.name", "vm1");
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    private static String refused(Map<String, Object> config) {
        try {
            VmSpec.from(config);
        } catch (VmSpec.InvalidException e) {
            return e.getMessage();
        }
        fail("accepted " + config);
        return null;
    }

    @Test
    public void defaults() throws Exception {
        VmSpec s = VmSpec.from(config());
        assertEquals("vm1", s.name());
        assertEquals("console=ttyS0", s.cmdline());
        assertTrue(s.acpi());
        assertTrue(!VmSpec.from(config("acpi", "false")).acpi());
        assertTrue(!VmSpec.from(config("acpi", false)).acpi());
        assertThrows(VmSpec.InvalidException.class, () -> VmSpec.from(config("acpi", "maybe")));
        assertEquals(512, s.memoryMib());
        assertEquals(VmOptions.Accelerator.EMU, s.accelerator());
    }

    @Test
    public void valuesMayBeStringsOrNumbers() throws Exception {
        assertEquals(64, VmSpec.from(config("memory.mib", "64", "vcpus", "1")).memoryMib());
        assertEquals(128, VmSpec.from(config("memory.mib", 128L, "accelerator", "KVM")).memoryMib());
        assertEquals(VmOptions.Accelerator.KVM, VmSpec.from(config("accelerator", "kvm")).accelerator());
    }

    @Test
    public void badSettingsAreRefusedWithTheirName() {
        Map<String, Object> noName = config();
        noName.remove("machine.name");
        assertTrue(refused(noName).contains("machine.name is required"));
        assertTrue(refused(config("machine.name", "a b")).contains("machine.name"));
        assertTrue(refused(config("vcpus", 2)).contains("vcpus=2 is not supported"));
        assertTrue(refused(config("memory.mib", "lots")).contains("memory.mib must be a whole number"));
        assertTrue(refused(config("memory.mib", 8)).contains("memory.mib must be 16 to 3072"));
        assertTrue(refused(config("memory.mib", 4096)).contains("memory.mib must be 16 to 3072"));
        assertTrue(refused(config("accelerator", "tcg")).contains("accelerator must be emu or kvm"));
    }

    @Test
    public void filesComeFromTheGuestKitUnlessGiven() throws Exception {
        Path kit = folder.newFolder("kit").toPath();
        try {
            VmSpec.from(config()).options(kit);
            fail("no kernel in an empty kit");
        } catch (VmSpec.InvalidException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("no kernel at"));
        }
        Files.write(kit.resolve("bzImage"), new byte[1]);
        VmOptions o = VmSpec.from(config("memory.mib", 64)).options(kit);
        assertEquals(kit.resolve("bzImage"), o.kernel());
        assertNull(o.initrd());
        assertEquals(64L << 20, o.memory());
        Files.write(kit.resolve("initramfs.cpio.gz"), new byte[1]);
        assertEquals(kit.resolve("initramfs.cpio.gz"), VmSpec.from(config()).options(kit).initrd());
        assertNull(VmSpec.from(config("initrd", "none")).options(kit).initrd());
        try {
            VmSpec.from(config("initrd", kit.resolve("missing").toString())).options(kit);
            fail("missing initrd accepted");
        } catch (VmSpec.InvalidException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("no initrd at"));
        }
    }
}
