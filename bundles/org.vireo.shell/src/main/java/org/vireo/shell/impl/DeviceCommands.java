package org.vireo.shell.impl;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.kind.DeviceKind;

/** Gogo commands {@code dev:list}, {@code dev:add}, {@code dev:remove} over the device configurations in ConfigurationAdmin. */
@Component(service = DeviceCommands.class, property = {
        "osgi.command.scope=dev",
        "osgi.command.function=list",
        "osgi.command.function=add",
        "osgi.command.function=remove",
        "osgi.command.function=kinds",
        "osgi.command.function=dev"})
public final class DeviceCommands {
    private final List<VirtioTransportInfo> plugged = new CopyOnWriteArrayList<>();
    private final DeviceTypes types;
    private final DeviceManager manager;

    @Activate
    public DeviceCommands(@Reference ConfigurationAdmin configAdmin) {
        this(new DeviceTypes(), configAdmin);
    }

    private DeviceCommands(DeviceTypes types, ConfigurationAdmin configAdmin) {
        this.types = types;
        this.manager = new DeviceManager(new ConfigAdminStore(configAdmin, types));
    }

    @Reference(service = DeviceKind.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeKind")
    void addKind(DeviceKind kind) { types.add(kind); }

    void removeKind(DeviceKind kind) { types.remove(kind); }

    @Reference(service = VirtioTransportInfo.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice")
    void addDevice(VirtioTransportInfo info) { plugged.add(info); }

    void removeDevice(VirtioTransportInfo info) { plugged.remove(info); }

    @Descriptor("Virtio devices: lists the dev: commands (dev:list, dev:add, dev:remove, dev:kinds)")
    public String dev() { return CommandOverview.of("dev", DeviceCommands.class); }

    @Descriptor("List every virtio device configuration: name, type, machine, transport, whether it is plugged, settings")
    public String list() throws IOException { return manager.list(null, plugged()); }

    @Descriptor("List the virtio device configurations of one machine")
    public String list(@Descriptor("the machine's name, e.g. java") String machine) throws IOException {
        return manager.list(machine, plugged());
    }

    @Descriptor("Configure a new virtio device (machine.name defaults to java, virtio.transport to mmio)")
    public String add(
            @Descriptor("the device type: blk, net, console or rng, or any other kind dev:kinds lists") String type,
            @Descriptor("the device's name, unique on its machine, e.g. rng1") String name,
            @Descriptor("settings as key=value: machine.name, virtio.transport (mmio|pci), virtio.ring (split|packed), and the "
                    + "type's own (dev:kinds TYPE lists them)") String... settings) throws IOException {
        return manager.add(DeviceRequest.parse(types, type, name, Arrays.asList(settings)));
    }

    @Descriptor("List the device types present (each comes with its bundle): type, factory PID, what it is, its settings")
    public String kinds() { return ShellFormatter.kinds(types.all()); }

    @Descriptor("Describe one device type: its settings (type, default, what each does) and its vireo run options")
    public String kinds(@Descriptor("the device type, e.g. blk") String type) { return ShellFormatter.kind(types.of(type)); }

    @Descriptor("Delete a virtio device configuration (the device is unplugged)")
    public String remove(@Descriptor("the device's name") String name) throws IOException {
        return manager.remove(name, null);
    }

    @Descriptor("Delete the virtio device configuration of one machine (the device is unplugged)")
    public String remove(@Descriptor("the device's name") String name, @Descriptor("the machine's name") String machine) throws IOException {
        return manager.remove(name, machine);
    }

    private List<DeviceManager.Plugged> plugged() {
        return plugged.stream().map(i -> new DeviceManager.Plugged(i.machine(), i.deviceName(), i.transport() + " " + i.address())).toList();
    }

    /** Device configurations in ConfigurationAdmin: every factory configuration of the device kinds present. */
    record ConfigAdminStore(ConfigurationAdmin configAdmin, DeviceTypes types) implements DeviceStore {
        @Override
        public List<DeviceConfig> devices() throws IOException {
            List<DeviceType> known = types.all();
            if (known.isEmpty()) return new ArrayList<>();
            String filter = known.stream().map(t -> "(service.factoryPid=" + t.factoryPid() + ")")
                    .collect(Collectors.joining("", "(|", ")"));
            Configuration[] configurations;
            try {
                configurations = configAdmin.listConfigurations(filter);
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(filter, e);
            }
            List<DeviceConfig> out = new ArrayList<>();
            if (configurations == null) return out;
            for (Configuration c : configurations) {
                Dictionary<String, Object> props = c.getProperties();
                if (props == null || c.getFactoryPid() == null) continue;
                types.byFactoryPid(c.getFactoryPid()).ifPresent(type -> out.add(new DeviceConfig(c.getPid(), type, toMap(props))));
            }
            return out;
        }

        @Override
        public void create(String factoryPid, String alias, Map<String, Object> properties) throws IOException {
            Configuration c = configAdmin.getFactoryConfiguration(factoryPid, alias, "?");
            if (c.getProperties() != null) {
                throw new IllegalArgumentException("The configuration " + c.getPid() + " already exists.");
            }
            c.update(new Hashtable<>(properties));
        }

        @Override
        public void delete(String pid) throws IOException {
            Configuration[] found;
            try {
                found = configAdmin.listConfigurations("(service.pid=" + pid.replaceAll("([\\\\()*])", "\\\\$1") + ")");
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(pid, e);
            }
            if (found == null) throw new IllegalArgumentException("The configuration " + pid + " is already gone.");
            for (Configuration c : found) c.delete();
        }

        private static Map<String, Object> toMap(Dictionary<String, Object> dictionary) {
            Map<String, Object> map = new HashMap<>();
            for (Enumeration<String> keys = dictionary.keys(); keys.hasMoreElements(); ) {
                String key = keys.nextElement();
                map.put(key, dictionary.get(key));
            }
            return map;
        }
    }
}
