package org.vireo.virtio.mmio.internal;

import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.machine.Machine;
import org.vireo.virtio.core.TransportBinder;
import org.vireo.virtio.device.VirtioDevice;
import org.vireo.virtio.mmio.VirtioMmio;

/**
 * Plugs every {@link VirtioDevice} service with {@code virtio.transport=mmio} into the {@link Machine} service of the
 * same {@code machine.name}, and publishes the transport info and (on Java guests) driver-side device services.
 */
@Component(immediate = true, service = {})
public final class VirtioMmioComponent {
    private final TransportBinder binder = new TransportBinder(VirtioMmio.TRANSPORT, VirtioMmio::plug);

    @Activate
    void activate(BundleContext context) { binder.activate(context); }

    @Deactivate
    void deactivate() { binder.deactivate(); }

    @Reference(name = "machine", service = Machine.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "removeMachine", updated = "updatedMachine")
    void addMachine(Machine machine, Map<String, Object> properties) { binder.addMachine(machine, properties); }

    void updatedMachine(Machine machine, Map<String, Object> properties) { binder.updatedMachine(machine, properties); }

    void removeMachine(Machine machine) { binder.removeMachine(machine); }

    @Reference(name = "device", service = VirtioDevice.class, target = "(virtio.transport=mmio)",
            cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice", updated = "updatedDevice")
    void addDevice(VirtioDevice device, Map<String, Object> properties) { binder.addDevice(device, properties); }

    void updatedDevice(VirtioDevice device, Map<String, Object> properties) { binder.updatedDevice(device, properties); }

    void removeDevice(VirtioDevice device) { binder.removeDevice(device); }
}
