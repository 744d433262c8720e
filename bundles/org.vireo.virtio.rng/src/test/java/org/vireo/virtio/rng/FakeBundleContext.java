package org.vireo.virtio.rng;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** Just enough of a framework to run a DS component's activate/deactivate: records service registrations. */
final class FakeBundleContext {
    record Registered(String type, Object service, Map<String, Object> properties, boolean[] unregistered) {}

    final List<Registered> registrations = new ArrayList<>();
    final BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {BundleContext.class}, this::invoke);

    private Object invoke(Object proxy, Method method, Object[] args) {
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
        throw new UnsupportedOperationException(method.getName());
    }

    List<Registered> live(String type) {
        return registrations.stream().filter(r -> r.type.equals(type) && !r.unregistered[0]).toList();
    }

    /**
     * A component property type instance, as DS builds it: each method answers its property ("a_b" reads "a.b") or
     * its default. Also returns the property map DS would pass (defaults included).
     */
    static <A> A config(Class<A> type, Map<String, Object> values, Map<String, Object> outProperties) {
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
