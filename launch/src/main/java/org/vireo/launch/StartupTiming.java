package org.vireo.launch;

import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import org.osgi.framework.AllServiceListener;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.SynchronousBundleListener;

/**
 * Start-up phases on stderr (issue 12), one line each as it is reached, in milliseconds since the launch/vireo script
 * started: {@code VIREO_TIMING=1 launch/vireo -c lb}. The script passes its own start and the moment it executes
 * java as {@value #PROPERTY} and {@value #EXEC_PROPERTY} (epoch seconds with microseconds, bash's
 * {@code $EPOCHREALTIME}); {@code java -Dvireo.timing=now -jar vireo.jar} counts from {@code main} instead. Off (every
 * method a no-op) when {@value #PROPERTY} is absent. The launcher's own switch: bundles never read it.
 */
final class StartupTiming {
    static final String PROPERTY = "vireo.timing";
    static final String EXEC_PROPERTY = "vireo.timing.exec";
    static final String SCR = "org.osgi.service.component.runtime.ServiceComponentRuntime";
    /** The VMM's machine service and the property it sets when the vCPU starts executing the guest (org.vireo.vmm). */
    static final String MACHINE = "org.vireo.machine.Machine";
    static final String MACHINE_RUNNING = "machine.running";

    static final long SLOW_MILLIS = 20;

    private static final StartupTiming OFF = new StartupTiming(null, null);

    private final Instant origin;
    private final PrintStream err;
    private Instant last;

    private StartupTiming(Instant origin, PrintStream err) {
        this.origin = origin;
        this.err = err;
        this.last = origin;
    }

    /** Timing from the system properties; {@code main} is marked at once (the first mark after JVM start-up). */
    static StartupTiming fromSystemProperties(PrintStream err) {
        Instant main = Instant.now();
        String start = System.getProperty(PROPERTY);
        if (start == null || start.isBlank()) return OFF;
        Instant origin = parse(start, main);
        StartupTiming timing = new StartupTiming(origin, err);
        String exec = System.getProperty(EXEC_PROPERTY);
        if (exec != null && !exec.isBlank()) timing.mark("script ready, exec java", parse(exec, origin));
        timing.mark("JVM started, in main", main);
        return timing;
    }

    /** An instant from "SECONDS.MICROS" (bash's $EPOCHREALTIME, whatever its decimal separator); else {@code fallback}. */
    static Instant parse(String epochSeconds, Instant fallback) {
        String[] parts = epochSeconds.strip().split("[.,]");
        try {
            long seconds = Long.parseLong(parts[0]);
            long micros = parts.length > 1 ? Long.parseLong((parts[1] + "000000").substring(0, 6)) : 0;
            return Instant.ofEpochSecond(seconds, micros * 1000);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    boolean enabled() {
        return origin != null;
    }

    void mark(String phase) {
        if (enabled()) mark(phase, Instant.now());
    }

    /** Reports one step of a phase that took {@value #SLOW_MILLIS} ms or more (e.g. one bundle's start). */
    void slow(String step, long nanos) {
        if (enabled() && nanos >= SLOW_MILLIS * 1_000_000L) {
            synchronized (this) {
                err.printf(Locale.ROOT, "vireo: timing              %7.1f ms  %s%n", nanos / 1e6, step);
                err.flush();
            }
        }
    }

    private synchronized void mark(String phase, Instant at) {
        long total = origin.until(at, ChronoUnit.MICROS);
        long delta = last.until(at, ChronoUnit.MICROS);
        if (at.isAfter(last)) last = at;
        err.printf(Locale.ROOT, "vireo: timing %7.1f ms  (+%6.1f)  %s%n", total / 1000.0, delta / 1000.0, phase);
        err.flush();
    }

    /**
     * Marks, on the thread that registers them, the first registration of Declarative Services' runtime (SCR ready)
     * and of Gogo's command processor (commands ready), and the first machine whose service says
     * {@value #MACHINE_RUNNING}=true: the VMM sets it on the vCPU thread just before the guest's first instruction.
     * Call before the bundles start; the listener stays until the framework stops. Also reports the bundles that take
     * {@value #SLOW_MILLIS} ms or more to stop.
     */
    void watchServices(BundleContext context) {
        if (!enabled()) return;
        String filter = "(|(" + Constants.OBJECTCLASS + "=" + SCR + ")(" + Constants.OBJECTCLASS + "=" + GogoCommands.PROCESSOR + ")"
                + "(&(" + Constants.OBJECTCLASS + "=" + MACHINE + ")(" + MACHINE_RUNNING + "=true)))";
        ServiceListener listener = new AllServiceListener() {
            private boolean scr;
            private boolean gogo;
            private boolean guest;

            @Override
            public synchronized void serviceChanged(ServiceEvent event) {
                if (event.getType() == ServiceEvent.UNREGISTERING) return;
                if (!guest && Boolean.TRUE.equals(event.getServiceReference().getProperty(MACHINE_RUNNING))) {
                    guest = true;
                    mark("first guest instruction (vCPU started)");
                    return;
                }
                if (event.getType() != ServiceEvent.REGISTERED) return;
                for (String type : (String[]) event.getServiceReference().getProperty(Constants.OBJECTCLASS)) {
                    if (type.equals(SCR) && !scr) {
                        scr = true;
                        mark("SCR ready (ServiceComponentRuntime registered)");
                    } else if (type.equals(GogoCommands.PROCESSOR) && !gogo) {
                        gogo = true;
                        mark("Gogo ready (CommandProcessor registered)");
                    }
                }
            }
        };
        // Stopping, one bundle after another on the thread that stops the framework: report the slow ones.
        java.util.Map<Long, Long> stopping = new java.util.concurrent.ConcurrentHashMap<>();
        context.addBundleListener((SynchronousBundleListener) event -> {
            long id = event.getBundle().getBundleId();
            if (event.getType() == BundleEvent.STOPPING) stopping.put(id, System.nanoTime());
            Long began = event.getType() == BundleEvent.STOPPED ? stopping.remove(id) : null;
            if (began != null) slow("stopped " + event.getBundle().getSymbolicName(), System.nanoTime() - began);
        });
        try {
            context.addServiceListener(listener, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
