package org.vireo.vmm;

import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;
import org.vireo.machine.Machine;
import org.vireo.vmm.api.VirtualMachine;
import org.vireo.vmm.api.VmState;

/**
 * One {@link VirtualMachine} per {@code org.vireo.vmm.vm} factory configuration. The service is registered here
 * rather than by DS so that its {@value VirtualMachine#STATE_PROPERTY} property follows the VM's state. A run is a
 * {@link VmRunner} with {@link OsgiWiring}: the machine becomes a {@link Machine} service named
 * {@code machine.name} while it runs. Deleting or changing the configuration stops a running guest.
 */
@Component(configurationPid = VirtualMachine.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {})
@Designate(ocd = VmConfig.class, factory = true)
public final class VirtualMachineComponent {
    private static final System.Logger LOG = System.getLogger(VirtualMachineComponent.class.getName());

    private ManagedVm vm;
    private volatile ServiceRegistration<VirtualMachine> registration;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        VmSpec spec;
        try {
            spec = VmSpec.from(properties);
        } catch (VmSpec.InvalidException e) {
            LOG.log(System.Logger.Level.ERROR, "VM configuration " + properties.get("service.pid") + " refused: " + e.getMessage());
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        vm = new ManagedVm(spec, VmOptions.guestKit(), (options, console, keyboard) -> {
            VmRunner runner = new VmRunner(console, console, keyboard, EmulatedVcpu::new);
            runner.setMachineName(spec.name());
            runner.setHostTerminal(false);
            runner.setWiring(new OsgiWiring(context));
            return new ManagedVm.Run() {
                @Override public int run() { return runner.run(options); }

                @Override public void stop() { runner.stop(); }

                @Override public boolean pressPowerButton() { return runner.pressPowerButton(); }
            };
        }, this::stateChanged);
        registration = context.registerService(VirtualMachine.class, vm, serviceProperties(VmState.NEW));
    }

    private Dictionary<String, Object> serviceProperties(VmState state) {
        Map<String, Object> p = new HashMap<>();
        p.put(VirtualMachine.NAME_PROPERTY, vm.name());
        p.put(VirtualMachine.STATE_PROPERTY, state.name());
        return new Hashtable<>(p);
    }

    private void stateChanged(VmState state) {
        ServiceRegistration<VirtualMachine> r = registration;
        if (r == null) return;
        try {
            r.setProperties(serviceProperties(state));
        } catch (IllegalStateException e) {
            // unregistered meanwhile
        }
    }

    @Deactivate
    void deactivate() {
        ServiceRegistration<VirtualMachine> r = registration;
        registration = null;
        if (r != null) {
            try {
                r.unregister();
            } catch (IllegalStateException e) {
                // gone with the framework
            }
        }
        vm.stop();
    }
}
