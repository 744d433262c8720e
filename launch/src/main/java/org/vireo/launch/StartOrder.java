package org.vireo.launch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * The order the launcher starts bundles in. For a command a bundle handles (capability {@value #NAMESPACE}={@code
 * NAME}, e.g. the VMM's {@code vireo.command=run}), first what that command needs: the bundles wired to the handler,
 * directly or not (packages, the DS extender), and the bundles that declare a device kind service ({@value
 * #DEVICE_KIND}, with what they are wired to), which a run reads its options from; then the handler, which starts the
 * command on a thread of its own; then everything else (the shell, Gogo, FileInstall, Java drivers), while the command
 * runs. Without a handler, or for no command: the given order.
 */
final class StartOrder {
    static final String NAMESPACE = "vireo.command";
    static final String DEVICE_KIND = "org.vireo.virtio.kind.DeviceKind";
    private static final String SERVICE_NAMESPACE = "osgi.service";

    private StartOrder() {}

    static List<Bundle> forCommand(Bundle systemBundle, List<Bundle> bundles, String command) {
        if (command == null) return bundles;
        List<Bundle> handlers = bundles.stream().filter(b -> declares(b, NAMESPACE, command)).toList();
        if (handlers.isEmpty()) return bundles;
        // Wires exist once bundles are resolved; resolving now costs what the first start would.
        FrameworkWiring frameworkWiring = systemBundle.adapt(FrameworkWiring.class);
        if (frameworkWiring != null) frameworkWiring.resolveBundles(bundles);
        Set<Bundle> needed = new LinkedHashSet<>();
        Deque<Bundle> todo = new ArrayDeque<>(handlers);
        for (Bundle b : bundles) if (declares(b, SERVICE_NAMESPACE, DEVICE_KIND)) todo.add(b);
        while (!todo.isEmpty()) {
            Bundle b = todo.pop();
            if (b.getBundleId() == 0 || !needed.add(b)) continue;
            BundleWiring wiring = b.adapt(BundleWiring.class);
            if (wiring == null) continue;   // unresolved: its start reports why
            for (BundleWire wire : wiring.getRequiredWires(null)) todo.add(wire.getProvider().getBundle());
        }
        List<Bundle> order = new ArrayList<>();
        for (Bundle b : bundles) if (needed.contains(b) && !handlers.contains(b)) order.add(b);
        order.addAll(handlers);
        for (Bundle b : bundles) if (!needed.contains(b)) order.add(b);
        return order;
    }

    /** Whether {@code bundle} declares a capability in {@code namespace} whose attribute of that name is, or lists, {@code value}. */
    static boolean declares(Bundle bundle, String namespace, String value) {
        BundleRevision revision = bundle.adapt(BundleRevision.class);
        if (revision == null) return false;
        String attribute = namespace.equals(SERVICE_NAMESPACE) ? "objectClass" : namespace;
        for (BundleCapability c : revision.getDeclaredCapabilities(namespace)) {
            Object v = c.getAttributes().get(attribute);
            if (v instanceof List<?> list ? list.contains(value) : value.equals(v)) return true;
        }
        return false;
    }
}
