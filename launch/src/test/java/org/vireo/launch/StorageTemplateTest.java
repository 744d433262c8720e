package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The Felix storage template on real directories: what is linked, what is copied, when it is remade. */
public class StorageTemplateTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private Path home() throws Exception {
        Path home = folder.newFolder("home").toPath();
        Files.createDirectories(home.resolve("lib"));
        Files.createDirectories(home.resolve("bundle/http"));
        Files.writeString(home.resolve("lib/felix.jar"), "felix");
        Files.writeString(home.resolve("bundle/a.jar"), "a");
        Files.writeString(home.resolve("bundle/http/h.jar"), "h");
        return home;
    }

    /** A storage as Felix leaves it after installing one bundle. */
    private Path installedStorage() throws Exception {
        Path storage = folder.newFolder("storage").toPath();
        Files.createDirectories(storage.resolve("bundle1/version0.0"));
        Files.writeString(storage.resolve("bundle1/bundle.info"), "1\nfile:a.jar\n2\n");
        Files.writeString(storage.resolve("bundle1/version0.0/bundle.jar"), "a");
        Files.writeString(storage.resolve("cache.lock"), "");
        return storage;
    }

    @Test
    public void aRunsStorageIsFilledWithLinkedJarsAndCopiedBookkeeping() throws Exception {
        Path home = home();
        StorageTemplate template = StorageTemplate.of(home);
        Path fresh = folder.getRoot().toPath().resolve("fresh");
        assertFalse("no template yet", template.fill(fresh));
        template.save(installedStorage());
        assertTrue(template.fill(fresh));
        Path jar = fresh.resolve("bundle1/version0.0/bundle.jar");
        Path saved = template.directory().resolve("bundle1/version0.0/bundle.jar");
        assertEquals("the jar is the template's, linked", Files.readAttributes(saved, "unix:ino").get("ino"),
                Files.readAttributes(jar, "unix:ino").get("ino"));
        Path info = fresh.resolve("bundle1/bundle.info");
        assertEquals("1\nfile:a.jar\n2\n", Files.readString(info));
        Files.writeString(info, "changed by this run");
        assertEquals("a run's bookkeeping is its own", "1\nfile:a.jar\n2\n", Files.readString(template.directory().resolve("bundle1/bundle.info")));
        assertFalse("each run locks its own storage", Files.exists(fresh.resolve("cache.lock")));
        assertFalse("the identity stays in the template", Files.exists(fresh.resolve(StorageTemplate.IDENTITY_FILE)));
    }

    @Test
    public void aTemplateMadeForOtherJarsIsNotUsedEvenUnderTheSameName() throws Exception {
        StorageTemplate template = StorageTemplate.of(home());
        template.save(installedStorage());
        Files.writeString(template.directory().resolve(StorageTemplate.IDENTITY_FILE), "vireo-felix-storage 1\nother jars\n");
        assertFalse(template.fill(folder.getRoot().toPath().resolve("fresh")));
    }

    @Test
    public void aChangedJarMakesANewTemplateAndTheOldGoes() throws Exception {
        Path home = home();
        StorageTemplate before = StorageTemplate.of(home);
        before.save(installedStorage());
        assertEquals("bundle/http/ is not part of it", before.directory(), withNewTime(home, "bundle/http/h.jar").directory());
        StorageTemplate after = withNewTime(home, "bundle/a.jar");
        assertNotEquals(before.directory(), after.directory());
        after.save(installedStorage2());
        assertTrue(Files.isDirectory(after.directory()));
        assertFalse(Files.exists(before.directory()));
    }

    private Path installedStorage2() throws Exception {
        Path storage = folder.newFolder("storage2").toPath();
        Files.createDirectories(storage.resolve("bundle1/version0.0"));
        Files.writeString(storage.resolve("bundle1/version0.0/bundle.jar"), "a2");
        return storage;
    }

    private static StorageTemplate withNewTime(Path home, String jar) throws Exception {
        Path file = home.resolve(jar);
        Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis() + 10_000));
        return StorageTemplate.of(home);
    }
}
