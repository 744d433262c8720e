package org.vireo.shell.impl;

import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.vireo.shell.api.ConflictException;
import org.vireo.shell.api.NotFoundException;

/** The logic of dev:list, dev:add and dev:remove over a {@link DeviceStore}; results are text for the shell. */
final class DeviceManager {
    /** A plugged device, as its transport reports it. */
    record Plugged(String machine, String deviceName, String address) {}

    private final DeviceStore store;

    DeviceManager(DeviceStore store) { this.store = store; }

    String list(String machine, List<Plugged> plugged) throws IOException {
        return ShellFormatter.devices(configs(machine), plugged);
    }

    /** The device configurations of {@code machine} (null: all), sorted by machine and name. */
    List<DeviceConfig> configs(String machine) throws IOException {
        return store.devices().stream()
                .filter(d -> machine == null || machine.equals(d.machine()))
                .sorted(Comparator.comparing(DeviceConfig::machine).thenComparing(DeviceConfig::name))
                .toList();
    }

    String add(DeviceRequest request) throws IOException {
        for (DeviceConfig existing : store.devices()) {
            if (existing.name().equals(request.name()) && existing.machine().equals(request.machine())) {
                throw new ConflictException("Machine " + request.machine() + " already has a device named " + request.name()
                        + " (" + existing.type().label() + ").");
            }
        }
        store.create(request.type().factoryPid(), request.machine() + "-" + request.name(), request.properties());
        return "Added " + request.type().label() + " device " + request.name() + " on machine " + request.machine() + ".";
    }

    /** Removes the device {@code name}; without {@code machine}, the name must be unambiguous. */
    String remove(String name, String machine) throws IOException {
        List<DeviceConfig> matches = store.devices().stream()
                .filter(d -> d.name().equals(name) && (machine == null || machine.equals(d.machine())))
                .toList();
        if (matches.isEmpty()) {
            throw new NotFoundException("No device named " + name + (machine == null ? "" : " on machine " + machine) + ".");
        }
        if (matches.size() > 1) {
            Set<String> machines = new java.util.TreeSet<>(matches.stream().map(DeviceConfig::machine).toList());
            throw new IllegalArgumentException("Several machines have a device named " + name + " (" + String.join(", ", machines)
                    + "): say which, e.g. dev:remove " + name + " " + machines.iterator().next() + ".");
        }
        DeviceConfig device = matches.getFirst();
        store.delete(device.pid());
        return "Removed " + device.type().label() + " device " + name + " from machine " + device.machine() + ".";
    }
}
