package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
import org.vireo.virtio.kind.DeviceKind;

/**
 * Issue 15's promise: a device kind arrives as one bundle. Without org.vireo.virtio.balloon the shell knows no
 * balloon; once its jar is dropped into the deploy folder, {@code dev:kinds} lists it with its MetaType settings,
 * {@code dev:add balloon} configures one that the transport plugs, and the bundle's own {@code dev:balloon} command sets
 * its target. No other bundle changed or restarted. Deleting the jar takes the kind, the device and the command away.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeviceKindHotDeployIT extends VireoTestSupport {
    private static final String BUNDLE = "org.vireo.virtio.balloon";

    @Inject
    private CommandProcessor processor;

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
            fail(command + " should fail, printed:\n" + run(command));
            return null;
        } catch (IllegalArgumentException expected) {
            return expected.getMessage();
        } catch (Exception other) {
            return String.valueOf(other.getMessage());   // Gogo's "Command not found" for a command no bundle offers
        }
    }

    private static Path bundleJar() {
        return vireoBundles().stream().filter(p -> p.getFileName().toString().startsWith(BUNDLE + "-")).findFirst()
                .orElseThrow(() -> new AssertionError(BUNDLE + " is not in vireo.bundles"));
    }

    @Test
    public void aBalloonKindComesWithItsBundleAndGoesWithIt() throws Exception {
        installedBundle(BUNDLE).uninstall();   // as if it had never been deployed
        awaitAbsent(DeviceKind.class, "(" + DeviceKind.LABEL_PROPERTY + "=balloon)");
        String machine = uniqueName("km");
        machine(machine);
        await(Machine.class, machineFilter(machine));
        assertTrue(failureOf("dev:add balloon b0 machine.name=" + machine), failureOf("dev:add balloon b0").startsWith("Unknown device type 'balloon'"));
        assertFalse(run("dev:kinds").contains("balloon"));

        Path deployed = deployDir().resolve(BUNDLE + ".jar");
        Path staging = workDir().resolve(BUNDLE + "-staging.jar");
        try {
            Files.copy(bundleJar(), staging, StandardCopyOption.REPLACE_EXISTING);
            Files.move(staging, deployed, StandardCopyOption.ATOMIC_MOVE);
            await(DeviceKind.class, "(" + DeviceKind.LABEL_PROPERTY + "=balloon)");

            String kinds = run("dev:kinds balloon");
            assertTrue(kinds, kinds.contains("factory PID: org.vireo.virtio.balloon"));
            assertTrue("settings from the bundle's MetaType:\n" + kinds, kinds.contains("target.mib (Integer, default 0)"));
            assertEquals("Added balloon device b0 on machine " + machine + ".", run("dev:add balloon b0 machine.name=" + machine + " target.mib=8").strip());
            await(VirtioTransportInfo.class, machineFilter(machine) + "(virtio.device.name=b0)");
            assertEquals("Unknown setting 'size' for a balloon device: use control, deflate.on.oom, machine.name, reporting, target.mib, virtio.ring, virtio.transport.",
                    failureOf("dev:add balloon b1 machine.name=" + machine + " size=1"));
            assertEquals("target.mib must be a whole number, not 'lots'.", failureOf("dev:add balloon b1 machine.name=" + machine + " target.mib=lots"));
            String set = run("dev:balloon b0 16M");
            assertTrue(set, set.startsWith("Balloon b0 on machine " + machine + ": target 16 MiB (4096 pages)"));
            assertTrue(run("dev:list " + machine), run("dev:list " + machine).contains("balloon"));

            Files.delete(deployed);
            awaitAbsent(VirtioTransportInfo.class, machineFilter(machine) + "(virtio.device.name=b0)");
            awaitAbsent(DeviceKind.class, "(" + DeviceKind.LABEL_PROPERTY + "=balloon)");
            assertTrue(failureOf("dev:add balloon b2").startsWith("Unknown device type 'balloon'"));
            assertFalse("its configuration waits, unlisted without its kind", run("dev:list " + machine).contains("b0"));
        } finally {
            Files.deleteIfExists(staging);
            Files.deleteIfExists(deployed);
        }
    }
}
