package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.driver.rng.VirtioEntropySource;

/** The dev: and vm: Gogo commands (bundle org.vireo.shell), run through a CommandProcessor session. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class MachineDeviceCommandsIT extends VireoTestSupport {
    @Inject
    private CommandProcessor processor;

    /** Runs {@code command}; returns what it printed plus its formatted result. Exceptions propagate. */
    private String run(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), print, print)) {
            Object result = session.execute(command);
            if (result != null) print.println(session.format(result, Converter.INSPECT));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private String failureOf(String command) throws Exception {
        try {
            String output = run(command);
            fail(command + " should fail, printed:\n" + output);
            return null;
        } catch (IllegalArgumentException expected) {
            return expected.getMessage();
        }
    }

    @Test
    public void addListAndRemoveADeviceFromTheShell() throws Exception {
        String machine = uniqueName("itm");
        machine(machine);
        await(Machine.class, machineFilter(machine));
        try {
            String added = run("dev:add rng rng9 machine.name=" + machine);
            assertTrue(added, added.contains("Added rng device rng9 on machine " + machine));
            VirtioEntropySource rng = await(VirtioEntropySource.class, machineFilter(machine));
            await(VirtioTransportInfo.class, machineFilter(machine) + "(virtio.device.name=rng9)");
            byte[] buf = new byte[8];
            assertTrue(guarded(() -> rng.read(buf, 0, buf.length)) > 0);

            String list = run("dev:list " + machine);
            assertTrue(list, list.matches("(?s).*\\nrng9 +rng +" + machine + " +mmio +yes mmio .*"));
            String all = run("dev:list");
            assertTrue(all, all.contains("rng9"));

            assertEquals("Machine " + machine + " already has a device named rng9 (rng).",
                    failureOf("dev:add rng rng9 machine.name=" + machine));

            String machines = run("vm:list");
            assertTrue(machines, machines.matches("(?s).*\\n" + machine + " +\\S+ +64 MiB +1\\b.*"));
            String info = run("vm:info " + machine);
            assertTrue(info, info.contains("memory: 64 MiB") && info.contains("rng9 at mmio"));

            String removed = run("dev:remove rng9 " + machine);
            assertTrue(removed, removed.contains("Removed rng device rng9 from machine " + machine));
            awaitAbsent(VirtioEntropySource.class, machineFilter(machine));
            awaitAbsent(VirtioTransportInfo.class, machineFilter(machine));
            assertTrue(run("dev:list " + machine).contains("No virtio device configurations."));
        } finally {
            try {
                run("dev:remove rng9 " + machine);
            } catch (IllegalArgumentException alreadyRemoved) {
                // the test removed it
            }
        }
    }

    @Test
    public void badInputGivesAMessage() throws Exception {
        // The kinds present, in their order: the five of the core first, then those of other device bundles (vsock...).
        String unknown = failureOf("dev:add gpu g0");
        assertTrue(unknown, unknown.startsWith("Unknown device type 'gpu': use one of blk|net|console|rng|fs|") && unknown.endsWith("."));
        assertEquals("Expected key=value, got 'source'.", failureOf("dev:add rng r0 source"));
        assertEquals("No device named nosuchdevice.", failureOf("dev:remove nosuchdevice"));
        assertEquals("No machine named nosuchmachine.", failureOf("vm:info nosuchmachine"));
    }

    /** Gogo's {@code help NAME} takes a command, not a scope ("help dev" finds nothing): bare help lists every command. */
    @Test
    public void helpListsTheCommandsWithTheirDescriptions() throws Exception {
        String all = run("help");
        for (String expected : new String[] {"dev:list", "dev:add", "dev:remove", "vm:list", "vm:info"}) {
            assertTrue("help shows " + expected + ":\n" + all, all.contains(expected));
        }
        String[][] expectations = {
                {"dev:list", "List every virtio device configuration", "the machine's name"},
                {"dev:add", "Configure a new virtio device", "the device type: blk, net, console or rng", "settings as key=value"},
                {"dev:remove", "Delete a virtio device configuration", "the device's name"},
                {"vm:list", "List the machines"},
                {"vm:info", "Show one machine", "the machine's name"}};
        for (String[] command : expectations) {
            String help = run("help " + command[0]);
            for (int i = 1; i < command.length; i++) {
                assertTrue("help " + command[0] + " shows " + command[i] + ":\n" + help, help.contains(command[i]));
            }
        }
    }
}
