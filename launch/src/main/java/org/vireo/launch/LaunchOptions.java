package org.vireo.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The launcher's command line: {@code vireo [shell] [-c COMMANDS]... [--deploy DIR]}, {@code vireo [--deploy DIR] run ARGS...}
 * or {@code vireo --help}.
 */
public record LaunchOptions(Command command, List<String> commands, Path deployDir, List<String> runArgs) {

    public enum Command { SHELL, RUN, HELP }

    public static final Path DEFAULT_DEPLOY_DIR = Path.of("deploy");

    public static final String USAGE = """
            Usage: vireo [shell] [-c COMMANDS]... [--deploy DIR]
                   vireo [--deploy DIR] run ARGS...
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
              --help       this text
            """;

    public LaunchOptions {
        commands = List.copyOf(commands);
        runArgs = List.copyOf(runArgs);
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
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h", "-?" -> {
                    return new LaunchOptions(Command.HELP, List.of(), deployDir, List.of());
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
                case "shell" -> {
                    if (command != null) throw new UsageException("unexpected argument: shell");
                    command = Command.SHELL;
                }
                case "run" -> {
                    if (command != null) throw new UsageException("unexpected argument: run");
                    if (!commands.isEmpty()) throw new UsageException("-c belongs to the shell command, not to run");
                    // everything after "run" belongs to the VMM
                    runArgs.addAll(List.of(args).subList(i + 1, args.length));
                    return new LaunchOptions(Command.RUN, List.of(), deployDir, runArgs);
                }
                default -> throw new UsageException(arg.startsWith("-") ? "unknown option: " + arg : "unknown command: " + arg);
            }
        }
        return new LaunchOptions(command == null ? Command.SHELL : command, commands, deployDir, List.of());
    }
}
