package org.vireo.virtio.vsock;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.kind.DeviceInstance;
import org.vireo.virtio.kind.DeviceKind;
import org.vireo.virtio.kind.MetaTypeSettings;
import org.vireo.virtio.kind.RunOption;
import org.vireo.virtio.kind.Setting;
import org.vireo.virtio.kind.Settings;

/**
 * The virtio-vsock device kind: settings from {@link VsockDeviceComponent.Config} ({@code cid}, {@code path}),
 * {@code vireo run --vsock cid=N,path=HOST.sock}, and the factory both the configuration component and a run
 * without a framework use.
 */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=vsock")
public final class VsockKind implements DeviceKind {
    static final String CID = "cid";
    static final String PATH = "path";
    static final long DEFAULT_CID = 3;

    private static final List<Setting> SETTINGS = MetaTypeSettings.of(VsockDeviceComponent.Config.class);
    private static final RunOption VSOCK = new RunOption("--vsock", "[cid=N,]path=HOST.sock", false, 60,
            """
            virtio-vsock (vsock0), the guest's CID N (default 3): a host program connects to the Unix
            socket HOST.sock and writes "CONNECT <port>\\n" to reach a guest listener (answer "OK <hostport>\\n");
            a guest connecting to CID 2 port P reaches a host program listening on HOST.sock_P""");

    @Override public String label() { return "vsock"; }

    @Override public String factoryPid() { return VsockDeviceComponent.PID; }

    @Override public int order() { return 60; }

    @Override
    public String description() {
        return "virtio-vsock: guest sockets to host programs through a Unix socket (CONNECT <port>, HOST.sock_PORT)";
    }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(VSOCK); }

    /** {@code cid=N,path=HOST.sock} in any order (a bare value is the path); cid defaults to 3. */
    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        String opt = o.spelled();
        if (o.occurrence() > 0) throw new IllegalArgumentException(opt + " given twice (one vsock device per guest)");
        String value = o.value() == null ? "" : o.value().strip();
        Long cid = null;
        String path = null;
        for (String part : value.split(",")) {
            if (part.isBlank()) continue;
            int eq = part.indexOf('=');
            String key = eq < 0 ? PATH : part.substring(0, eq).strip();
            String v = eq < 0 ? part.strip() : part.substring(eq + 1).strip();
            switch (key) {
                case CID -> cid = parseCid(opt, v);
                case PATH -> {
                    if (v.isEmpty()) throw new IllegalArgumentException(opt + ": path= needs a file name");
                    path = v;
                }
                default -> throw new IllegalArgumentException(opt + ": unknown setting '" + key + "' (use " + opt + " " + VSOCK.value() + ")");
            }
        }
        if (path == null) throw new IllegalArgumentException(opt + " needs path=HOST.sock, the Unix socket host programs connect to");
        Path socket = Path.of(path).toAbsolutePath().normalize();
        Path dir = socket.getParent();
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) {
            throw new IllegalArgumentException(opt + ": no directory " + dir + " for the socket " + socket);
        }
        if (java.nio.file.Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                && (java.nio.file.Files.isRegularFile(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS) || java.nio.file.Files.isDirectory(socket))) {
            throw new IllegalArgumentException(opt + ": " + socket + " exists and is not a socket");
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put(CID, cid == null ? DEFAULT_CID : cid);
        settings.put(PATH, socket.toString());
        return settings;
    }

    private static long parseCid(String opt, String v) {
        long cid;
        try {
            cid = Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(opt + ": cid must be a number from 3 to 4294967294, not '" + v + "'");
        }
        try {
            VsockDevice.checkCid(cid);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(opt + ": " + e.getMessage());
        }
        return cid;
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        Settings s = Settings.of(SETTINGS, settings);
        return name + ": virtio-vsock, guest CID " + s.string(CID) + ", host socket " + s.string(PATH);
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String path = s.string(PATH);
        if (path.isEmpty()) throw new IllegalArgumentException("path is not set: the Unix socket host programs connect to");
        String cidText = s.string(CID);
        long cid;
        try {
            cid = Long.parseLong(cidText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cid must be a number from 3 to 4294967294, not \"" + cidText + "\"");
        }
        VsockDevice device = VsockDevice.open(Path.of(path), cid, s.string(Setting.DEVICE_NAME));
        return new DeviceInstance(device, Map.of(CID, cid, PATH, path), device::close);
    }
}
