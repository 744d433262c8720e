package org.vireo.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The launcher's command line: {@code vireo [shell] [-c COMMANDS]... [--deploy DIR] [--http [HOST:]PORT|PATH]...},
 * {@code vireo [--deploy DIR] [--http ...] run ARGS...} or {@code vireo --help}.
 *
 * @param http where the HTTP API and web console listen ({@link HttpListen}); empty: no HTTP at all
 */
public record LaunchOptions(Command command, List<String> commands, Path deployDir, List<String> runArgs, List<HttpListen> http) {

    public enum Command { SHELL, RUN, HELP }

    public static final Path DEFAULT_DEPLOY_DIR = Path.of("deploy");

    public static final String USAGE = """
            Usage: vireo [shell] [-c COMMANDS]... [--deploy DIR] [--http [HOST:]PORT|PATH]...
                   vireo [--deploy DIR] [--http [HOST:]PORT|PATH]... run ARGS...
                   vireo --help

            Starts the Vireo OSGi runtime (Apache Felix) with every bundle of bundle/ and hot-deploys the bundles
            and configurations (*.jar, *.cfg, *.config) of the deploy directory.

            Commands:
              shell        (default) the Gogo shell on this terminal; without a terminal the runtime runs until stopped
              run ARGS     starts a virtual machine; ARGS go to the VMM bundle
            Options:
              -c COMMANDS  runs Gogo commands (e.g. 'virtio:devices'), prints the result and exits: status 0,
                           or non-zero with the error message when a command fails. Repeat -c to see the
                           result of each (Gogo prints only the last result of 'a; b').
              --deploy DIR the hot-deploy directory (default ./deploy); when it does not exist it is created
                           with a demo configuration (a hosted machine "java" and one device of each kind)
              --http [HOST:]PORT|PATH
                           also starts the HTTP management API and web console (the vireo-http feature):
                           on HOST:PORT (HOST defaults to 127.0.0.1; PORT 0 picks a free one), or on the
                           Unix domain socket PATH (a name with a '/'; plus a free port on 127.0.0.1, which
                           Felix HTTP needs to start). Repeat it for both. Beyond loopback, mutating calls
                           need the API token (see README). Without --http nothing listens on HTTP.
              --help       this text
            """;

    public LaunchOptions {
        commands = List.copyOf(commands);
        runArgs = List.copyOf(runArgs);
        http = List.copyOf(http);
    }

    /** One {@code --http} value: a TCP host and port, or a Unix domain socket path. */
    public record HttpListen(String host, int port, Path socket) {
        static HttpListen parse(String value) throws UsageException {
            if (value.contains("/")) return new HttpListen(null, -1, Path.of(value));
            int colon = value.lastIndexOf(':');
            String host = colon < 0 ? "127.0.0.1" : value.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            String port = colon < 0 ? value : value.substring(colon + 1);
            if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ')) throw new UsageException("--http: bad host in " + value);
            try {
                int p = Integer.parseInt(port);
                if (p < 0 || p > 65535) throw new NumberFormatException();
                return new HttpListen(host, p, null);
            } catch (NumberFormatException e) {
                throw new UsageException("--http takes [HOST:]PORT (PORT 0-65535) or a socket PATH with a '/', not " + value);
            }
        }
    }

    /** Thrown for a command line that cannot be understood; the message says why. */
    public static final class UsageException extends Exception {
        public UsageException(String message) {
            super(message);
        }
    }

    public static LaunchOptions parse(String... args) throws UsageException {
        Command command = null;
        List<String> commands = new ArrayList<>();
        Path deployDir = DEFAULT_DEPLOY_DIR;
        List<String> runArgs = new ArrayList<>();
        List<HttpListen> http = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h", "-?" -> {
                    return new LaunchOptions(Command.HELP, List.of(), deployDir, List.of(), List.of());
                }
                case "-c", "--command" -> {
                    if (command == null) command = Command.SHELL;
                    if (i + 1 >= args.length) throw new UsageException(arg + " needs the commands to run");
                    commands.add(args[++i]);
                }
                case "--deploy" -> {
                    if (i + 1 >= args.length) throw new UsageException("--deploy needs a directory");
                    deployDir = Path.of(args[++i]);
                }
                case "--http" -> {
                    if (i + 1 >= args.length) throw new UsageException("--http needs [HOST:]PORT or a socket PATH");
                    HttpListen listen = HttpListen.parse(args[++i]);
                    if (listen.socket() == null && http.stream().anyMatch(h -> h.socket() == null)) {
                        throw new UsageException("--http: one HOST:PORT only (Felix HTTP has one HTTP connector); a socket PATH may be added");
                    }
                    if (listen.socket() != null && http.stream().anyMatch(h -> h.socket() != null)) {
                        throw new UsageException("--http: one socket PATH only");
                    }
                    http.add(listen);
                }
                case "shell" -> {
                    if (command != null) throw new UsageException("unexpected argument: shell");
                    command = Command.SHELL;
                }
                case "run" -> {
                    if (command != null) throw new UsageException("unexpected argument: run");
                    if (!commands.isEmpty()) throw new UsageException("-c belongs to the shell command, not to run");
                    // everything after "run" belongs to the VMM
                    runArgs.addAll(List.of(args).subList(i + 1, args.length));
                    return new LaunchOptions(Command.RUN, List.of(), deployDir, runArgs, http);
                }
                default -> throw new UsageException(arg.startsWith("-") ? "unknown option: " + arg : "unknown command: " + arg);
            }
        }
        return new LaunchOptions(command == null ? Command.SHELL : command, commands, deployDir, List.of(), http);
    }
}
