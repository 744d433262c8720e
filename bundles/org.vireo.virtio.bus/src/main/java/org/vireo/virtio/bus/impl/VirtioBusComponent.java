package org.vireo.virtio.bus.impl;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.bus.VirtioBus;
import org.vireo.virtio.driver.VirtioDriver;
import org.vireo.virtio.driver.VirtioDriverDevice;

/**
 * The virtio bus as a DS component: tracks every {@link VirtioDriver} and {@link VirtioDriverDevice} service and
 * hands the events to {@link VirtioBusCore} on one worker thread. Arrivals are queued (probes never run inside a DS
 * callback); departures wait for their turn, so when a device or driver service is gone its driver's remove has run.
 */
@Component(immediate = true, service = VirtioBus.class)
public final class VirtioBusComponent implements VirtioBus {
    /** How long {@link #bindings()} waits for queued events before answering with what it has. */
    private static final long BINDINGS_WAIT_SECONDS = 10;

    private final VirtioBusCore core = new VirtioBusCore();
    private final BusWorker worker = new BusWorker("vireo-virtio-bus");

    @Reference(service = VirtioDriver.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindDriver")
    void bindDriver(VirtioDriver driver) {
        worker.submit(() -> core.addDriver(driver));
    }

    void unbindDriver(VirtioDriver driver) {
        worker.runAndWait(() -> core.removeDriver(driver));
    }

    @Reference(service = VirtioDriverDevice.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindDevice")
    void bindDevice(VirtioDriverDevice device, Map<String, Object> properties) {
        Object machine = properties.get(VirtioProperties.MACHINE);
        worker.submit(() -> core.addDevice(device, machine == null ? null : machine.toString()));
    }

    void unbindDevice(VirtioDriverDevice device) {
        worker.runAndWait(() -> core.removeDevice(device));
    }

    @Deactivate
    void deactivate() {
        worker.runAndWait(core::close);
        worker.shutdown();
    }

    @Override
    public List<Binding> bindings() {
        try {
            worker.awaitQuiescence(BINDINGS_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return core.bindings();
    }

    /** Waits until every event delivered so far has been handled; false on timeout. */
    public boolean awaitQuiescence(long timeout, TimeUnit unit) throws InterruptedException {
        return worker.awaitQuiescence(timeout, unit);
    }
}
