package org.vireo.virtio.console;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
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
 * The virtio-console device kind: settings from {@link ConsoleDeviceComponent.Config}, {@code vireo run
 * --console-device}, the factory. Backend {@value #TERMINAL} writes to the machine's terminal
 * ({@link DeviceEnvironment#terminal()}), without input: the keyboard belongs to the serial console there.
 */
@Component(service = DeviceKind.class, property = DeviceKind.LABEL_PROPERTY + "=console")
public final class ConsoleKind implements DeviceKind {
    /** The backend that writes to the terminal of the machine's {@code vireo run}. */
    static final String TERMINAL = "terminal";
    private static final List<Setting> SETTINGS = MetaTypeSettings.of(ConsoleDeviceComponent.Config.class);
    private static final RunOption CONSOLE = new RunOption("--console-device", "virtio[,file=PATH]", false, 40, """
            virtio-console (console0, the guest's /dev/hvc0): its output goes to this terminal, or is
            appended to PATH with file=PATH; it takes no input (the keyboard goes to ttyS0)""");

    @Override public String label() { return "console"; }

    @Override public String factoryPid() { return ConsoleDeviceComponent.PID; }

    @Override public int order() { return 30; }

    @Override public String description() { return "virtio-console: one port to stdio, a file, an in-JVM link or vireo run's terminal"; }

    @Override public List<Setting> settings() { return SETTINGS; }

    @Override public List<RunOption> runOptions() { return List.of(CONSOLE); }

    @Override
    public Map<String, Object> parseRunOption(RunOption.Occurrence o) {
        String option = o.spelled(), value = o.value();
        if (o.occurrence() > 0) throw new IllegalArgumentException(option + " given twice");
        if (value.equals("virtio")) return Map.of("backend", TERMINAL);
        if (value.startsWith("virtio,file=")) {
            String name = value.substring("virtio,file=".length());
            if (name.isEmpty()) throw new IllegalArgumentException(option + " file= needs a file name");
            Path file;
            try {
                file = Path.of(name).toAbsolutePath();
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException(option + " file=: bad file name " + name + " (" + e.getReason() + ")");
            }
            Path dir = file.getParent();
            if (Files.isDirectory(file)) throw new IllegalArgumentException(option + ": " + file + " is a directory");
            if (dir != null && !Files.isDirectory(dir)) throw new IllegalArgumentException(option + ": no directory " + dir + " for " + file.getFileName());
            return Map.of("backend", "file:" + file);
        }
        throw new IllegalArgumentException(option + " wants virtio or virtio,file=PATH, not \"" + value + "\"");
    }

    @Override
    public String describe(String name, Map<String, ?> settings) {
        String backend = Settings.of(SETTINGS, settings).string("backend");
        String to = backend.equals(TERMINAL) ? "this terminal" : backend.startsWith("file:") ? backend.substring(5) : backend;
        return name + ": virtio-console (hvc0) to " + to;
    }

    @Override
    public DeviceInstance create(Map<String, ?> configuration, DeviceEnvironment environment) throws IOException {
        Settings s = Settings.of(SETTINGS, configuration);
        String name = s.string(Setting.DEVICE_NAME);
        String backendSpec = s.string("backend").isEmpty() ? "link:" + name : s.string("backend");
        ConsoleBackend backend = createBackend(backendSpec, name, s.string(Setting.MACHINE), environment);
        ConsoleDevice device;
        try {
            device = new ConsoleDevice(backend, name);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        return new DeviceInstance(device, Map.of("backend", backendSpec), device::close);
    }

    static ConsoleBackend createBackend(String spec, String name, String machine, DeviceEnvironment environment) throws IOException {
        if (spec.equals("stdio")) return StdioBackend.system();
        if (spec.equals(TERMINAL)) {
            OutputStream terminal = environment.terminal().orElseThrow(() -> new IllegalArgumentException(
                    "backend terminal: machine " + machine + " has no terminal (only the machine of vireo run has one)"));
            return new StdioBackend(null, terminal, name);
        }
        if (spec.startsWith("link:") && spec.length() > "link:".length()) return new LinkBackend(spec.substring(5));
        if (spec.startsWith("file:") && spec.length() > "file:".length()) {
            try {
                return new FileBackend(Path.of(spec.substring(5)));
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException("bad console file path \"" + spec.substring(5) + "\": " + e.getMessage());
            }
        }
        throw new IllegalArgumentException("unknown backend \"" + spec + "\": use stdio, file:PATH, link:NAME or terminal");
    }
}
