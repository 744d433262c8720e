package org.vireo.shell.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class DeviceManagerTest {
    /** ConfigurationAdmin stand-in: configurations by PID. */
    private static final class MapStore implements DeviceStore {
        final Map<String, DeviceConfig> configs = new LinkedHashMap<>();

        @Override public List<DeviceConfig> devices() { return new ArrayList<>(configs.values()); }

        @Override public void create(String factoryPid, String alias, Map<String, Object> properties) {
            String pid = factoryPid + "~" + alias;
            configs.put(pid, new DeviceConfig(pid, DeviceRequestTest.TYPES.byFactoryPid(factoryPid).orElseThrow(), properties));
        }

        @Override public void delete(String pid) {
            if (configs.remove(pid) == null) throw new IllegalStateException("no " + pid);
        }
    }

    private final MapStore store = new MapStore();
    private final DeviceManager manager = new DeviceManager(store);

    private String add(String type, String name, String... settings) throws Exception {
        return manager.add(DeviceRequest.parse(DeviceRequestTest.TYPES, type, name, List.of(settings)));
    }

    @Test
    public void addCreatesAFactoryConfigurationWithDefaults() throws Exception {
        String message = add("rng", "rng9");
        assertEquals("Added rng device rng9 on machine java.", message);
        DeviceConfig config = store.configs.get("org.vireo.virtio.rng~java-rng9");
        assertEquals(Map.of("virtio.device.name", "rng9", "machine.name", "java", "virtio.transport", "mmio"), config.properties());
    }

    @Test
    public void addTypesSettings() throws Exception {
        add("blk", "disk3", "path=/tmp/x.img", "readonly=true", "machine.name=vm", "virtio.transport=pci");
        DeviceConfig config = store.configs.get("org.vireo.virtio.blk~vm-disk3");
        assertEquals(Boolean.TRUE, config.properties().get("readonly"));
        assertEquals("pci", config.transport());
        assertEquals("vm", config.machine());
        assertEquals(Map.of("path", "/tmp/x.img", "readonly", true), config.settings());
    }

    @Test
    public void addRefusesADuplicateNameOnTheSameMachineOnly() throws Exception {
        add("rng", "r1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> add("net", "r1"));
        assertEquals("Machine java already has a device named r1 (rng).", e.getMessage());
        add("net", "r1", "machine.name=other");
        assertEquals(2, store.configs.size());
    }

    @Test
    public void removeDeletesByNameAndAsksWhichMachineWhenAmbiguous() throws Exception {
        add("rng", "r1");
        add("rng", "r1", "machine.name=m2");
        IllegalArgumentException ambiguous = assertThrows(IllegalArgumentException.class, () -> manager.remove("r1", null));
        assertTrue(ambiguous.getMessage(), ambiguous.getMessage().contains("java, m2"));
        assertEquals("Removed rng device r1 from machine m2.", manager.remove("r1", "m2"));
        assertEquals("Removed rng device r1 from machine java.", manager.remove("r1", null));
        assertTrue(store.configs.isEmpty());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> manager.remove("r1", null));
        assertEquals("No device named r1.", unknown.getMessage());
    }

    @Test
    public void listShowsPluggedStateAndFiltersByMachine() throws Exception {
        add("rng", "rng0");
        add("console", "console0", "backend=stdio", "machine.name=vm", "virtio.transport=pci");
        List<DeviceManager.Plugged> plugged = List.of(new DeviceManager.Plugged("vm", "console0", "pci 00:01.0"));
        String all = manager.list(null, plugged);
        String[] lines = all.split("\n");
        assertEquals(3, lines.length);
        assertTrue(all, lines[0].startsWith("NAME"));
        assertTrue(all, lines[1].matches("rng0 +rng +java +mmio +no +-"));
        assertTrue(all, lines[2].matches("console0 +console +vm +pci +yes pci 00:01.0 +backend=stdio"));
        String vmOnly = manager.list("vm", plugged);
        assertFalse(vmOnly, vmOnly.contains("rng0"));
        assertEquals("No virtio device configurations.", manager.list("nomachine", plugged));
    }

    @Test
    public void configWithoutCommonPropertiesUsesTheDefaults() {
        DeviceConfig bare = new DeviceConfig("p", DeviceRequestTest.TYPES.of("blk"), Map.of("path", "/x", "service.pid", "p"));
        assertEquals("disk", bare.name());
        assertEquals("java", bare.machine());
        assertEquals("mmio", bare.transport());
        assertEquals(Map.of("path", "/x"), bare.settings());
    }
}
