package org.vireo.virtio.core;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.ring.RingLayout;

/**
 * The pairing logic behind a transport's DS component: {@link Machine} and {@link VirtioDevice} services arrive and
 * leave in any order on any thread; a device is plugged into the machine named by its {@code machine.name} property,
 * and for each plugged device the {@link VirtioTransportInfo} and (on Java guests) {@link VirtioDriverDevice} services
 * are registered. Unplugging unregisters the driver-side service first so the virtio bus removes the driver while the
 * device still answers. The component forwards its bind/unbind/activate/deactivate calls here.
 * <p>
 * No lock is held while plugging or calling the framework, except the lock of the one pairing concerned.
 */
public final class TransportBinder {
    /** The transport's plain-Java entry point, e.g. {@code VirtioMmio::plug}. */
    @FunctionalInterface
    public interface Plugger {
        /** @param ring the layout the device offers, from its {@link VirtioProperties#RING} setting */
        PluggedDevice plug(Machine machine, VirtioDevice device, String deviceName, RingLayout ring);
    }

    /** The machine a device service without {@link VirtioProperties#MACHINE} belongs to. */
    public static final String DEFAULT_MACHINE = "java";

    private static final System.Logger LOG = System.getLogger(TransportBinder.class.getName());

    private final String transport;
    private final Plugger plugger;

    // Guarded by this.
    private BundleContext context;
    private final Map<Machine, String> machines = new IdentityHashMap<>();
    private final List<Machine> machineOrder = new ArrayList<>();
    private final Map<VirtioDevice, DeviceEntry> devices = new IdentityHashMap<>();
    private final Map<VirtioDevice, Plug> plugs = new IdentityHashMap<>();

    /** {@code ring} is null when the device's {@link VirtioProperties#RING} setting names no layout: it is not plugged. */
    private record DeviceEntry(String machineName, String deviceName, RingLayout ring, String ringSetting) {}

    public TransportBinder(String transport, Plugger plugger) {
        this.transport = Objects.requireNonNull(transport);
        this.plugger = Objects.requireNonNull(plugger);
    }

    public void activate(BundleContext bundleContext) {
        List<Plug> open;
        synchronized (this) {
            context = bundleContext;
            open = pairAll();
        }
        open.forEach(Plug::open);
    }

    public void deactivate() {
        List<Plug> close;
        synchronized (this) {
            context = null;
            close = new ArrayList<>(plugs.values());
            plugs.clear();
        }
        close.forEach(Plug::close);
    }

    public void addMachine(Machine machine, Map<String, ?> properties) {
        List<Plug> open;
        synchronized (this) {
            machines.put(machine, machineName(machine, properties));
            machineOrder.add(machine);
            open = pairAll();
        }
        open.forEach(Plug::open);
    }

    public void removeMachine(Machine machine) {
        List<Plug> close = new ArrayList<>();
        List<Plug> open;
        synchronized (this) {
            machines.remove(machine);
            machineOrder.remove(machine);
            plugs.values().removeIf(p -> {
                if (p.machine != machine) return false;
                close.add(p);
                return true;
            });
            open = pairAll(); // another machine of the same name may take the devices
        }
        close.forEach(Plug::close);
        open.forEach(Plug::open);
    }

    public void updatedMachine(Machine machine, Map<String, ?> properties) {
        synchronized (this) {
            if (Objects.equals(machines.get(machine), machineName(machine, properties))) return;
        }
        removeMachine(machine);
        addMachine(machine, properties);
    }

    public void addDevice(VirtioDevice device, Map<String, ?> properties) {
        List<Plug> open;
        synchronized (this) {
            devices.put(device, entry(device, properties));
            open = pairAll();
        }
        open.forEach(Plug::open);
    }

    public void removeDevice(VirtioDevice device) {
        Plug plug;
        synchronized (this) {
            devices.remove(device);
            plug = plugs.remove(device);
        }
        if (plug != null) plug.close();
    }

    public void updatedDevice(VirtioDevice device, Map<String, ?> properties) {
        synchronized (this) {
            if (Objects.equals(devices.get(device), entry(device, properties))) return;
        }
        removeDevice(device);
        addDevice(device, properties);
    }

    /** The plugged devices, for tests and diagnostics. */
    public synchronized List<PluggedDevice> plugged() {
        List<PluggedDevice> out = new ArrayList<>();
        for (Plug p : plugs.values()) {
            PluggedDevice d = p.plugged();
            if (d != null) out.add(d);
        }
        return out;
    }

    /** Creates pairings for every unplugged device whose machine is present; caller holds the lock. */
    private List<Plug> pairAll() {
        List<Plug> open = new ArrayList<>();
        if (context == null) return open;
        for (Map.Entry<VirtioDevice, DeviceEntry> e : devices.entrySet()) {
            if (plugs.containsKey(e.getKey())) continue;
            Machine m = machineNamed(e.getValue().machineName());
            if (m == null) continue;
            Plug p = new Plug(context, m, e.getValue(), e.getKey());
            plugs.put(e.getKey(), p);
            open.add(p);
        }
        return open;
    }

    private Machine machineNamed(String name) {
        for (Machine m : machineOrder) if (name.equals(machines.get(m))) return m;
        return null;
    }

    private static String machineName(Machine machine, Map<String, ?> properties) {
        Object n = properties == null ? null : properties.get(Machine.NAME_PROPERTY);
        return n != null ? n.toString() : machine.name();
    }

    private static DeviceEntry entry(VirtioDevice device, Map<String, ?> properties) {
        Object m = properties == null ? null : properties.get(VirtioProperties.MACHINE);
        Object n = properties == null ? null : properties.get(VirtioProperties.DEVICE_NAME);
        String deviceName;
        if (n != null) {
            deviceName = n.toString();
        } else {
            try {
                deviceName = VirtioIds.name(device.deviceId());
            } catch (RuntimeException e) {
                deviceName = "device";
            }
        }
        Object r = properties == null ? null : properties.get(VirtioProperties.RING);
        RingLayout ring;
        try {
            ring = RingLayout.of(r);
        } catch (IllegalArgumentException e) {
            ring = null;
        }
        return new DeviceEntry(m != null ? m.toString() : DEFAULT_MACHINE, deviceName, ring, r == null ? null : r.toString());
    }

    /** One device in one machine: plugged and published once, then unpublished and unplugged once. */
    private final class Plug {
        final BundleContext bundleContext;
        final Machine machine;
        final String machineName;
        final VirtioDevice device;
        final String deviceName;
        final RingLayout ring;
        final String ringSetting;
        private boolean closed;
        private PluggedDevice plugged;
        private ServiceRegistration<VirtioTransportInfo> infoRegistration;
        private ServiceRegistration<VirtioDriverDevice> driverRegistration;

        Plug(BundleContext bundleContext, Machine machine, DeviceEntry entry, VirtioDevice device) {
            this.bundleContext = bundleContext;
            this.machine = machine;
            this.machineName = entry.machineName();
            this.device = device;
            this.deviceName = entry.deviceName();
            this.ring = entry.ring();
            this.ringSetting = entry.ringSetting();
        }

        synchronized PluggedDevice plugged() { return plugged; }

        synchronized void open() {
            if (closed) return;
            if (ring == null) {
                LOG.log(System.Logger.Level.ERROR, transport + ": not plugging " + deviceName + ": " + VirtioProperties.RING
                        + " must be \"split\" or \"packed\", not \"" + ringSetting + "\"");
                return;
            }
            try {
                plugged = plugger.plug(machine, device, deviceName, ring);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, transport + ": cannot plug " + deviceName + " into machine " + machineName, e);
                return;
            }
            VirtioTransportInfo info = plugged.info();
            try {
                Hashtable<String, Object> props = properties(info.deviceId());
                infoRegistration = bundleContext.registerService(VirtioTransportInfo.class, info, props);
                Optional<VirtioDriverDevice> driver = plugged.driverSide();
                if (driver.isPresent()) {
                    Hashtable<String, Object> dprops = properties(info.deviceId());
                    dprops.put(VirtioProperties.VENDOR_ID, driver.get().vendorId());
                    driverRegistration = bundleContext.registerService(VirtioDriverDevice.class, driver.get(), dprops);
                }
                LOG.log(System.Logger.Level.INFO, () -> transport + ": plugged " + deviceName + " as " + info.name() + " at " + info.address());
            } catch (RuntimeException e) {
                // the bundle is stopping (invalid context) or the framework refused: undo
                LOG.log(System.Logger.Level.ERROR, transport + ": cannot publish " + deviceName, e);
                unpublishAndUnplug();
            }
        }

        private Hashtable<String, Object> properties(int deviceId) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(VirtioProperties.DEVICE_ID, deviceId);
            props.put(VirtioProperties.TRANSPORT, transport);
            props.put(VirtioProperties.MACHINE, machineName);
            props.put(VirtioProperties.DEVICE_NAME, deviceName);
            return props;
        }

        synchronized void close() {
            if (closed) return;
            closed = true;
            unpublishAndUnplug();
        }

        private void unpublishAndUnplug() {
            unregister(driverRegistration);
            driverRegistration = null;
            unregister(infoRegistration);
            infoRegistration = null;
            if (plugged != null) {
                try {
                    plugged.close();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, transport + ": unplugging " + deviceName + " failed", e);
                }
                plugged = null;
            }
        }

        private static void unregister(ServiceRegistration<?> registration) {
            if (registration == null) return;
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                // already unregistered by the framework (bundle stopping)
            }
        }
    }
}
