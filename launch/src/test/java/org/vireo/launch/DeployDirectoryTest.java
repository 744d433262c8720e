package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class DeployDirectoryTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path conf() throws Exception {
        Path conf = tmp.newFolder("conf").toPath();
        Files.writeString(conf.resolve("org.vireo.machine.hosted-java.cfg"), "machine.name=java\n");
        Files.writeString(conf.resolve("org.vireo.virtio.blk-disk0.cfg"), "path=@DEPLOY_DIR@/disk0.img\n");
        Files.writeString(conf.resolve("README.txt"), "not a configuration\n");
        return conf;
    }

    @Test
    public void aNewDeployDirectoryGetsTheDemoConfigurationAndItsDiskImage() throws Exception {
        Path deploy = tmp.getRoot().toPath().resolve("deploy");
        List<Path> written = DeployDirectory.prepare(deploy, conf());

        assertEquals(List.of(deploy.resolve("org.vireo.machine.hosted-java.cfg"), deploy.resolve("org.vireo.virtio.blk-disk0.cfg")), written);
        assertFalse(Files.exists(deploy.resolve("README.txt")));
        String disk = Files.readString(deploy.resolve("org.vireo.virtio.blk-disk0.cfg"));
        assertEquals("path=" + deploy.toAbsolutePath().normalize() + "/disk0.img\n", disk);
        assertEquals(DeployDirectory.DEMO_IMAGE_BYTES, Files.size(deploy.resolve("disk0.img")));
    }

    @Test
    public void anExistingDeployDirectoryIsLeftAlone() throws Exception {
        Path deploy = tmp.newFolder("deploy").toPath();
        assertEquals(List.of(), DeployDirectory.prepare(deploy, conf()));
        try (var files = Files.list(deploy)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    public void withoutConfFolderTheDirectoryIsJustCreated() throws Exception {
        Path deploy = tmp.getRoot().toPath().resolve("a/b/deploy");
        assertEquals(List.of(), DeployDirectory.prepare(deploy, tmp.getRoot().toPath().resolve("missing")));
        assertTrue(Files.isDirectory(deploy));
    }
}
