package org.vireo.machine.hosted;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.vireo.machine.Machine;
import java.util.Hashtable;

/** One CPU-less machine per factory configuration {@code org.vireo.machine.hosted}. */
@Component(configurationPid = HostedMachineComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = HostedMachineComponent.Config.class, factory = true)
public final class HostedMachineComponent {
    public static final String PID = "org.vireo.machine.hosted";

    @ObjectClassDefinition(name = "Vireo hosted machine",
            description = "A machine without a CPU, whose devices are driven by Java virtio drivers")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "Machine name; devices choose it with machine.target=(machine.name=NAME)")
        String machine_name() default "java";

        @AttributeDefinition(name = "Memory (MiB)", description = "Guest RAM in MiB (2 to 3328)", min = "2", max = "3328")
        int memory_mib() default 64;
    }

    private HostedMachine machine;
    private ServiceRegistration<Machine> registration;

    @Activate
    void activate(BundleContext context, Config config) {
        machine = new HostedMachine(config.machine_name(), (long) config.memory_mib() << 20);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Machine.NAME_PROPERTY, config.machine_name());
        props.put("machine.kind", "hosted");
        registration = context.registerService(Machine.class, machine, props);
    }

    @Deactivate
    void deactivate() {
        registration.unregister();
        machine.close();
    }
}
