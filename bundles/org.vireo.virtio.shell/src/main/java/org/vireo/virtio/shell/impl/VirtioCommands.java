package org.vireo.virtio.shell.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.bus.VirtioBus;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.driver.VirtioDriver;

/** Gogo commands {@code virtio:devices} and {@code virtio:drivers}; each returns formatted text. */
@Component(service = VirtioCommands.class, property = {
        "osgi.command.scope=virtio",
        "osgi.command.function=devices",
        "osgi.command.function=drivers"})
public final class VirtioCommands {
    private final List<VirtioTransportInfo> devices = new CopyOnWriteArrayList<>();
    private final List<VirtioDriver> drivers = new CopyOnWriteArrayList<>();
    private final List<Machine> machines = new CopyOnWriteArrayList<>();
    private final List<VirtioBus> buses = new CopyOnWriteArrayList<>();

    @Reference(service = VirtioTransportInfo.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice")
    void addDevice(VirtioTransportInfo info) { devices.add(info); }

    void removeDevice(VirtioTransportInfo info) { devices.remove(info); }

    @Reference(service = VirtioDriver.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDriver")
    void addDriver(VirtioDriver driver) { drivers.add(driver); }

    void removeDriver(VirtioDriver driver) { drivers.remove(driver); }

    @Reference(service = Machine.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeMachine")
    void addMachine(Machine machine) { machines.add(machine); }

    void removeMachine(Machine machine) { machines.remove(machine); }

    @Reference(service = VirtioBus.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeBus")
    void addBus(VirtioBus bus) { buses.add(bus); }

    void removeBus(VirtioBus bus) { buses.remove(bus); }

    @Descriptor("List every virtio device: type, machine, transport and address, status, features, queues, backend and driver")
    public String devices() {
        return VirtioFormatter.devices(List.copyOf(devices), driversByDevice(bindings()));
    }

    @Descriptor("Show one virtio device")
    public String devices(
            @Descriptor("the device's name (e.g. java/mmio@0xd0000000) or its configured name (e.g. disk0)") String name) {
        for (VirtioTransportInfo info : devices) {
            if (name.equals(info.name()) || name.equals(info.deviceName())) {
                return VirtioFormatter.device(info, driversByDevice(bindings()).getOrDefault(info.name(), VirtioFormatter.NONE));
            }
        }
        return "No virtio device named " + name + ".";
    }

    @Descriptor("List the Java virtio drivers with their id tables, features and the devices they drive")
    public String drivers() {
        List<Binding> bindings = bindings();
        List<VirtioFormatter.DriverView> views = new ArrayList<>();
        for (VirtioDriver d : drivers) {
            String name = d.name();
            List<String> bound = bindings.stream().filter(b -> name.equals(b.driver())).map(Binding::device).toList();
            views.add(new VirtioFormatter.DriverView(name, List.copyOf(d.idTable()), d.supportedFeatures(), bound));
        }
        return VirtioFormatter.drivers(views);
    }

    private List<Binding> bindings() {
        List<Binding> all = new ArrayList<>();
        for (VirtioBus bus : buses) all.addAll(bus.bindings());
        return all;
    }

    private Map<String, String> driversByDevice(List<Binding> bindings) {
        Map<String, Binding> byDevice = new HashMap<>();
        for (Binding b : bindings) byDevice.put(b.device(), b);
        Map<String, Boolean> javaGuest = new HashMap<>();
        for (Machine m : machines) javaGuest.put(m.name(), m.javaGuest().isPresent());
        Map<String, String> result = new HashMap<>();
        for (VirtioTransportInfo info : devices) result.put(info.name(), VirtioFormatter.driverOf(info, byDevice, javaGuest));
        return result;
    }
}
