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
import org.vireo.virtio.ring.RingLayout;
import org.vireo.virtio.console.link.HostConsoleLink;

/**
 * The devices of a run inside the framework: the machine is registered as a {@link Machine} service, and each device
 * is a ConfigurationAdmin factory configuration ({@code org.vireo.virtio.blk} etc. with {@code machine.name} = the
 * machine's name and {@code virtio.transport=pci}), so it shows in {@code virtio:devices} like any other device. The
 * device bundle's component creates the backend and the pci transport component plugs it; the run waits for each
 * device's {@link VirtioTransportInfo} service before configuring the next (so disk0 takes the lowest PCI slot) and
 * before the vCPU starts. A virtio console meant for the terminal is configured on an in-JVM link whose host end this
 * class copies to the terminal (a stdio backend would compete with the serial console for the keyboard).
 */
final class OsgiWiring implements MachineWiring {
    static final String MACHINE_KIND = "x86";
    private static final long PLUG_TIMEOUT_SECONDS = Long.getLong("vireo.run.plug.seconds", 30);
    private static final long UNPLUG_TIMEOUT_SECONDS = 10;
    private static final System.Logger LOG = System.getLogger(OsgiWiring.class.getName());

    private final BundleContext context;

    OsgiWiring(BundleContext context) { this.context = context; }

    @Override
    public AutoCloseable wire(X86Machine machine, List<DeviceSpec> devices, String transport, RingLayout ring, OutputStream terminal) throws WiringException {
        List<AutoCloseable> undo = new ArrayList<>();
        try {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Machine.NAME_PROPERTY, machine.name());
            props.put("machine.kind", MACHINE_KIND);
            ServiceRegistration<Machine> registration = context.registerService(Machine.class, machine, props);
            undo.add(() -> unregister(registration));
            if (!devices.isEmpty()) {
                ConfigurationAdmin configAdmin = configurationAdmin(undo);
                for (DeviceSpec spec : devices) configure(configAdmin, machine.name(), spec, transport, ring, terminal, undo);
            }
        } catch (WiringException | RuntimeException e) {
            try {
                MachineWiring.closeAll(undo);
            } catch (Exception closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        return () -> MachineWiring.closeAll(undo);
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

    private void configure(ConfigurationAdmin configAdmin, String machineName, DeviceSpec spec, String transport, RingLayout ring, OutputStream terminal,
                           List<AutoCloseable> undo) throws WiringException {
        String linkName = machineName + "/" + spec.name();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(VirtioProperties.DEVICE_NAME, spec.name());
        props.put(VirtioProperties.MACHINE, machineName);
        props.put(VirtioProperties.RING, ring.setting());
        props.put(VirtioProperties.TRANSPORT, transport);
        switch (spec) {
            case DeviceSpec.Disk d -> {
                props.put("path", d.image().toString());
                props.put("readonly", d.readOnly());
            }
            case DeviceSpec.Net n -> props.put("backend", n.backend());
            case DeviceSpec.Rng r -> props.put("source", DeviceSpec.Rng.SOURCE);
            case DeviceSpec.Share f -> {
                props.put("path", f.dir().toString());
                props.put("tag", f.tag());
                props.put("readonly", f.readOnly());
            }
            case DeviceSpec.Console c -> props.put("backend", c.file() != null ? "file:" + c.file() : "link:" + linkName);
        }
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
        if (spec instanceof DeviceSpec.Console c && c.file() == null) {
            ServiceTracker<HostConsoleLink, HostConsoleLink> link = new ServiceTracker<>(context,
                    filter(HostConsoleLink.class, HostConsoleLink.LINK_NAME, linkName), null);
            link.open();
            undo.add(link::close);
            HostConsoleLink host;
            try {
                host = link.waitForService(TimeUnit.SECONDS.toMillis(PLUG_TIMEOUT_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WiringException(spec.name() + ": interrupted while waiting for its console link", e);
            }
            if (host == null) throw new WiringException(spec.name() + ": its console link " + linkName + " did not appear");
            undo.add(ConsolePump.start(host, terminal, spec.name()));
        }
    }

    private Filter filter(Class<?> service, String... keyValues) {
        StringBuilder f = new StringBuilder("(&(objectClass=").append(service.getName()).append(')');
        for (int i = 0; i < keyValues.length; i += 2) f.append('(').append(keyValues[i]).append('=').append(escape(keyValues[i + 1])).append(')');
        try {
            return context.createFilter(f.append(')').toString());
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static String escape(String value) {
        StringBuilder b = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') b.append('\\');
            b.append(c);
        }
        return b.toString();
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

    /** Copies a console link's guest output to the terminal until closed (then drains what is left). */
    private static final class ConsolePump implements AutoCloseable {
        private final HostConsoleLink link;
        private final OutputStream out;
        private final Thread thread;
        private volatile boolean stopping;

        private ConsolePump(HostConsoleLink link, OutputStream out, String name) {
            this.link = link;
            this.out = out;
            this.thread = Thread.ofPlatform().daemon().name("vireo-" + name + "-output").unstarted(this::pump);
        }

        static ConsolePump start(HostConsoleLink link, OutputStream out, String name) {
            ConsolePump pump = new ConsolePump(link, out, name);
            pump.thread.start();
            return pump;
        }

        private void pump() {
            byte[] buf = new byte[4096];
            try {
                while (true) {
                    int n = link.receiveFromGuest(buf, 0, buf.length, 100, TimeUnit.MILLISECONDS);
                    if (n > 0) {
                        out.write(buf, 0, n);
                        out.flush();
                    } else if (stopping) {
                        return;
                    }
                }
            } catch (InterruptedException | IOException e) {
                // the run is over, or the terminal is gone
            }
        }

        @Override
        public void close() throws InterruptedException {
            stopping = true;
            thread.join(TimeUnit.SECONDS.toMillis(5));
        }
    }
}
