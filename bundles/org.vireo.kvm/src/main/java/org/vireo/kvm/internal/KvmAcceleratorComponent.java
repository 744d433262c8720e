package org.vireo.kvm.internal;

import java.util.Hashtable;
import java.util.concurrent.CompletableFuture;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.vireo.kvm.Kvm;
import org.vireo.kvm.KvmAccelerator;
import org.vireo.kvm.KvmException;
import org.vireo.kvm.KvmStatus;

/**
 * Registers a {@link KvmAccelerator} at activation and probes KVM on a thread of its own, then adds the answer to
 * the registration as service properties (a filter on {@code kvm.available=true} matches from then on). The probe
 * costs 300-500 ms of class loading and FFM linking the first time, which no longer sits on every start of the
 * runtime; {@link #status()} and {@link #open()} wait for it. Registered even when KVM is unusable, so the reason is
 * visible where a user asks for it: {@code kvm:status}, {@code vireo run --accel kvm}, and these service properties.
 * The probe itself logs only at DEBUG: most runs never ask for KVM, and in {@code vireo run} the console is the
 * guest's.
 */
@Component(configurationPid = KvmAcceleratorComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL, service = {}, immediate = true)
@Designate(ocd = KvmAcceleratorComponent.Config.class)
public final class KvmAcceleratorComponent implements KvmAccelerator {
    public static final String PID = "org.vireo.kvm";

    private static final System.Logger LOG = System.getLogger(KvmAcceleratorComponent.class.getName());

    @ObjectClassDefinition(name = "Vireo KVM accelerator", description = "Where to find KVM")
    public @interface Config {
        @AttributeDefinition(name = "Device", description = "Path of the KVM device")
        String device() default Kvm.DEFAULT_DEVICE;
    }

    private final CompletableFuture<KvmStatus> status = new CompletableFuture<>();
    private ServiceRegistration<KvmAccelerator> registration; // guarded by this

    @Activate
    void activate(BundleContext context, Config config) {
        Hashtable<String, Object> probing = new Hashtable<>();
        probing.put(REASON_PROPERTY, "probing " + config.device());
        synchronized (this) {
            registration = context.registerService(KvmAccelerator.class, this, probing);
        }
        Thread probe = new Thread(() -> probe(config.device()), "vireo-kvm-probe");
        probe.setDaemon(true);
        probeThread = probe;
        probe.start();
    }

    private volatile Thread probeThread;

    /** For tests: waits until the probe has answered and the registration carries the answer. */
    void awaitProbe() throws InterruptedException {
        Thread t = probeThread;
        if (t != null) t.join();
    }

    private void probe(String device) {
        KvmStatus s;
        try {
            s = KvmStatus.probe(device); // never throws, short of a VM error
        } catch (Throwable t) {
            status.completeExceptionally(t); // status() then fails instead of waiting for ever
            throw t;
        }
        LOG.log(System.Logger.Level.DEBUG, s::toString);
        // The answer first: listeners told of the new properties below run on this thread and may ask status().
        status.complete(s);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(AVAILABLE_PROPERTY, s.available());
        props.put(STATE_PROPERTY, s.state().name());
        props.put(REASON_PROPERTY, s.reason());
        synchronized (this) {
            if (registration != null) {
                try {
                    registration.setProperties(props);
                } catch (IllegalStateException unregisteredMeanwhile) {
                    // the bundle stopped while the probe ran: nobody is left to tell
                }
            }
        }
    }

    @Deactivate
    synchronized void deactivate() {
        if (registration != null) registration.unregister();
        registration = null;
    }

    /** What the probe found; waits for it while it runs (well under a second). */
    @Override
    public KvmStatus status() { return status.join(); }

    @Override
    public Kvm open() {
        KvmStatus s = status();
        if (!s.available()) throw new KvmException("open " + s.device(), "KVM is not usable: " + s.reason());
        return Kvm.open(s.device());
    }
}
