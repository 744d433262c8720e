package org.vireo.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.kind.DeviceEnvironment;
import org.vireo.virtio.ring.RingLayout;

/**
 * The devices of a run inside the framework: the machine is registered as a {@link Machine} service, and each device
 * is a ConfigurationAdmin factory configuration ({@code org.vireo.virtio.blk} etc. with {@code machine.name} = the
 * machine's name and {@code virtio.transport=pci}), so it shows in {@code virtio:devices} like any other device. The
 * device bundle's component creates the backend and the pci transport component plugs it; the run waits for each
 * device's {@link VirtioTransportInfo} service before configuring the next (so disk0 takes the lowest PCI slot) and
 * before the vCPU starts. The configuration is the one its kind parsed from the options ({@link DeviceSpec}); nothing
 * here tells one kind from another. The run's terminal is registered as an {@link OutputStream} service
 * ({@link DeviceEnvironment#TERMINAL_PROPERTY}) for a device configured to write there (a virtio console; it takes no
 * input, which belongs to the serial console).
 */
final class OsgiWiring implements MachineWiring {
    static final String MACHINE_KIND = "x86";
    /**
     * Service property of the machine: {@code true} from the moment its vCPU starts executing the guest (set on the
     * vCPU thread just before the first instruction). The launcher's {@code VIREO_TIMING} reports it as the guest's
     * first instruction.
     */
    static final String RUNNING_PROPERTY = "machine.running";
    private static final long PLUG_TIMEOUT_SECONDS = Long.getLong("vireo.run.plug.seconds", 30);
    private static final long UNPLUG_TIMEOUT_SECONDS = 10;
    private static final System.Logger LOG = System.getLogger(OsgiWiring.class.getName());

    private final BundleContext context;

    OsgiWiring(BundleContext context) { this.context = context; }

    @Override
    public Wired wire(X86Machine machine, List<DeviceSpec> devices, String transport, RingLayout ring, OutputStream terminal) throws WiringException {
        List<AutoCloseable> undo = new ArrayList<>();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Machine.NAME_PROPERTY, machine.name());
        props.put("machine.kind", MACHINE_KIND);
        ServiceRegistration<Machine> registration = context.registerService(Machine.class, machine, props);
        undo.add(() -> unregister(registration));
        try {
            if (!devices.isEmpty()) {
                // For devices configured to write to the terminal (a console with backend=terminal).
                Hashtable<String, Object> terminalProps = new Hashtable<>();
                terminalProps.put(Machine.NAME_PROPERTY, machine.name());
                terminalProps.put(DeviceEnvironment.TERMINAL_PROPERTY, true);
                ServiceRegistration<OutputStream> terminalRegistration = context.registerService(OutputStream.class, terminal, terminalProps);
                undo.add(() -> unregister(terminalRegistration));
                ConfigurationAdmin configAdmin = configurationAdmin(undo);
                for (DeviceSpec spec : devices) configure(configAdmin, machine.name(), spec, transport, ring, undo);
            }
        } catch (WiringException | RuntimeException e) {
            try {
                MachineWiring.closeAll(undo);
            } catch (Exception closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        return new Wired() {
            @Override public void vcpuStarting() { markRunning(registration, props); }

            @Override public void close() throws Exception { MachineWiring.closeAll(undo); }
        };
    }

    /** Adds {@value #RUNNING_PROPERTY}=true to the machine's service (a MODIFIED event, delivered on this thread). */
    private static void markRunning(ServiceRegistration<Machine> registration, Hashtable<String, Object> props) {
        Hashtable<String, Object> running = new Hashtable<>(props);
        running.put(RUNNING_PROPERTY, Boolean.TRUE);
        try {
            registration.setProperties(running);
        } catch (IllegalStateException e) {
            // the framework is stopping: nobody is left to tell
        }
    }

    /** The framework's ConfigurationAdmin, waiting (bounded) for it in case its bundle is still starting. */
    private ConfigurationAdmin configurationAdmin(List<AutoCloseable> undo) throws WiringException {
        ServiceTracker<ConfigurationAdmin, ConfigurationAdmin> tracker = new ServiceTracker<>(context, ConfigurationAdmin.class, null);
        tracker.open();
        undo.add(tracker::close);
        try {
            ConfigurationAdmin configAdmin = tracker.waitForService(TimeUnit.SECONDS.toMillis(PLUG_TIMEOUT_SECONDS));
            if (configAdmin == null) {
                throw new WiringException("devices are configurations, and no ConfigurationAdmin service appeared within "
                        + PLUG_TIMEOUT_SECONDS + " s (is org.apache.felix.configadmin deployed?)");
            }
            return configAdmin;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WiringException("interrupted while waiting for ConfigurationAdmin", e);
        }
    }

    private void configure(ConfigurationAdmin configAdmin, String machineName, DeviceSpec spec, String transport, RingLayout ring,
                           List<AutoCloseable> undo) throws WiringException {
        Hashtable<String, Object> props = new Hashtable<>(spec.configuration(machineName, transport, ring));
        Presence plugged = new Presence(filter(VirtioTransportInfo.class, VirtioProperties.MACHINE, machineName,
                VirtioProperties.TRANSPORT, transport, VirtioProperties.DEVICE_NAME, spec.name()));
        plugged.open();
        undo.add(plugged::close);
        Configuration configuration;
        try {
            // Location "?": any bundle may bind it, the device bundle's component in particular.
            configuration = configAdmin.getFactoryConfiguration(spec.factoryPid(), machineName + "-" + spec.name(), "?");
            configuration.update(props);
        } catch (IOException e) {
            throw new WiringException(spec.name() + ": ConfigurationAdmin refused the configuration: " + e.getMessage(), e);
        }
        undo.add(() -> {
            configuration.delete();
            // The device leaves the bus before the machine goes: its threads must not outlive guest memory.
            if (!plugged.awaitAbsent(UNPLUG_TIMEOUT_SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, spec.name() + " was still plugged " + UNPLUG_TIMEOUT_SECONDS
                        + " s after its configuration was deleted");
            }
        });
        if (!plugged.awaitPresent(PLUG_TIMEOUT_SECONDS)) {
            throw new WiringException(spec.name() + " (" + spec.factoryPid() + ") was not plugged (" + transport + ") within "
                    + PLUG_TIMEOUT_SECONDS + " s: its bundle or the org.vireo.virtio." + transport + " transport is missing, or the device"
                    + " refused its configuration (see the error above)");
        }
    }

    private Filter filter(Class<?> service, String... keyValues) {
        StringBuilder f = new StringBuilder("(&(objectClass=").append(service.getName()).append(')');
        for (int i = 0; i < keyValues.length; i += 2) f.append('(').append(keyValues[i]).append('=').append(VirtioProperties.filterValue(keyValues[i + 1])).append(')');
        try {
            return context.createFilter(f.append(')').toString());
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }


    private static void unregister(ServiceRegistration<?> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // already gone with the framework
        }
    }

    /** Whether a service matching a filter is registered, with bounded waits for it to come and to go. */
    private final class Presence extends ServiceTracker<Object, Object> {
        private final Object changed = new Object();
        private int count; // guarded by changed; kept here because the tracker's own map changes after the callbacks

        Presence(Filter filter) { super(OsgiWiring.this.context, filter, null); }

        @Override
        public Object addingService(ServiceReference<Object> reference) {
            synchronized (changed) {
                count++;
                changed.notifyAll();
            }
            return reference; // tracked by reference: nothing here needs the service object
        }

        @Override
        public void removedService(ServiceReference<Object> reference, Object service) {
            synchronized (changed) {
                count--;
                changed.notifyAll();
            }
        }

        boolean awaitPresent(long seconds) throws WiringException { return await(seconds, true); }

        boolean awaitAbsent(long seconds) throws WiringException { return await(seconds, false); }

        private boolean await(long seconds, boolean present) throws WiringException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            try {
                synchronized (changed) {
                    while ((count == 0) == present) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) return false;
                        TimeUnit.NANOSECONDS.timedWait(changed, left);
                    }
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WiringException("interrupted while waiting for a device", e);
            }
        }
    }
}
