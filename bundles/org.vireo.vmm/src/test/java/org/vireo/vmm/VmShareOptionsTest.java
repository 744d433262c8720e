package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** --share DIR[,tag=TAG][,ro]: virtio-fs devices fs0, fs1... after the other devices. */
public class VmShareOptionsTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private Path kit() throws Exception {
        Path kit = tmp.newFolder("kit").toPath();
        Files.write(kit.resolve("bzImage"), new byte[] {1});
        return kit;
    }

    @Test
    public void sharesBecomeFsDevices() throws Exception {
        Path kit = kit();
        Path a = tmp.newFolder("a").toPath();
        Path b = tmp.newFolder("with,comma").toPath();
        VmOptions o = VmOptions.parse(kit, "--share", a + ",tag=hostshare", "--rng", "--share=" + b + ",ro");
        List<DeviceSpec> d = o.devices();
        assertEquals(3, d.size());
        assertEquals("rng", d.get(0).kind().label());
        DeviceSpec s0 = d.get(1);
        assertEquals("fs0", s0.name());
        assertEquals("hostshare", s0.settings().get("tag"));
        assertEquals(a.toAbsolutePath().toString(), s0.settings().get("path"));
        assertFalse((Boolean) s0.settings().get("readonly"));
        assertEquals("org.vireo.virtio.fs", s0.factoryPid());
        DeviceSpec s1 = d.get(2);
        assertEquals("fs1", s1.name());
        assertEquals("the tag defaults to the device name", "fs1", s1.settings().get("tag"));
        assertEquals(b.toAbsolutePath().toString(), s1.settings().get("path"));
        assertTrue((Boolean) s1.settings().get("readonly"));
        assertEquals("options in either order", "t", VmOptions.parse(kit, "--share", a + ",ro,tag=t").devices().get(0).settings().get("tag"));
        assertTrue(VmOptions.usage().contains("--share DIR[,tag=TAG][,ro]"));
    }

    @Test
    public void badSharesAreUsageErrors() throws Exception {
        Path kit = kit();
        Path a = tmp.newFolder("a").toPath();
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share", a.resolve("missing").toString()));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share", tmp.newFile().toString()));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share", a + ",tag=" + "x".repeat(37)));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share", a + ",tag="));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share", a + ",tag=t", "--share", a + ",tag=t"));
        assertThrows(VmOptions.UsageException.class, () -> VmOptions.parse(kit, "--share"));
    }
}
