package org.vireo.virtio.vsock;

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
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.kind.DeviceInstance;
import org.vireo.virtio.kind.RunOption;
import org.vireo.virtio.kind.Setting;

public class VsockKindTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final VsockKind kind = new VsockKind();

    private Map<String, Object> parse(String value, int occurrence) {
        RunOption o = kind.runOptions().get(0);
        return kind.parseRunOption(new RunOption.Occurrence(o, o.name(), value, "vsock0", List.of(), occurrence));
    }

    private void refused(String value, String message) {
        try {
            parse(value, 0);
            fail("--vsock " + value + " accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("--vsock"));
            assertTrue(e.getMessage(), e.getMessage().contains(message));
        }
    }

    @Test
    public void theRunOptionTakesCidAndPath() {
        assertEquals("--vsock", kind.runOptions().get(0).name());
        assertEquals(Map.of("cid", 7L, "path", "/tmp/v.sock"), parse("cid=7,path=/tmp/v.sock", 0));
        assertEquals(Map.of("cid", 3L, "path", "/tmp/v.sock"), parse("path=/tmp/v.sock", 0));
        assertEquals(Map.of("cid", 9L, "path", "/tmp/v.sock"), parse("path=/tmp/v.sock,cid=9", 0));
        assertEquals(Path.of("rel.sock").toAbsolutePath().toString(), parse("rel.sock", 0).get("path"));
    }

    @Test
    public void badRunOptionsSayWhy() {
        refused("cid=3", "needs path=");
        refused("cid=2,path=/tmp/v", "reserved");
        refused("cid=x,path=/tmp/v", "cid must be a number");
        refused("cid=4294967295,path=/tmp/v", "outside");
        refused("port=1,path=/tmp/v", "unknown setting 'port'");
        refused("path=", "needs a file name");
        refused("path=/nonexistent-dir/v.sock", "no directory /nonexistent-dir");
        refused("path=" + tmp.getRoot(), "is not a socket");
        try {
            parse("path=/tmp/v", 1);
            fail("a second --vsock");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("twice"));
        }
    }

    @Test
    public void settingsComeFromMetaType() {
        assertTrue(kind.settings().stream().anyMatch(s -> s.key().equals("cid") && "3".equals(s.defaultValue())));
        assertTrue(kind.settings().stream().anyMatch(s -> s.key().equals("path") && s.needed()));
        assertTrue(kind.settings().stream().anyMatch(s -> s.key().equals(Setting.DEVICE_NAME)));
        assertEquals("vsock", kind.defaultName());
    }

    @Test
    public void theFactoryMakesAListeningDevice() throws Exception {
        Path sock = tmp.getRoot().toPath().resolve("k.sock");
        Map<String, Object> settings = parse("cid=5,path=" + sock, 0);
        assertEquals("vsock0: virtio-vsock, guest CID 5, host socket " + sock, kind.describe("vsock0", settings));
        try (DeviceInstance d = kind.create(settings, DeviceEnvironment.none())) {
            assertEquals(VsockDevice.DEVICE_ID, d.device().deviceId());
            assertEquals(5, d.device().readConfig(0, 4));
            assertTrue(Files.exists(sock));
        }
        assertTrue("closed: the socket file is gone", Files.notExists(sock));
        try {
            kind.create(Map.of("cid", "many", "path", sock.toString()), DeviceEnvironment.none());
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("cid must be a number"));
        }
    }
}
