package org.vireo.vmm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.vireo.x86.boot.BootPlan;

public class RunCommandComponentTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final CountDownLatch frameworkStopped = new CountDownLatch(1);
    private final java.util.List<String> services = new java.util.concurrent.CopyOnWriteArrayList<>();

    @After
    public void clearProperties() {
        System.clearProperty(RunCommandComponent.CLAIMED_PROPERTY);
        System.clearProperty(RunCommandComponent.EXIT_CODE_PROPERTY);
    }

    private BundleContext context(Map<String, String> properties) {
        Bundle systemBundle = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Bundle.class}, (p, m, a) -> {
            if (m.getName().equals("stop")) frameworkStopped.countDown();
            return null;
        });
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class}, (p, m, a) -> switch (m.getName()) {
            case "getProperty" -> properties.get((String) a[0]);
            case "getBundle" -> systemBundle;
            case "registerService" -> {
                services.add("registered " + ((java.util.Dictionary<?, ?>) a[2]).get("machine.name") + " " + (a[1] instanceof X86Machine));
                yield Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {org.osgi.framework.ServiceRegistration.class},
                        (p2, m2, a2) -> {
                            if (m2.getName().equals("unregister")) services.add("unregistered");
                            return null;
                        });
            }
            default -> null;
        });
    }

    /** A vCPU that resets the machine through the keyboard controller at once. */
    private static Vcpu resettingCpu(X86Machine m) {
        return new Vcpu() {
            @Override public void load(BootPlan plan) { }
            @Override public Exit run() {
                m.pio().write(0x64, 1, 0xfe);
                return Exit.STOPPED;
            }
            @Override public void stop() { }
            @Override public String describe() { return ""; }
        };
    }

    @Test
    public void runsTheCommandAndStopsTheFramework() throws Exception {
        Path kernel = TestImages.write(folder.getRoot().toPath(), "bzImage", TestImages.bzImage(new byte[16]));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        VmRunner runner = new VmRunner(new PrintStream(new ByteArrayOutputStream()), new PrintStream(log, true), null,
                RunCommandComponentTest::resettingCpu);
        RunCommandComponent component = new RunCommandComponent(runner);
        component.activate(context(Map.of(RunCommandComponent.ARGS_PROPERTY,
                String.join("\0", "--kernel", kernel.toString(), "--initrd", "none", "--append", "console=ttyS0 quiet"))));
        assertEquals("claimed before the VM runs", "true", System.getProperty(RunCommandComponent.CLAIMED_PROPERTY));
        assertTrue("the framework is stopped when the VM ends", frameworkStopped.await(30, TimeUnit.SECONDS));
        assertEquals("0", System.getProperty(RunCommandComponent.EXIT_CODE_PROPERTY));
        assertTrue(log.toString(), log.toString().contains("console=ttyS0 quiet"));
        assertEquals("the machine is a service while it runs", java.util.List.of("registered vm true", "unregistered"), services);
        component.deactivate();
    }

    @Test
    public void badArgumentsGiveAUsageExitCode() throws Exception {
        VmRunner runner = new VmRunner(new PrintStream(new ByteArrayOutputStream()), new PrintStream(new ByteArrayOutputStream()), null,
                RunCommandComponentTest::resettingCpu);
        new RunCommandComponent(runner).activate(context(Map.of(RunCommandComponent.ARGS_PROPERTY, "--no-such-option")));
        assertTrue(frameworkStopped.await(30, TimeUnit.SECONDS));
        assertEquals("2", System.getProperty(RunCommandComponent.EXIT_CODE_PROPERTY));
    }

    @Test
    public void withoutThePropertyNothingHappens() {
        new RunCommandComponent(new VmRunner(System.out, System.err, null, m -> { throw new AssertionError(); }))
                .activate(context(Map.of()));
        assertNull(System.getProperty(RunCommandComponent.CLAIMED_PROPERTY));
        assertEquals(1, frameworkStopped.getCount());
    }
}
