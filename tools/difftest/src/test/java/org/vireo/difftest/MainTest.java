package org.vireo.difftest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.Test;

public class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    public void helpDescribesEveryMode() {
        assertEquals(0, run("--help"));
        String text = out.toString(StandardCharsets.UTF_8);
        for (String opt : new String[] {"--program", "--binary", "--raw", "--break", "--qemu-arg", "--max-steps", "--strict-flags"}) {
            assertTrue(opt, text.contains(opt));
        }
    }

    @Test
    public void listNamesTheBuiltInPrograms() {
        assertEquals(0, run("--list"));
        for (TestPrograms.Program p : TestPrograms.all()) assertTrue(p.name(), out.toString(StandardCharsets.UTF_8).contains(p.name()));
    }

    @Test
    public void usageErrorsExitWithTwo() {
        assertEquals(2, run("--bogus"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option"));
        assertEquals(2, run("--program", "alu", "--binary", "x.bin"));
        assertEquals(2, run("--program"));
    }
}
