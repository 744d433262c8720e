package org.vireo.virtio.net;

import java.io.IOException;
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
import org.vireo.virtio.net.slirp.SlirpBackend;
import org.vireo.virtio.net.slirp.UserNetConfig;

/** The virtio-net device kind: settings from {@link NetDeviceComponent.Config}, {@code vireo run --net}, the factory. */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=net")
public final class NetKind implements DeviceKind {
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(NetDeviceComponent.Config.class);
    private static final RunOption NET = new RunOption("--net", "MODE", false, 20, """
            virtio-net (net0): "user" = user-mode networking (libslirp: DHCP gives the guest 10.0.2.15,
            the gateway 10.0.2.2 is the host's 127.0.0.1; options as in user,hostfwd=tcp::HOSTPORT-:PORT),
            "tap:IFNAME" = a Linux TAP interface (needs CAP_NET_ADMIN), "none" = no NIC (default)""");

    @Override public String label() { return "net"; }

    @Override public String factoryPid() { return NetDeviceComponent.PID; }

    @Override public int order() { return 20; }

    @Override public String description() { return "virtio-net: a NIC on an in-JVM link, a TAP interface or user-mode networking (libslirp)"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(NET); }

    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        if (o.occurrence() > 0) throw new IllegalArgumentException(o.spelled() + " given twice: this machine has one network card");
        String value = o.value();
        if (value.equals("none")) return null;
        if (value.equals("user") || value.startsWith("user,")) return Map.of("backend", value);
        if (value.startsWith("tap:")) {
            String ifname = value.substring(4);
            // IFNAMSIZ is 16 with the NUL; the kernel also refuses '/', ':' and white space in names.
            if (ifname.isEmpty() || ifname.length() > 15 || !ifname.chars().allMatch(c -> c > ' ' && c < 127 && c != '/' && c != ':')) {
                throw new IllegalArgumentException(o.spelled() + " " + value + ": \"" + ifname + "\" is not an interface name (1 to 15 characters, no / or :)");
            }
            return Map.of("backend", value);
        }
        throw new IllegalArgumentException(o.spelled() + " wants user, tap:IFNAME or none, not \"" + value + "\"");
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        String backend = Settings.of(SETTINGS, settings).string("backend");
        return String.format("%s: virtio-net, %s", name, backend.startsWith("user")
                ? "user-mode networking (" + backend + "; DHCP 10.0.2.15, gateway 10.0.2.2 = host 127.0.0.1)" : backend);
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String name = s.string(Setting.DEVICE_NAME);
        byte[] mac = s.string("mac").isEmpty() ? MacAddress.derive(s.string(Setting.MACHINE) + "/" + name) : MacAddress.parse(s.string("mac"));
        String backendSpec = s.string("backend").isEmpty() ? "link:" + name : s.string("backend");
        FrameBackend backend = createBackend(backendSpec);
        NetDevice device;
        try {
            device = new NetDevice(mac, backend, name);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        return new DeviceInstance(device, Map.of("backend", backendSpec, "mac", MacAddress.format(mac)), device::close);
    }

    static FrameBackend createBackend(String spec) throws IOException {
        if (spec.equals("none")) return new NoneBackend();
        if (spec.startsWith("link:") && spec.length() > "link:".length()) return new LinkBackend(spec.substring(5));
        if (spec.startsWith("tap:") && spec.length() > "tap:".length()) return TapBackend.open(spec.substring(4));
        if (spec.equals("user") || spec.startsWith("user,")) return SlirpBackend.open(UserNetConfig.parse(spec));
        throw new IllegalArgumentException("unknown backend \"" + spec + "\": use link:NAME, tap:IFNAME, user[,hostfwd=...] or none");
    }
}
