package org.vireo.vmm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.util.tracker.ServiceTracker;
import org.vireo.virtio.kind.DeviceKind;

/**
 * The {@link DeviceKind} services of the framework, for {@code vireo run}. The run starts as soon as this bundle does,
 * possibly before a device bundle's component has registered its kind, so it first waits (bounded) until every
 * started bundle that declares a {@code DeviceKind} service (bnd's {@code osgi.service} capability) has registered one.
 */
final class FrameworkDeviceKinds {
    static final long WAIT_MILLIS = 10_000;
    private static final System.Logger LOG = System.getLogger(FrameworkDeviceKinds.class.getName());

    private FrameworkDeviceKinds() {}

    static DeviceKinds await(BundleContext context) {
        ServiceTracker<DeviceKind, DeviceKind> tracker = new ServiceTracker<>(context, DeviceKind.class, null);
        tracker.open();
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
            List<Bundle> missing;
            while (!(missing = missing(context, tracker)).isEmpty()) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.log(System.Logger.Level.WARNING, "device kinds of " + missing.stream().map(Bundle::getSymbolicName).toList()
                            + " did not appear within " + WAIT_MILLIS + " ms; their options are unknown to this run");
                    break;
                }
                Thread.sleep(20);
            }
            List<DeviceKind> kinds = new ArrayList<>();
            for (Map.Entry<ServiceReference<DeviceKind>, DeviceKind> e : tracker.getTracked().entrySet()) kinds.add(e.getValue());
            return DeviceKinds.of(kinds);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return DeviceKinds.of(tracker.getTracked().values());
        } finally {
            tracker.close();
        }
    }

    /** Started (or starting) bundles that declare a DeviceKind service but have none registered yet. */
    private static List<Bundle> missing(BundleContext context, ServiceTracker<DeviceKind, DeviceKind> tracker) {
        List<Bundle> out = new ArrayList<>();
        Bundle[] bundles = context.getBundles();
        if (bundles == null) return out;
        for (Bundle b : bundles) {
            if ((b.getState() & (Bundle.STARTING | Bundle.ACTIVE)) == 0 || !declaresKind(b)) continue;
            boolean registered = false;
            ServiceReference<DeviceKind>[] refs = tracker.getServiceReferences();
            if (refs != null) for (ServiceReference<DeviceKind> r : refs) registered |= r.getBundle() == b;
            if (!registered) out.add(b);
        }
        return out;
    }

    private static boolean declaresKind(Bundle bundle) {
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        if (revision == null) return false;
        for (BundleCapability c : revision.getDeclaredCapabilities("osgi.service")) {
            Object classes = c.getAttributes().get("objectClass");
            if (classes instanceof List<?> list && list.contains(DeviceKind.class.getName())) return true;
            if (DeviceKind.class.getName().equals(classes)) return true;
        }
        return false;
    }
}
