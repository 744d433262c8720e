package org.vireo.it;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.CoreOptions.workingDirectory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.inject.Inject;
import org.junit.After;
import org.junit.Rule;
import org.junit.rules.TestName;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Boots Felix with the runtime feature's bundles (from the local Maven repository) and every Vireo bundle (from the
 * reactor), and gives tests helpers to configure machines and devices and to wait for the services that result.
 * Each test uses its own machine name, so the services it waits for are its own, and deletes its configurations.
 */
public abstract class VireoTestSupport {
    /** Failure guard only: how long to wait for a service to come or go. */
    protected static final long TIMEOUT_SECONDS = 30;

    static final String[] RUNTIME_BUNDLES = {
            "org.apache.felix:org.apache.felix.scr",
            "org.osgi:org.osgi.service.component",
            "org.osgi:org.osgi.util.promise",
            "org.osgi:org.osgi.util.function",
            "org.apache.felix:org.apache.felix.configadmin",
            "org.apache.felix:org.apache.felix.metatype",
            "org.apache.felix:org.apache.felix.log",
            "org.apache.felix:org.apache.felix.fileinstall",
            "org.apache.felix:org.apache.felix.gogo.runtime",
            "org.apache.felix:org.apache.felix.gogo.shell",
            "org.apache.felix:org.apache.felix.gogo.command",
    };

    public static final String MACHINE_PID = "org.vireo.machine.hosted";
    public static final String BLK_PID = "org.vireo.virtio.blk";
    public static final String NET_PID = "org.vireo.virtio.net";
    public static final String CONSOLE_PID = "org.vireo.virtio.console";
    public static final String RNG_PID = "org.vireo.virtio.rng";

    private static final AtomicInteger UNIQUE = new AtomicInteger();

    @Inject
    protected BundleContext context;

    @Inject
    protected ConfigurationAdmin configAdmin;

    @Rule
    public TestName testName = new TestName();

    private final List<org.osgi.service.cm.Configuration> configurations = new ArrayList<>();

    /** The Vireo bundle jars, as failsafe passes them (see the pom): the reactor's own build of each. */
    static List<Path> vireoBundles() {
        String list = System.getProperty("vireo.bundles");
        if (list == null || list.isBlank()) throw new IllegalStateException("system property vireo.bundles is not set (run through mvn verify)");
        return Arrays.stream(list.split(",")).map(String::strip).filter(s -> !s.isEmpty()).map(Path::of).toList();
    }

    static Path workDir() {
        return Path.of(System.getProperty("vireo.it.work", "target/it-work")).toAbsolutePath();
    }

    @Configuration
    public Option[] config() throws IOException {
        Path work = workDir();
        Path deploy = deployDir();
        VireoFileUtil.deleteTree(deploy);
        Files.createDirectories(deploy);
        List<Option> options = new ArrayList<>();
        options.add(workingDirectory(work.resolve("felix").toString()));
        options.add(cleanCaches(true));
        options.add(frameworkProperty("felix.log.level").value("1"));
        options.add(frameworkProperty("felix.fileinstall.dir").value(deploy.toString()));
        options.add(frameworkProperty("felix.fileinstall.poll").value("250"));
        options.add(frameworkProperty("felix.fileinstall.noInitialDelay").value("true"));
        options.add(frameworkProperty("felix.fileinstall.enableConfigSave").value("false"));
        options.add(frameworkProperty("felix.fileinstall.log.level").value("1"));
        // Gogo's shell must not read the test JVM's stdin (and stop the framework at its EOF).
        options.add(frameworkProperty("gosh.args").value("--nointeractive"));
        for (String ga : RUNTIME_BUNDLES) {
            String[] parts = ga.split(":");
            options.add(mavenBundle(parts[0], parts[1]).versionAsInProject());
        }
        for (Path jar : vireoBundles()) {
            if (!Files.isRegularFile(jar)) throw new IllegalStateException("bundle not built: " + jar);
            options.add(bundle(jar.toUri().toString()));
        }
        options.add(junitBundles());
        return options.toArray(Option[]::new);
    }

    /** The directory FileInstall watches in this test class's framework. */
    protected Path deployDir() {
        return workDir().resolve("deploy-" + getClass().getSimpleName());
    }

    @After
    public void deleteConfigurations() throws Exception {
        // Newest first: devices before their machine, as a user tearing down would.
        for (int i = configurations.size() - 1; i >= 0; i--) {
            try {
                configurations.get(i).delete();
            } catch (IllegalStateException alreadyDeleted) {
                // the test deleted it itself
            }
        }
        configurations.clear();
    }

    /** A machine name no other test uses, e.g. "it-roundTrip-3". */
    protected String uniqueName(String prefix) {
        String method = testName.getMethodName().replaceAll("[^A-Za-z0-9]", "");
        return prefix + "-" + (method.length() > 24 ? method.substring(0, 24) : method) + "-" + UNIQUE.incrementAndGet();
    }

    /** Creates (and removes after the test) the named factory configuration {@code factoryPid~name}. */
    protected org.osgi.service.cm.Configuration factoryConfiguration(String factoryPid, String name, Map<String, ?> properties) throws IOException {
        org.osgi.service.cm.Configuration configuration = configAdmin.getFactoryConfiguration(factoryPid, name, "?");
        Dictionary<String, Object> dictionary = new Hashtable<>();
        properties.forEach(dictionary::put);
        configuration.update(dictionary);
        configurations.add(configuration);
        return configuration;
    }

    protected org.osgi.service.cm.Configuration machine(String machineName) throws IOException {
        return factoryConfiguration(MACHINE_PID, machineName, Map.of("machine.name", machineName, "memory.mib", 64));
    }

    /** A device configuration with the common properties, plus {@code extra}. */
    protected org.osgi.service.cm.Configuration device(String factoryPid, String deviceName, String machineName, String transport,
                                                       Map<String, ?> extra) throws IOException {
        Map<String, Object> props = new java.util.HashMap<>(extra);
        props.put("virtio.device.name", deviceName);
        props.put("machine.name", machineName);
        props.put("virtio.transport", transport);
        return factoryConfiguration(factoryPid, deviceName, props);
    }

    /** A sparse raw image of {@code bytes} bytes under target/. */
    protected Path image(String name, long bytes) throws IOException {
        Path dir = Files.createDirectories(workDir().resolve("images"));
        Path image = dir.resolve(name + ".img");
        Files.deleteIfExists(image);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(bytes);
        }
        return image;
    }

    protected Filter filter(Class<?> type, String extra) {
        String f = "(&(objectClass=" + type.getName() + ")" + (extra == null ? "" : extra) + ")";
        try {
            return FrameworkUtil.createFilter(f);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(f, e);
        }
    }

    /** Waits (failure guard: {@value #TIMEOUT_SECONDS} s) for a {@code type} service matching {@code extra} and returns it. */
    protected <T> T await(Class<T> type, String extra) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, filter(type, extra), null);
        tracker.open();
        try {
            T service = tracker.waitForService(TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS));
            assertNotNull("no " + type.getSimpleName() + " service " + extra + " within " + TIMEOUT_SECONDS + " s", service);
            return service;
        } finally {
            tracker.close();
        }
    }

    /** Waits (failure guard) until no {@code type} service matches {@code extra}. */
    protected void awaitAbsent(Class<?> type, String extra) throws InterruptedException {
        Filter filter = filter(type, extra);
        CountDownLatch gone = new CountDownLatch(1);
        AtomicInteger present = new AtomicInteger();
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(context, filter, null) {
            @Override
            public Object addingService(ServiceReference<Object> reference) {
                present.incrementAndGet();
                return reference;
            }

            @Override
            public void removedService(ServiceReference<Object> reference, Object service) {
                if (present.decrementAndGet() == 0) gone.countDown();
            }
        };
        tracker.open();
        try {
            if (present.get() == 0) return;
            if (!gone.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)) fail(type.getSimpleName() + " " + extra + " still registered after " + TIMEOUT_SECONDS + " s");
        } finally {
            tracker.close();
        }
    }

    /**
     * Runs a blocking call that has no timeout of its own (disk I/O, entropy reads) on another thread, failing the
     * test instead of hanging it when the call does not return within {@value #TIMEOUT_SECONDS} s.
     */
    protected static <T> T guarded(java.util.concurrent.Callable<T> call) throws Exception {
        java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            return executor.submit(call).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("no answer within " + TIMEOUT_SECONDS + " s");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception cause) throw cause;
            throw e;
        } finally {
            executor.shutdownNow();
        }
    }

    protected Bundle installedBundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) return b;
        }
        throw new AssertionError("bundle " + symbolicName + " is not installed");
    }

    protected static String machineFilter(String machineName) {
        return "(machine.name=" + machineName + ")";
    }
}
