package org.vireo.kvm.internal;

import java.util.Hashtable;
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
 * Probes KVM at activation and registers a {@link KvmAccelerator} carrying the answer as service properties.
 * Registered even when KVM is unusable, so the reason is visible where a user asks for it: {@code kvm:status},
 * {@code vireo run --accel kvm}, and these service properties. The probe itself logs only at DEBUG: most runs never
 * ask for KVM, and in {@code vireo run} the console is the guest's.
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

    private volatile KvmStatus status;
    private ServiceRegistration<KvmAccelerator> registration;

    @Activate
    void activate(BundleContext context, Config config) {
        status = KvmStatus.probe(config.device());
        LOG.log(System.Logger.Level.DEBUG, () -> status.toString());
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(AVAILABLE_PROPERTY, status.available());
        props.put(STATE_PROPERTY, status.state().name());
        props.put(REASON_PROPERTY, status.reason());
        registration = context.registerService(KvmAccelerator.class, this, props);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) registration.unregister();
        registration = null;
    }

    @Override
    public KvmStatus status() { return status; }

    @Override
    public Kvm open() {
        KvmStatus s = status;
        if (!s.available()) throw new KvmException("open " + s.device(), "KVM is not usable: " + s.reason());
        return Kvm.open(s.device());
    }
}
