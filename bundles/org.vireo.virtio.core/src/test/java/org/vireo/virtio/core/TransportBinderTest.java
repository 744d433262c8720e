package org.vireo.virtio.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.ring.RingLayout;

public final class TransportBinderTest {
    /** Everything that happens, in order: "plug dev@m", "register Info dev", "unregister Driver dev", "close dev"... */
    private final List<String> events = new CopyOnWriteArrayList<>();
    /** Live registrations: "Info dev" / "Driver dev" -> properties. */
    private final Map<String, Map<String, Object>> registered = new java.util.concurrent.ConcurrentHashMap<>();

    private final TransportBinder binder = new TransportBinder("mmio", this::plug);

    private PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName, RingLayout ring) {
        events.add("plug " + deviceName + "@" + machine.name() + (ring == RingLayout.PACKED ? " packed" : ""));
        VirtioTransportInfo info = proxy(VirtioTransportInfo.class, (m, a) -> switch (m) {
            case "deviceId" -> 4;
            case "name" -> machine.name() + "/" + deviceName;
            default -> "x";
        });
        VirtioDriverDevice driver = proxy(VirtioDriverDevice.class, (m, a) -> m.equals("vendorId") ? 7 : null);
        return new PluggedDevice() {
            @Override public VirtioTransportInfo info() { return info; }

            @Override public Optional<VirtioDriverDevice> driverSide() { return Optional.of(driver); }

            @Override public void close() { events.add("close " + deviceName); }
        };
    }

    private interface Answer {
        Object answer(String method, Object[] args);
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, Answer answer) {
        return (T) Proxy.newProxyInstance(TransportBinderTest.class.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (m.getName().equals("toString")) return type.getSimpleName();
            if (m.getName().equals("hashCode")) return System.identityHashCode(p);
            if (m.getName().equals("equals")) return p == a[0];
            return answer.answer(m.getName(), a);
        });
    }

    private BundleContext context() {
        return proxy(BundleContext.class, (m, a) -> {
            if (!m.equals("registerService")) throw new UnsupportedOperationException(m);
            String kind = a[0] == VirtioDriverDevice.class ? "Driver" : "Info";
            @SuppressWarnings("unchecked")
            Dictionary<String, Object> d = (Dictionary<String, Object>) a[2];
            Map<String, Object> props = new HashMap<>();
            for (String k : java.util.Collections.list(d.keys())) props.put(k, d.get(k));
            String key = kind + " " + props.get(VirtioProperties.DEVICE_NAME);
            registered.put(key, props);
            events.add("register " + key);
            return proxy(ServiceRegistration.class, (rm, ra) -> {
                if (rm.equals("unregister")) {
                    registered.remove(key);
                    events.add("unregister " + key);
                }
                return null;
            });
        });
    }

    private static Machine machine(String name) {
        return proxy(Machine.class, (m, a) -> m.equals("name") ? name : null);
    }

    private static VirtioDevice device() {
        return proxy(VirtioDevice.class, (m, a) -> m.equals("deviceId") ? 4 : null);
    }

    private static Map<String, Object> deviceProps(String machine, String name) {
        Map<String, Object> p = new HashMap<>();
        p.put(VirtioProperties.MACHINE, machine);
        p.put(VirtioProperties.DEVICE_NAME, name);
        p.put(VirtioProperties.TRANSPORT, "mmio");
        return p;
    }

    private static Map<String, Object> machineProps(String name) { return Map.of(Machine.NAME_PROPERTY, name); }

    @Test
    public void deviceThenMachineThenDeviceLeaves() {
        binder.activate(context());
        VirtioDevice d = device();
        binder.addDevice(d, deviceProps("java", "rng0"));
        assertTrue("no machine yet", events.isEmpty());
        Machine m = machine("java");
        binder.addMachine(m, machineProps("java"));
        assertEquals(List.of("plug rng0@java", "register Info rng0", "register Driver rng0"), events);
        Map<String, Object> driverProps = registered.get("Driver rng0");
        assertEquals(4, driverProps.get(VirtioProperties.DEVICE_ID));
        assertEquals(7, driverProps.get(VirtioProperties.VENDOR_ID));
        assertEquals("mmio", driverProps.get(VirtioProperties.TRANSPORT));
        assertEquals("java", driverProps.get(VirtioProperties.MACHINE));
        assertEquals("rng0", driverProps.get(VirtioProperties.DEVICE_NAME));
        Map<String, Object> infoProps = registered.get("Info rng0");
        assertEquals(4, infoProps.get(VirtioProperties.DEVICE_ID));
        assertEquals("java", infoProps.get(VirtioProperties.MACHINE));
        assertEquals(1, binder.plugged().size());

        events.clear();
        binder.removeDevice(d);
        assertEquals("driver side first, then info, then unplug",
                List.of("unregister Driver rng0", "unregister Info rng0", "close rng0"), events);
        assertTrue(registered.isEmpty());
        binder.removeMachine(m);
        assertEquals(3, events.size());
    }

    @Test
    public void machineLeavingUnplugsItsDevicesOnly() {
        binder.activate(context());
        Machine a = machine("a");
        Machine b = machine("b");
        binder.addMachine(a, machineProps("a"));
        binder.addMachine(b, machineProps("b"));
        binder.addDevice(device(), deviceProps("a", "d1"));
        binder.addDevice(device(), deviceProps("b", "d2"));
        binder.addDevice(device(), deviceProps("c", "d3"));
        assertTrue(events.contains("plug d1@a"));
        assertTrue(events.contains("plug d2@b"));
        assertTrue(events.stream().noneMatch(e -> e.contains("d3")));
        events.clear();
        binder.removeMachine(a);
        assertEquals(List.of("unregister Driver d1", "unregister Info d1", "close d1"), events);
        // the device waits for a machine of its name to come back
        events.clear();
        binder.addMachine(machine("a"), machineProps("a"));
        assertEquals(List.of("plug d1@a", "register Info d1", "register Driver d1"), events);
    }

    @Test
    public void bindsBeforeActivationWaitUntilActivate() {
        binder.addMachine(machine("java"), machineProps("java"));
        binder.addDevice(device(), deviceProps("java", "disk"));
        assertTrue(events.isEmpty());
        binder.activate(context());
        assertEquals(List.of("plug disk@java", "register Info disk", "register Driver disk"), events);
        events.clear();
        binder.deactivate();
        assertEquals(List.of("unregister Driver disk", "unregister Info disk", "close disk"), events);
    }

    @Test
    public void devicePropertiesDefaultAndUpdatesReplug() {
        binder.activate(context());
        binder.addMachine(machine("java"), Map.of()); // name from Machine.name()
        VirtioDevice d = device();
        binder.addDevice(d, Map.of()); // machine "java", name from the device id
        assertTrue(events.toString(), events.contains("plug rng@java"));
        events.clear();
        binder.updatedDevice(d, Map.of());
        assertTrue("same properties: nothing happens", events.isEmpty());
        Machine other = machine("other");
        binder.addMachine(other, machineProps("other"));
        binder.updatedDevice(d, deviceProps("other", "rng"));
        assertEquals(List.of("unregister Driver rng", "unregister Info rng", "close rng", "plug rng@other",
                "register Info rng", "register Driver rng"), events);
    }

    @Test
    public void ringSettingChoosesTheLayoutAndABadOneIsNotPlugged() {
        binder.activate(context());
        binder.addMachine(machine("java"), machineProps("java"));
        Map<String, Object> packed = deviceProps("java", "disk");
        packed.put(VirtioProperties.RING, "packed");
        binder.addDevice(device(), packed);
        Map<String, Object> split = deviceProps("java", "net");
        split.put(VirtioProperties.RING, "split");
        binder.addDevice(device(), split);
        Map<String, Object> bad = deviceProps("java", "rng");
        bad.put(VirtioProperties.RING, "twisted");
        binder.addDevice(device(), bad);
        assertTrue(events.toString(), events.contains("plug disk@java packed"));
        assertTrue(events.toString(), events.contains("plug net@java"));
        assertTrue(events.toString(), events.stream().noneMatch(e -> e.startsWith("plug rng")));
        binder.deactivate();
    }

    @Test
    public void failingPlugIsContained() {
        TransportBinder failing = new TransportBinder("pci", (m, d, n, r) -> { throw new IllegalStateException("full (expected by the test)"); });
        failing.activate(context());
        failing.addMachine(machine("java"), machineProps("java"));
        VirtioDevice d = device();
        failing.addDevice(d, deviceProps("java", "x"));
        failing.removeDevice(d);
        failing.deactivate();
        assertTrue(registered.isEmpty());
    }

    @Test
    public void concurrentArrivalsAndDeparturesLeaveNothingBehind() throws Exception {
        binder.activate(context());
        Machine m = machine("java");
        int threads = 4, rounds = 200;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int r = 0; r < rounds; r++) {
                    if (id == 0) {
                        binder.addMachine(m, machineProps("java"));
                        binder.removeMachine(m);
                    } else {
                        VirtioDevice d = device();
                        binder.addDevice(d, deviceProps("java", "d" + id + "-" + r));
                        binder.removeDevice(d);
                    }
                }
            });
            workers.add(w);
            w.start();
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(60));
            assertTrue("worker finished", !w.isAlive());
        }
        assertTrue(registered.toString(), registered.isEmpty());
        long plugs = events.stream().filter(e -> e.startsWith("plug ")).count();
        long closes = events.stream().filter(e -> e.startsWith("close ")).count();
        assertEquals(plugs, closes);
    }
}
