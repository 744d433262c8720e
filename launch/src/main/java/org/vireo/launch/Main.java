package org.vireo.launch;

import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.BundleException;

/**
 * The {@code vireo} command: starts Apache Felix with the bundles of the distribution's bundle/ folder and hot-deploys
 * the deploy directory through FileInstall. See {@link LaunchOptions#USAGE}.
 * <p>
 * Protocol with the bundles (System properties, since framework properties fall back to them):
 * <ul>
 * <li>{@value #EXIT_CODE}: the exit status once the framework has stopped (set by whichever bundle decides it;
 *     absent means 0).</li>
 * <li>{@value #RUN_ARGS} (framework property): the arguments of {@code vireo run}, joined with NUL characters.</li>
 * <li>{@value #HTTP_UNIX_SOCKET} (framework property): with {@code --http PATH}, the socket the HTTP API serves on.</li>
 * <li>{@value #RUN_CLAIMED}: set (to any value) by the bundle that handles {@code vireo run}, within
 *     {@value #RUN_CLAIM_SECONDS} s of startup; until then the launcher assumes no VMM is installed. It then stops the
 *     framework when the machine is done, after setting {@value #EXIT_CODE}.</li>
 * </ul>
 */
public final class Main {
    public static final String EXIT_CODE = "vireo.exit.code";
    public static final String RUN_ARGS = "vireo.run.args";
    public static final String RUN_CLAIMED = "vireo.run.claimed";
    /** Overrides where bundle/, lib/ and conf/ are (default: the folder holding vireo.jar). */
    public static final String HOME = "vireo.home";
    /** Framework property: the Unix domain socket org.vireo.api.http serves HTTP on (launch/vireo --http PATH). */
    public static final String HTTP_UNIX_SOCKET = "vireo.http.unix";
    /** {@code -Dvireo.storage.template=false}: install every bundle anew, without {@link StorageTemplate}. */
    static final String STORAGE_TEMPLATE = "vireo.storage.template";
    static final String HTTP_RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    static final int RUN_CLAIM_SECONDS = 10;
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_NO_VMM = 2;
    /** How long -c waits for a command that is not registered yet (see {@link #awaitCommands}). */
    private static final long SETTLE_QUIET_MILLIS = 300;
    private static final long SETTLE_MAX_MILLIS = 5_000;

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private final StartupTiming timing;

    Main(InputStream in, PrintStream out, PrintStream err, StartupTiming timing) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.timing = timing;
    }

    public static void main(String[] args) {
        StartupTiming timing = StartupTiming.fromSystemProperties(System.err);
        ConsoleLogging.configure();
        // Gogo's runtime replaces System.out/err with per-thread streams: keep the real ones for the launcher.
        int status = new Main(System.in, System.out, System.err, timing).run(args);
        timing.mark("exit");
        System.out.flush();
        System.exit(status);
    }

    int run(String... args) {
        LaunchOptions options;
        try {
            options = LaunchOptions.parse(args);
        } catch (LaunchOptions.UsageException e) {
            err.println("vireo: " + e.getMessage());
            err.print(LaunchOptions.USAGE);
            return EXIT_USAGE;
        }
        if (options.command() == LaunchOptions.Command.HELP) {
            out.print(LaunchOptions.USAGE);
            return 0;
        }
        try {
            return launch(options);
        } catch (IOException | BundleException | LaunchException e) {
            err.println("vireo: " + GogoCommands.messageOf(e));
            return EXIT_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_FAILURE;
        }
    }

    /** A launch problem with a message meant for the user. */
    static final class LaunchException extends Exception {
        LaunchException(String message) {
            super(message);
        }
    }

    private int launch(LaunchOptions options) throws IOException, BundleException, LaunchException, InterruptedException {
        Path home = home();
        Path bundleDir = home.resolve("bundle");
        if (!Files.isDirectory(bundleDir)) throw new LaunchException("no bundle directory at " + bundleDir);
        Path deployDir = options.deployDir().toAbsolutePath().normalize();
        DeployDirectory.prepare(deployDir, home.resolve("conf"));

        boolean interactive = options.command() == LaunchOptions.Command.SHELL && options.commands().isEmpty() && stdinIsTerminal();
        Map<String, String> properties = frameworkProperties(deployDir, interactive);
        if (options.command() == LaunchOptions.Command.RUN) properties.put(RUN_ARGS, String.join("\0", options.runArgs()));
        Path httpBundles = bundleDir.resolve("http");
        if (!options.http().isEmpty()) {
            if (!Files.isDirectory(httpBundles)) throw new LaunchException("--http: no HTTP bundles at " + httpBundles + " (rebuild: mvn install)");
            properties.putAll(httpProperties(options.http()));
            // Jetty logs through SLF4J (slf4j-simple in the vireo-http feature): warnings and errors only, on stderr.
            if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }

        VireoFramework framework = VireoFramework.start(properties, storageTemplate(home), err, timing);
        timing.mark("framework started (Felix)");
        timing.watchServices(framework.context());
        Thread shutdownHook = new Thread(framework::close, "vireo-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            String command = options.command() == LaunchOptions.Command.RUN ? "run" : null;
            framework.installAndStart(bundleDir, command, timing);
            if (!options.http().isEmpty()) {
                framework.installAndStart(httpBundles, null, timing);
                announceHttp(framework, options.http());
            }
            int status = switch (options.command()) {
                case SHELL -> options.commands().isEmpty()
                        ? awaitStop(framework)
                        : runCommands(framework, options.commands(), deployDir);
                case RUN -> runMachine(framework);
                case HELP -> throw new AssertionError();
            };
            framework.close();
            timing.mark("framework stopped");
            return exitCodeOr(status);
        } finally {
            framework.close();
            removeHook(shutdownHook);
        }
    }

    /**
     * Felix HTTP's framework properties for {@code --http}: its one HTTP connector on the given host and port (a free
     * port on 127.0.0.1 when only a socket is asked for: Felix HTTP starts Jetty only with HTTP or HTTPS on), and
     * {@value #HTTP_UNIX_SOCKET} for org.vireo.api.http's Unix-domain connector.
     */
    static Map<String, String> httpProperties(List<LaunchOptions.HttpListen> listens) {
        Map<String, String> p = new HashMap<>();
        LaunchOptions.HttpListen tcp = listens.stream().filter(l -> l.socket() == null).findFirst()
                .orElse(new LaunchOptions.HttpListen("127.0.0.1", 0, null));
        p.put("org.apache.felix.http.enable", "true");
        p.put("org.apache.felix.https.enable", "false");
        p.put("org.apache.felix.http.host", tcp.host());
        p.put("org.osgi.service.http.port", Integer.toString(tcp.port()));
        p.put("org.apache.felix.http.jetty.sendServerHeader", "false");
        listens.stream().filter(l -> l.socket() != null).findFirst()
                .ifPresent(l -> p.put(HTTP_UNIX_SOCKET, l.socket().toAbsolutePath().toString()));
        return p;
    }

    /** Prints where the API listens (the HTTP runtime's endpoints, which know the port 0 picked), waiting up to 10 s. */
    private void announceHttp(VireoFramework framework, List<LaunchOptions.HttpListen> listens) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> endpoints = List.of();
        while (endpoints.isEmpty() && System.nanoTime() - deadline < 0 && !framework.isStopping()) {
            try {
                org.osgi.framework.ServiceReference<?>[] refs = framework.context().getServiceReferences(HTTP_RUNTIME, null);
                if (refs != null) {
                    for (var r : refs) {
                        Object e = r.getProperty("osgi.http.endpoint");
                        if (e instanceof String one) endpoints = List.of(one);
                        else if (e instanceof String[] many) endpoints = List.of(many);
                        else if (e instanceof java.util.Collection<?> c) endpoints = c.stream().map(String::valueOf).toList();
                    }
                }
            } catch (org.osgi.framework.InvalidSyntaxException | IllegalStateException e) {
                break;
            }
            if (endpoints.isEmpty()) Thread.sleep(50);
        }
        if (endpoints.isEmpty()) {
            err.println("vireo: --http: the HTTP server did not start within 10 s (see the messages above)");
            return;
        }
        StringBuilder where = new StringBuilder(String.join(" ", endpoints));
        listens.stream().filter(l -> l.socket() != null).findFirst()
                .ifPresent(l -> where.append(" and unix:").append(l.socket().toAbsolutePath()));
        err.println("vireo: HTTP API and web console at " + where);
    }

    private int runCommands(VireoFramework framework, List<String> commands, Path deployDir) throws InterruptedException {
        try {
            GogoCommands.execute(framework.context(), commands, in, out, err, 30, TimeUnit.SECONDS,
                    (command, known) -> awaitCommands(framework, command, known, deployDir));
            timing.mark("commands done");
            return 0;
        } catch (GogoCommands.CommandException e) {
            err.println("vireo: " + e.getMessage());
            return EXIT_FAILURE;
        }
    }

    private static int awaitStop(VireoFramework framework) throws InterruptedException {
        framework.waitForStop(0);
        return 0;
    }

    private int runMachine(VireoFramework framework) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("vireo.run.claim.seconds", RUN_CLAIM_SECONDS));
        // The handler announces itself with a System property; polling it is the simplest contract a bundle can meet.
        while (System.getProperty(RUN_CLAIMED) == null && !framework.isStopping()) {
            if (System.nanoTime() - deadline > 0) {
                err.println("vireo run: the x86 core is not installed yet");
                return EXIT_NO_VMM;
            }
            Thread.sleep(50);
        }
        timing.mark("run claimed by the VMM bundle");
        framework.waitForStop(0);
        return 0;
    }

    /**
     * Waits until Gogo knows every command {@code command} names ({@link GogoScript#commandNames}) and Declarative
     * Services has taken up the deploy directory's configurations ({@link DeployedConfigurations}): at once, usually,
     * since the bundles have all started. What is missing then is waited for until the runtime settles (no service
     * event for {@value #SETTLE_QUIET_MILLIS} ms, at most {@value #SETTLE_MAX_MILLIS} ms); then the command runs anyway,
     * and Gogo says "Command not found" if it really is not there (or runs it, if the name was a closure the launcher
     * did not recognise).
     */
    private void awaitCommands(VireoFramework framework, String command, java.util.function.Supplier<java.util.Set<String>> known,
                               Path deployDir) throws InterruptedException {
        java.util.Set<String> names = GogoScript.commandNames(command);
        boolean ready = framework.awaitServices(() -> {
            java.util.Set<String> now = known.get();
            return names.stream().allMatch(name -> GogoScript.isKnown(name, now))
                    && DeployedConfigurations.applied(framework.context(), deployDir);
        }, SETTLE_QUIET_MILLIS, SETTLE_MAX_MILLIS);
        timing.mark((ready ? "commands registered: " : "settled, still missing some of: ") + String.join(" ", names));
    }

    /** A failure's own status, else the exit status a bundle asked for through {@value #EXIT_CODE}, else 0. */
    int exitCodeOr(int status) {
        if (status != 0) return status;
        String requested = System.getProperty(EXIT_CODE);
        if (requested == null || requested.isBlank()) return status;
        try {
            return Integer.parseInt(requested.strip());
        } catch (NumberFormatException e) {
            err.println("vireo: ignoring " + EXIT_CODE + "=" + requested + " (not an integer)");
            return EXIT_FAILURE;
        }
    }

    static Map<String, String> frameworkProperties(Path deployDir, boolean interactive) {
        Map<String, String> p = new HashMap<>();
        // FileInstall: bundles and configurations dropped into the deploy directory come and go at run time.
        p.put("felix.fileinstall.dir", deployDir.toString());
        p.put("felix.fileinstall.poll", "1000");
        p.put("felix.fileinstall.noInitialDelay", "true");
        p.put("felix.fileinstall.filter", ".*\\.(jar|cfg|config)");
        p.put("felix.fileinstall.log.level", "1");
        // The files are the source of truth: FileInstall must never write them back. (With config save on, it
        // rewrites .cfg files on configuration events, and a write cut short by the framework stopping leaves
        // them empty.)
        p.put("felix.fileinstall.enableConfigSave", "false");
        // The Gogo shell reads the terminal only when there is one and no -c was given (it stops the framework at EOF).
        p.put("gosh.args", interactive ? "" : "--nointeractive");
        // Errors only: the console belongs to the shell.
        p.put("felix.log.level", "1");
        p.put("ds.loglevel", "warn");
        return p;
    }

    private static boolean stdinIsTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** The storage template for this distribution ({@link StorageTemplate}), or null with {@value #STORAGE_TEMPLATE}=false. */
    private static StorageTemplate storageTemplate(Path home) {
        if (!Boolean.parseBoolean(System.getProperty(STORAGE_TEMPLATE, "true"))) return null;
        try {
            return StorageTemplate.of(home);
        } catch (IOException | RuntimeException e) {
            return null;   // a start that installs every bundle, as without the template
        }
    }

    private static Path home() throws LaunchException {
        String override = System.getProperty(HOME);
        if (override != null && !override.isBlank()) return Path.of(override).toAbsolutePath();
        try {
            Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent();
        } catch (URISyntaxException | RuntimeException e) {
            throw new LaunchException("cannot tell where vireo.jar is; set -D" + HOME + "=DIR");
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs anyway and close() is idempotent
        }
    }
}
