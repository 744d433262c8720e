package org.vireo.virtio.testkit;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

/**
 * Just enough of a framework to run a DS component's activate/deactivate: records service registrations, and finds
 * the live ones again ({@code getServiceReferences} with a filter, {@code getService}, {@code ungetService}).
 */
public final class FakeBundleContext {
    /** One registerService call; {@code unregistered[0]} turns true on unregister. */
    public record Registered(String type, Object service, Map<String, Object> properties, boolean[] unregistered) {}

    public final List<Registered> registrations = new ArrayList<>();
    private final Map<Object, Registered> references = new IdentityHashMap<>();
    /** The context to hand to the component. */
    public final BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {BundleContext.class}, this::invoke);

    private Object invoke(Object proxy, Method method, Object[] args) throws InvalidSyntaxException {
        if (method.getName().equals("registerService") && args.length == 3) {
            String type = args[0] instanceof Class<?> c ? c.getName() : args[0] instanceof String s ? s : ((String[]) args[0])[0];
            Map<String, Object> props = new HashMap<>();
            Dictionary<?, ?> d = (Dictionary<?, ?>) args[2];
            for (var keys = d.keys(); keys.hasMoreElements(); ) {
                Object k = keys.nextElement();
                props.put((String) k, d.get(k));
            }
            boolean[] gone = {false};
            registrations.add(new Registered(type, args[1], props, gone));
            return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> {
                if (m.getName().equals("unregister")) {
                    if (gone[0]) throw new IllegalStateException("already unregistered");
                    gone[0] = true;
                    return null;
                }
                throw new UnsupportedOperationException(m.getName());
            });
        }
        if (method.getName().equals("getServiceReferences") && args.length == 2) {
            String type = args[0] instanceof Class<?> c ? c.getName() : (String) args[0];
            List<ServiceReference<?>> found = find(type, (String) args[1]);
            if (method.getReturnType().isArray()) return found.isEmpty() ? null : found.toArray(new ServiceReference<?>[0]);
            return found;
        }
        if (method.getName().equals("getService") && args.length == 1) {
            Registered r = references.get(args[0]);
            return r == null || r.unregistered[0] ? null : r.service;
        }
        if (method.getName().equals("ungetService") && args.length == 1) return references.containsKey(args[0]);
        throw new UnsupportedOperationException(method.getName());
    }

    private List<ServiceReference<?>> find(String type, String filter) throws InvalidSyntaxException {
        Filter f = filter == null ? null : FrameworkUtil.createFilter(filter);
        List<ServiceReference<?>> found = new ArrayList<>();
        for (Registered r : live(type)) {
            if (f != null && !f.matches(r.properties)) continue;
            ServiceReference<?> ref = (ServiceReference<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {ServiceReference.class}, (p, m, a) -> switch (m.getName()) {
                        case "getProperty" -> r.properties.get((String) a[0]);
                        case "getPropertyKeys" -> r.properties.keySet().toArray(new String[0]);
                        case "hashCode" -> System.identityHashCode(p);
                        case "equals" -> p == a[0];
                        case "toString" -> "ref(" + r.type + " " + r.properties + ")";
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
            references.put(ref, r);
            found.add(ref);
        }
        return found;
    }

    /** The registrations of {@code type} not yet unregistered. */
    public List<Registered> live(String type) {
        return registrations.stream().filter(r -> r.type.equals(type) && !r.unregistered[0]).toList();
    }

    /**
     * A component property type instance, as DS builds it: each method answers its property ("a_b" reads "a.b") or
     * its default. Also returns the property map DS would pass (defaults included).
     */
    public static <A> A config(Class<A> type, Map<String, Object> values, Map<String, Object> outProperties) {
        for (Method m : type.getDeclaredMethods()) {
            String key = m.getName().replace('_', '.');
            Object v = values.containsKey(key) ? values.get(key) : m.getDefaultValue();
            if (v != null) outProperties.put(key, v);
        }
        outProperties.putAll(values);
        InvocationHandler h = (p, m, a) -> {
            String key = m.getName().replace('_', '.');
            if (values.containsKey(key)) return values.get(key);
            return m.getDefaultValue();
        };
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, h));
    }
}
