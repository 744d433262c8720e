package org.vireo.shell.impl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.bus.IoBus;
import org.vireo.bus.IoRange;
import org.vireo.bus.pci.PciBus;
import org.vireo.bus.pci.PciFunction;
import org.vireo.machine.Machine;
import org.vireo.memory.MemoryRegion;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.VirtioTransportInfo;

/**
 * Gogo commands {@code vm:list} and {@code vm:info} over the Machine services and the configured VMs (VirtualMachine
 * services of org.vireo.vmm, read through their {@code vm.name}/{@code vm.state} properties and {@link VmAccess}).
 */
@Component(service = MachineCommands.class, property = {
        "osgi.command.scope=vm",
        "osgi.command.function=list",
        "osgi.command.function=info",
        "osgi.command.function=vm"})
public final class MachineCommands {
    static final String KIND_PROPERTY = "machine.kind";

    private final Map<Machine, String> kinds = new ConcurrentHashMap<>();
    private final List<VirtioTransportInfo> plugged = new CopyOnWriteArrayList<>();
    private volatile BundleContext context;

    @Activate
    void activate(BundleContext bundleContext) { this.context = bundleContext; }

    @Reference(service = Machine.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeMachine")
    void addMachine(Machine machine, Map<String, Object> properties) {
        Object kind = properties.get(KIND_PROPERTY);
        kinds.put(machine, kind != null ? kind.toString() : machine.javaGuest().isPresent() ? "java-guest" : "-");
    }

    void removeMachine(Machine machine) { kinds.remove(machine); }

    @Reference(service = VirtioTransportInfo.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice")
    void addDevice(VirtioTransportInfo info) { plugged.add(info); }

    void removeDevice(VirtioTransportInfo info) { plugged.remove(info); }

    @Descriptor("Machines and VMs: lists the vm: commands (vm:list, vm:info, vm:create, vm:start, vm:stop, vm:delete, vm:console)")
    public String vm() { return CommandOverview.of("vm", MachineCommands.class, VmCommands.class); }

    @Descriptor("List the machines (name, kind, memory size, plugged virtio devices) and the configured VMs with their state")
    public String list() {
        String machines = ShellFormatter.machines(kinds.keySet().stream().map(this::view).sorted(Comparator.comparing(MachineView::name)).toList());
        List<String[]> vms = vmReferences(null).stream().map(r -> new String[] {
                String.valueOf(r.getProperty("vm.name")), String.valueOf(r.getProperty("vm.state"))})
                .sorted(Comparator.comparing((String[] row) -> row[0])).toList();
        if (vms.isEmpty()) return machines;
        return machines + "\n\n" + ShellFormatter.table(new String[] {"VM", "STATE"}, vms);
    }

    @Descriptor("Show one machine: memory, mmio and pio windows, PCI slots in use, virtio devices; for a VM also its settings and state")
    public String info(@Descriptor("the machine's name (or a configured VM's), e.g. java") String name) {
        String vm = null;
        List<ServiceReference<?>> refs = vmReferences(name);
        if (!refs.isEmpty()) {
            Object service = context.getService(refs.getFirst());
            if (service != null) {
                try {
                    vm = VmAccess.describe(service);
                } finally {
                    context.ungetService(refs.getFirst());
                }
            }
        }
        for (Machine m : kinds.keySet()) {
            if (m.name().equals(name)) return (vm != null ? vm + "\n" : "") + ShellFormatter.machine(view(m));
        }
        if (vm != null) return vm;
        throw new IllegalArgumentException("No machine named " + name + ".");
    }

    /** The VirtualMachine services, all or the one named; empty without org.vireo.vmm. */
    private List<ServiceReference<?>> vmReferences(String name) {
        BundleContext c = context;
        if (c == null) return List.of();
        try {
            ServiceReference<?>[] refs = c.getServiceReferences(VmCommands.VM_SERVICE, name == null ? null : "(vm.name=" + VirtioProperties.filterValue(name) + ")");
            return refs == null ? List.of() : List.of(refs);
        } catch (InvalidSyntaxException | IllegalStateException e) {
            return List.of();
        }
    }

    private MachineView view(Machine m) {
        List<String> regions = new ArrayList<>();
        for (MemoryRegion r : m.memory().regions()) regions.add(String.format("0x%x +%s", r.base(), ShellFormatter.size(r.size())));
        List<DeviceManager.Plugged> devices = plugged.stream().filter(i -> m.name().equals(i.machine()))
                .map(i -> new DeviceManager.Plugged(i.machine(), i.deviceName(), i.transport() + " " + i.address()))
                .sorted(Comparator.comparing(DeviceManager.Plugged::deviceName)).toList();
        return new MachineView(m.name(), kinds.getOrDefault(m, "-"), m.memory().size(), regions,
                ranges(m.mmio()), ranges(m.pio()), slots(m.pci()), devices);
    }

    private static List<String> ranges(IoBus bus) {
        if (bus == null) return List.of();
        return bus.ranges().stream().map(IoRange::toString).toList();
    }

    static List<String> slots(PciBus pci) {
        if (pci == null) return List.of();
        List<String> out = new ArrayList<>();
        for (int slot = 0; slot < PciBus.SLOTS; slot++) {
            PciFunction f = pci.function(slot);
            if (f != null) {
                out.add(String.format("00:%02x.0 vendor %04x device %04x", slot, f.configRead(0, 2) & 0xffff, f.configRead(2, 2) & 0xffff));
            }
        }
        return out;
    }
}
