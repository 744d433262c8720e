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
