package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.Test;
import org.vireo.launch.LaunchOptions.Command;
import org.vireo.launch.LaunchOptions.UsageException;

public class LaunchOptionsTest {
    @Test
    public void noArgumentsMeansTheShellOnTheDefaultDeployDirectory() throws Exception {
        LaunchOptions options = LaunchOptions.parse();
        assertEquals(Command.SHELL, options.command());
        assertEquals(List.of(), options.commands());
        assertEquals(Path.of("deploy"), options.deployDir());
    }

    @Test
    public void shellTakesCommandsAndADeployDirectoryInAnyOrder() throws Exception {
        LaunchOptions options = LaunchOptions.parse("shell", "--deploy", "/tmp/d", "-c", "lb; virtio:devices");
        assertEquals(Command.SHELL, options.command());
        assertEquals(List.of("lb; virtio:devices"), options.commands());
        assertEquals(Path.of("/tmp/d"), options.deployDir());
        assertEquals(List.of("lb", "virtio:devices"), LaunchOptions.parse("-c", "lb", "-c", "virtio:devices").commands());
    }

    @Test
    public void runKeepsEveryLaterArgumentForTheVmm() throws Exception {
        LaunchOptions options = LaunchOptions.parse("--deploy", "d", "run", "--kernel", "bzImage", "-c", "x");
        assertEquals(Command.RUN, options.command());
        assertEquals(List.of("--kernel", "bzImage", "-c", "x"), options.runArgs());
        assertEquals(Path.of("d"), options.deployDir());
    }

    @Test
    public void httpTakesAPortAHostAndPortOrASocketPath() throws Exception {
        assertEquals(List.of(), LaunchOptions.parse().http());
        assertEquals(List.of(new LaunchOptions.HttpListen("127.0.0.1", 8080, null)), LaunchOptions.parse("--http", "8080").http());
        assertEquals(List.of(new LaunchOptions.HttpListen("0.0.0.0", 0, null)), LaunchOptions.parse("--http", "0.0.0.0:0", "shell").http());
        assertEquals(List.of(new LaunchOptions.HttpListen("::1", 9000, null)), LaunchOptions.parse("--http", "[::1]:9000").http());
        LaunchOptions both = LaunchOptions.parse("--http", "./vireo.sock", "--http", "8080", "run", "--rng");
        assertEquals(List.of(new LaunchOptions.HttpListen(null, -1, Path.of("./vireo.sock")), new LaunchOptions.HttpListen("127.0.0.1", 8080, null)), both.http());
        assertEquals(List.of("--rng"), both.runArgs());
        // Only loopback unless asked: the default host, and the port Felix gets when only a socket is asked for.
        assertEquals("127.0.0.1", Main.httpProperties(LaunchOptions.parse("--http", "8080").http()).get("org.apache.felix.http.host"));
        var socketOnly = Main.httpProperties(LaunchOptions.parse("--http", "/tmp/v.sock").http());
        assertEquals("127.0.0.1", socketOnly.get("org.apache.felix.http.host"));
        assertEquals("0", socketOnly.get("org.osgi.service.http.port"));
        assertEquals("/tmp/v.sock", socketOnly.get(Main.HTTP_UNIX_SOCKET));
    }

    @Test
    public void badHttpValuesSayWhatIsWrong() {
        assertEquals("--http needs [HOST:]PORT or a socket PATH", assertThrows(UsageException.class, () -> LaunchOptions.parse("--http")).getMessage());
        assertTrue(assertThrows(UsageException.class, () -> LaunchOptions.parse("--http", "localhost:http")).getMessage().contains("[HOST:]PORT"));
        assertTrue(assertThrows(UsageException.class, () -> LaunchOptions.parse("--http", "70000")).getMessage().contains("0-65535"));
        assertTrue(assertThrows(UsageException.class, () -> LaunchOptions.parse("--http", "1", "--http", "2")).getMessage().contains("one HOST:PORT"));
    }

    @Test
    public void helpWins() throws Exception {
        assertEquals(Command.HELP, LaunchOptions.parse("shell", "--help").command());
        assertTrue(LaunchOptions.USAGE.contains("vireo [shell] [-c COMMANDS]... [--deploy DIR]"));
    }

    @Test
    public void badCommandLinesSayWhatIsWrong() {
        assertEquals("unknown option: --frobnicate", assertThrows(UsageException.class, () -> LaunchOptions.parse("--frobnicate")).getMessage());
        assertEquals("unknown command: boot", assertThrows(UsageException.class, () -> LaunchOptions.parse("boot")).getMessage());
        assertEquals("-c needs the commands to run", assertThrows(UsageException.class, () -> LaunchOptions.parse("shell", "-c")).getMessage());
        assertEquals("--deploy needs a directory", assertThrows(UsageException.class, () -> LaunchOptions.parse("--deploy")).getMessage());
        assertThrows(UsageException.class, () -> LaunchOptions.parse("-c", "lb", "run"));
        assertThrows(UsageException.class, () -> LaunchOptions.parse("shell", "shell"));
    }
}
