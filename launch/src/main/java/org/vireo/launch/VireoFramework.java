package org.vireo.launch;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/** One Felix framework: storage in a temporary directory that is deleted when it stops (see {@link StorageTemplate}). */
final class VireoFramework implements AutoCloseable {
    private final Framework framework;
    private final Path storage;
    private final PrintStream err;
    /** System.nanoTime() of the last service registered, modified or unregistered (see {@link #nanosSinceLastServiceEvent}). */
    private final AtomicLong lastServiceEvent = new AtomicLong(System.nanoTime());
    /** Notified on every service event, after {@link #serviceEventCount} has counted it. */
    private final Object serviceEvents = new Object();
    private final AtomicLong serviceEventCount = new AtomicLong();

    /** Where to save this storage as the template once the bundles of bundle/ are installed; null: not to. */
    private StorageTemplate template;

    private VireoFramework(Framework framework, Path storage, PrintStream err) {
        this.framework = framework;
        this.storage = storage;
        this.err = err;
    }

    /**
     * Creates and starts the framework with {@code properties} (plus the storage location) in a new temporary storage,
     * filled from {@code template} when there is one ({@link StorageTemplate}; null: none).
     */
    static VireoFramework start(Map<String, String> properties, StorageTemplate template, PrintStream err, StartupTiming timing)
            throws IOException, BundleException {
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class).findFirst()
                .orElseThrow(() -> new BundleException("no OSGi framework on the class path (lib/ is missing Felix)"));
        Path storage = Files.createTempDirectory("vireo-felix-");
        boolean filled = template != null && template.fill(storage);
        timing.mark(filled ? "storage made from the template" : "storage made (empty)");
        Map<String, String> config = new HashMap<>(properties);
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        // A new directory needs no cleaning; one filled from the template must keep its bundles.
        if (!filled) config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        Framework framework = factory.newFramework(config);
        VireoFramework vireo = new VireoFramework(framework, storage, err);
        vireo.template = filled ? null : template;
        try {
            framework.start();
            ServiceListener listener = event -> {
                vireo.lastServiceEvent.set(System.nanoTime());
                vireo.serviceEventCount.incrementAndGet();
                synchronized (vireo.serviceEvents) {
                    vireo.serviceEvents.notifyAll();
                }
            };
            framework.getBundleContext().addServiceListener(listener);
        } catch (BundleException | RuntimeException e) {
            vireo.close();
            throw e;
        }
        return vireo;
    }

    /** Nanoseconds since the last service event (or since the framework started, if none). */
    long nanosSinceLastServiceEvent() {
        return System.nanoTime() - lastServiceEvent.get();
    }

    /**
     * Waits until {@code ready} holds, asking again after every service event, or until no service has come or gone
     * for {@code quietMillis} (counted from the last service event, not from this call), or {@code maxMillis} have
     * passed: then what is missing is not on its way.
     *
     * @return whether {@code ready} holds
     */
    boolean awaitServices(BooleanSupplier ready, long quietMillis, long maxMillis) throws InterruptedException {
        long quiet = TimeUnit.MILLISECONDS.toNanos(quietMillis);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
        while (true) {
            long seen = serviceEventCount.get();
            // Asked outside the lock: the question may call into the framework, whose threads notify under the lock.
            if (ready.getAsBoolean()) return true;
            long untilQuiet = quiet - nanosSinceLastServiceEvent();
            long untilDeadline = deadline - System.nanoTime();
            if (untilQuiet <= 0 || untilDeadline <= 0 || isStopping()) return false;
            synchronized (serviceEvents) {
                if (serviceEventCount.get() == seen) TimeUnit.NANOSECONDS.timedWait(serviceEvents, Math.min(untilQuiet, untilDeadline));
            }
        }
    }

    BundleContext context() {
        return framework.getBundleContext();
    }

    boolean isStopping() {
        return (framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) == 0;
    }

    /**
     * Installs every jar of {@code bundleDir}, then starts those that are not fragments, in {@link StartOrder} for
     * {@code command} (e.g. "run"; null: the jars' order). A bundle that fails to install or start is reported on
     * {@code err}; the others still start. Once the framework is stopping (a command that ended at once), the rest
     * is not started.
     *
     * @return the bundles installed
     */
    List<Bundle> installAndStart(Path bundleDir, String command, StartupTiming timing) throws IOException {
        List<Path> jars;
        try (Stream<Path> files = Files.list(bundleDir)) {
            jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
        BundleContext context = context();
        List<Bundle> installed = new ArrayList<>();
        int already = context.getBundles().length - 1;   // from the storage template; installBundle returns them
        for (Path jar : jars) {
            try {
                installed.add(context.installBundle(jar.toUri().toString()));
            } catch (BundleException e) {
                err.println("vireo: cannot install " + jar.getFileName() + ": " + e.getMessage());
            }
        }
        if (template != null && installed.size() == jars.size()) {
            template.save(storage);   // before anything starts: the template holds installed bundles only
        }
        template = null;   // only bundle/, the first folder installed
        timing.mark("bundles installed (" + installed.size() + (already > 0 ? ", " + already + " from the storage template)" : ")"));
        List<Bundle> order = StartOrder.forCommand(context.getBundle(0), installed, command);
        Bundle lastHandler = null;
        for (Bundle b : order) if (command != null && StartOrder.declares(b, StartOrder.NAMESPACE, command)) lastHandler = b;
        for (Bundle bundle : order) {
            if (bundle.getHeaders().get(Constants.FRAGMENT_HOST) != null) continue;
            if (isStopping()) break;
            try {
                long began = System.nanoTime();
                bundle.start();
                timing.slow("started " + bundle.getSymbolicName(), System.nanoTime() - began);
            } catch (BundleException | IllegalStateException e) {
                if (!isStopping()) err.println("vireo: cannot start " + bundle.getSymbolicName() + ": " + GogoCommands.messageOf(e));
            }
            if (bundle == lastHandler) {
                timing.mark("started the " + command + " command's bundle");
                // The rest (shell, Gogo, FileInstall, drivers) would take the CPU the guest's start needs on 2 cores.
                if (awaitGuestRunning(GUEST_START_WAIT_SECONDS)) timing.mark("the guest runs: starting the other bundles");
            }
        }
        timing.mark("bundles resolved and started");
        return installed;
    }

    /** How long the other bundles of a run wait for its guest to start (a slow kernel load must not keep them away). */
    static final long GUEST_START_WAIT_SECONDS = 10;
    /** The machine service of a run whose vCPU has started (org.vireo.vmm sets the property; launch/README.md). */
    static final String GUEST_RUNNING_FILTER = "(&(" + Constants.OBJECTCLASS + "=" + StartupTiming.MACHINE + ")(" + StartupTiming.MACHINE_RUNNING + "=true))";

    /**
     * Waits until a machine says its guest runs, the framework is stopping (the run ended before), or
     * {@code seconds} have passed.
     *
     * @return whether the guest runs
     */
    boolean awaitGuestRunning(long seconds) {
        BundleContext context = context();
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        ServiceListener running = event -> done.countDown();
        org.osgi.framework.SynchronousBundleListener stopping = event -> {
            if (event.getBundle().getBundleId() == 0 && event.getType() == org.osgi.framework.BundleEvent.STOPPING) done.countDown();
        };
        try {
            context.addServiceListener(running, GUEST_RUNNING_FILTER);
            context.addBundleListener(stopping);
            try {
                if (context.getServiceReferences((String) null, GUEST_RUNNING_FILTER) != null) return true;
                if (isStopping()) return false;
                done.await(seconds, TimeUnit.SECONDS);
                return context.getServiceReferences((String) null, GUEST_RUNNING_FILTER) != null;
            } finally {
                context.removeServiceListener(running);
                context.removeBundleListener(stopping);
            }
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        } catch (IllegalStateException e) {
            return false;   // the framework stopped
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits until the framework has stopped (by a bundle, the shell or {@link #close()}); 0 waits forever. */
    void waitForStop(long millis) throws InterruptedException {
        framework.waitForStop(millis);
    }

    /** Stops the framework (if running), waits up to 30 s for it, and deletes its storage. Idempotent. */
    @Override
    public synchronized void close() {
        try {
            if ((framework.getState() & (Bundle.ACTIVE | Bundle.STARTING | Bundle.STOPPING)) != 0) {
                framework.stop();
                FrameworkEvent event = framework.waitForStop(30_000);
                if (event.getType() == FrameworkEvent.WAIT_TIMEDOUT) err.println("vireo: the framework did not stop within 30 s");
            }
        } catch (BundleException e) {
            err.println("vireo: stopping the framework failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            deleteRecursively(storage);
        }
    }

    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) return;
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // a leftover temporary directory is not worth failing the exit for
        }
    }
}
