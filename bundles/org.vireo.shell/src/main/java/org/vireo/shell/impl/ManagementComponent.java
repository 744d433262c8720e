package org.vireo.shell.impl;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.shell.api.ConflictException;
import org.vireo.shell.api.Management;
import org.vireo.shell.api.NotFoundException;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.kind.DeviceKind;

/**
 * The {@link Management} service: the logic behind vm:create/start/stop/delete/console and dev:list/add/remove, shared
 * by the shell commands (VmCommands delegates here; DeviceCommands uses the same DeviceManager and DeviceRequest) and
 * other front ends such as the HTTP API. VMs are looked up by service properties and handled through
 * {@link VmAccess}, so this class loads without org.vireo.vmm (the VM methods then say no VM exists).
 */
@Component(service = {Management.class, ManagementComponent.class})
public final class ManagementComponent implements Management {
    static final String VM_SERVICE = "org.vireo.vmm.api.VirtualMachine";

    private final ConfigurationAdmin configAdmin;
    private final BundleContext context;
    private final DeviceManager devices;
    private final List<VirtioTransportInfo> plugged = new CopyOnWriteArrayList<>();
    private final DeviceTypes types = new DeviceTypes();

    @Activate
    public ManagementComponent(@Reference ConfigurationAdmin configAdmin, BundleContext context) {
        this.configAdmin = configAdmin;
        this.context = context;
        this.devices = new DeviceManager(new DeviceCommands.ConfigAdminStore(configAdmin, types));
    }

    @Reference(service = VirtioTransportInfo.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice")
    void addDevice(VirtioTransportInfo info) { plugged.add(info); }

    @Reference(service = DeviceKind.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeKind")
    void addKind(DeviceKind kind) { types.add(kind); }

    void removeKind(DeviceKind kind) { types.remove(kind); }

    void removeDevice(VirtioTransportInfo info) { plugged.remove(info); }

    @Override
    public List<String> deviceTypes() {
        return types.all().stream().map(DeviceType::label).toList();
    }

    @Override
    public List<VmView> vms() {
        List<VmView> out = new ArrayList<>();
        for (ServiceReference<?> r : references(VM_SERVICE, null)) {
            String name = String.valueOf(r.getProperty("vm.name"));
            out.add(view(name, r));
        }
        out.sort(Comparator.comparing(VmView::name));
        return out;
    }

    @Override
    public Optional<VmView> vm(String name) {
        List<ServiceReference<?>> refs = references(VM_SERVICE, "(vm.name=" + VirtioProperties.filterValue(name) + ")");
        return refs.isEmpty() ? Optional.empty() : Optional.of(view(name, refs.getFirst()));
    }

    private VmView view(String name, ServiceReference<?> ref) {
        Map<String, Object> settings = new TreeMap<>();
        try {
            Configuration c = configuration(name);
            if (c != null && c.getProperties() != null) {
                for (Enumeration<String> keys = c.getProperties().keys(); keys.hasMoreElements(); ) {
                    String key = keys.nextElement();
                    if (!key.startsWith("service.") && !key.startsWith("felix.")) settings.put(key, c.getProperties().get(key));
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // the configuration is being deleted: the settings are simply not shown
        }
        String description = null;
        Object vm = context.getService(ref);
        if (vm != null) {
            try {
                description = VmAccess.describe(vm);
            } finally {
                context.ungetService(ref);
            }
        }
        return new VmView(name, String.valueOf(ref.getProperty("vm.state")), settings, description);
    }

    @Override
    public String createVm(String name, List<String> settings) {
        VmRequest request = VmRequest.parse(name, settings);
        try {
            if (configuration(name) != null) throw new ConflictException("A VM named " + name + " already exists.");
            if (!references("org.vireo.machine.Machine", "(machine.name=" + VirtioProperties.filterValue(name) + ")").isEmpty()) {
                throw new ConflictException("A machine named " + name + " already exists.");
            }
            Configuration c = configAdmin.getFactoryConfiguration(VmRequest.FACTORY_PID, name, "?");
            c.update(new Hashtable<>(request.properties()));
            return "Created VM " + name + " (" + c.getPid() + "); start it with vm:start " + name + ".";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String startVm(String name) {
        VmAccess.start(vmService(name));
        return "Started VM " + name + "; vm:console " + name + " shows its serial console.";
    }

    @Override
    public String stopVm(String name, boolean force, int timeoutSeconds) {
        if (timeoutSeconds < 0) throw new IllegalArgumentException("--timeout must be 0 or more seconds, not " + timeoutSeconds);
        Object vm = vmService(name);
        if (!"RUNNING".equals(VmAccess.state(vm))) return "VM " + name + " is not running (" + VmAccess.state(vm) + ").";
        if (force) {
            VmAccess.stop(vm);
            return "VM " + name + " is " + VmAccess.state(vm) + ".";
        }
        boolean poweredOff = VmAccess.shutdown(vm, timeoutSeconds * 1000L);
        return "VM " + name + " is " + VmAccess.state(vm) + (poweredOff ? " (the guest powered off)."
                : " (stopped: it has no ACPI power button, or did not power off within " + timeoutSeconds + " s of its press).");
    }

    @Override
    public String deleteVm(String name) {
        try {
            Configuration c = configuration(name);
            if (c == null) throw new NotFoundException("No VM named " + name + ".");
            c.delete();
            return "Deleted VM " + name + ".";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public byte[] consoleOutput(String vm) { return VmAccess.output(vmService(vm)); }

    @Override
    public ConsoleAttachment attachConsole(String vm, OutputStream out) {
        VmAccess.Console console = VmAccess.attach(vmService(vm), out);
        return new ConsoleAttachment() {
            @Override public void send(byte[] bytes, int offset, int length) { console.send(bytes, offset, length); }

            @Override public void close() { console.close(); }
        };
    }

    @Override
    public List<DeviceView> devices(String machine) {
        try {
            List<DeviceView> out = new ArrayList<>();
            for (DeviceConfig d : devices.configs(machine)) {
                String at = plugged.stream().filter(p -> d.machine().equals(p.machine()) && d.name().equals(p.deviceName()))
                        .map(p -> p.transport() + " " + p.address()).findFirst().orElse(null);
                out.add(new DeviceView(d.name(), d.type().label(), d.machine(), d.transport(), at, d.settings()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String addDevice(String type, String name, List<String> settings) {
        try {
            return devices.add(DeviceRequest.parse(types, type, name, settings));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String removeDevice(String name, String machine) {
        try {
            return devices.remove(name, machine);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The VirtualMachine service named {@code name} (as Object: its API is optional), or NotFoundException. */
    Object vmService(String name) {
        var refs = references(VM_SERVICE, "(vm.name=" + VirtioProperties.filterValue(name) + ")");
        if (refs.isEmpty()) {
            String why;
            try {
                why = configuration(name) != null
                        ? " (it is configured but has no service: is org.vireo.vmm deployed, or was its configuration refused? see the log)" : "";
            } catch (IOException e) {
                why = "";
            }
            throw new NotFoundException("No VM named " + name + why + ".");
        }
        Object vm = context.getService(refs.getFirst());
        if (vm == null) throw new NotFoundException("VM " + name + " just went away.");
        context.ungetService(refs.getFirst()); // the service is a singleton held by its bundle; the call is short
        return vm;
    }

    private List<ServiceReference<?>> references(String clazz, String filter) {
        try {
            ServiceReference<?>[] refs = context.getServiceReferences(clazz, filter);
            return refs == null ? List.of() : List.of(refs);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("Bad name in filter " + filter + ".");
        } catch (IllegalStateException e) {
            return List.of(); // the bundle is stopping
        }
    }

    private Configuration configuration(String name) throws IOException {
        try {
            Configuration[] found = configAdmin.listConfigurations("(&(service.factoryPid=" + VmRequest.FACTORY_PID + ")(machine.name=" + VirtioProperties.filterValue(name) + "))");
            return found == null || found.length == 0 ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("Bad VM name " + name + ".");
        }
    }


}
