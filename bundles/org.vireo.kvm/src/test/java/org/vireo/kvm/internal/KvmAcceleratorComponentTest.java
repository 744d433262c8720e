package org.vireo.kvm.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import org.junit.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.vireo.kvm.Kvm;
import org.vireo.kvm.KvmAccelerator;
import org.vireo.kvm.KvmException;
import org.vireo.kvm.KvmStatus;

/** The DS component registers the accelerator with the probe's answer as properties, KVM or not. */
public class KvmAcceleratorComponentTest {
    /** A registration, its properties as last set (the probe sets them when it is done). */
    private static final class Registered {
        final Class<?> type;
        final Object service;
        volatile Dictionary<String, ?> properties;

        Registered(Class<?> type, Object service, Dictionary<String, ?> properties) {
            this.type = type;
            this.service = service;
            this.properties = properties;
        }

        Class<?> type() { return type; }
        Object service() { return service; }
        Dictionary<String, ?> properties() { return properties; }
    }

    private final List<Registered> registered = new ArrayList<>();
    private final List<String> unregistered = new ArrayList<>();

    @SuppressWarnings("unchecked")
    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("registerService") && args[0] instanceof Class<?> type) {
                        Registered r = new Registered(type, args[1], (Dictionary<String, ?>) args[2]);
                        registered.add(r);
                        return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class},
                                (p, m, a) -> {
                                    if (m.getName().equals("unregister")) unregistered.add(type.getName());
                                    if (m.getName().equals("setProperties")) r.properties = (Dictionary<String, ?>) a[0];
                                    return null;
                                });
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static KvmAcceleratorComponent.Config config(String device) {
        return (KvmAcceleratorComponent.Config) Proxy.newProxyInstance(KvmAcceleratorComponentTest.class.getClassLoader(),
                new Class<?>[] {KvmAcceleratorComponent.Config.class}, (p, m, a) -> switch (m.getName()) {
                    case "device" -> device;
                    case "annotationType" -> KvmAcceleratorComponent.Config.class;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    public void withoutKvmTheServiceSaysWhyAndRefusesToOpen() throws InterruptedException {
        KvmAcceleratorComponent c = new KvmAcceleratorComponent();
        c.activate(context(), config("/nonexistent/kvm"));
        assertEquals(1, registered.size());
        Registered r = registered.get(0);
        assertSame(KvmAccelerator.class, r.type());
        assertSame(c, r.service());
        c.awaitProbe();
        assertFalse(c.usable());
        assertEquals(false, r.properties().get(KvmAccelerator.AVAILABLE_PROPERTY));
        assertEquals("UNAVAILABLE", r.properties().get(KvmAccelerator.STATE_PROPERTY));
        assertTrue((String) r.properties().get(KvmAccelerator.REASON_PROPERTY), ((String) r.properties().get(KvmAccelerator.REASON_PROPERTY)).startsWith("no /nonexistent/kvm"));
        assertFalse(c.usable());
        KvmException e = assertThrows(KvmException.class, c::open);
        assertTrue(e.getMessage(), e.getMessage().contains("KVM is not usable: no /nonexistent/kvm"));
        c.deactivate();
        assertEquals(List.of(KvmAccelerator.class.getName()), unregistered);
    }

    /** Nobody asked for KVM when the component starts: what it found is said only at DEBUG (issue 9). */
    @Test
    public void theProbeIsQuietWhateverItFinds() throws InterruptedException {
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger(KvmAcceleratorComponent.class.getName());
        List<java.util.logging.LogRecord> records = new ArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord r) { if (jul.isLoggable(r.getLevel())) records.add(r); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        java.util.logging.Level old = jul.getLevel();
        jul.setLevel(java.util.logging.Level.ALL);
        jul.addHandler(handler);
        try {
            for (String device : List.of("/nonexistent/kvm", "/dev/null", Kvm.DEFAULT_DEVICE)) {
                KvmAcceleratorComponent c = new KvmAcceleratorComponent();
                c.activate(context(), config(device));
                c.awaitProbe(); // the probe runs on its own thread: wait for what it logs
                c.deactivate();
            }
        } finally {
            jul.removeHandler(handler);
            jul.setLevel(old);
        }
        assertFalse("the capture saw nothing", records.isEmpty()); // each probe says what it found, at DEBUG
        for (java.util.logging.LogRecord r : records) {
            assertTrue(r.getLevel() + " " + r.getMessage(), r.getLevel().intValue() < java.util.logging.Level.INFO.intValue());
        }
        KvmStatus none = KvmStatus.probe("/nonexistent/kvm");
        String text = KvmStatusCommand.describe(none);
        assertTrue(text, text.startsWith("KVM     UNAVAILABLE"));
        assertTrue(text, text.contains("reason  no /nonexistent/kvm"));
        assertTrue(text, text.contains("CPU emulator"));
    }

    @Test
    public void onThisHostTheServiceMatchesTheProbe() throws InterruptedException {
        KvmAcceleratorComponent c = new KvmAcceleratorComponent();
        c.activate(context(), config(Kvm.DEFAULT_DEVICE));
        c.awaitProbe();
        KvmStatus probe = KvmStatus.probe();
        assertEquals(probe.state(), c.status().state());
        assertEquals(probe.available(), registered.get(0).properties().get(KvmAccelerator.AVAILABLE_PROPERTY));
        if (c.usable()) {
            try (Kvm kvm = c.open()) {
                assertNotNull(kvm.supportedCpuid());
            }
        }
        c.deactivate();
    }

    /** The service is registered at activation; the probe, on its own thread, adds its answer to that registration. */
    @Test
    public void theProbesAnswerArrivesAsPropertiesOfTheRegistration() throws InterruptedException {
        KvmAcceleratorComponent c = new KvmAcceleratorComponent();
        c.activate(context(), config("/nonexistent/kvm"));
        assertEquals(1, registered.size());
        c.awaitProbe();
        assertEquals("UNAVAILABLE", registered.get(0).properties().get(KvmAccelerator.STATE_PROPERTY));
        c.deactivate();
        c.deactivate(); // twice is harmless
        assertEquals(1, unregistered.size());
    }
}
