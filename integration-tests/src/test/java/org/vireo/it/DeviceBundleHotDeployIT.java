package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.driver.rng.VirtioEntropySource;

/**
 * A device bundle deployed while the runtime runs: configurations for it wait; dropping its jar into the FileInstall
 * folder brings the devices up, deleting the jar takes them down again.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeviceBundleHotDeployIT extends VireoTestSupport {
    private static final String RNG_BUNDLE = "org.vireo.virtio.rng";

    private static Path rngBundleJar() {
        return vireoBundles().stream().filter(p -> p.getFileName().toString().startsWith(RNG_BUNDLE + "-")).findFirst()
                .orElseThrow(() -> new AssertionError(RNG_BUNDLE + " is not in vireo.bundles"));
    }

    @Test
    public void rngDevicesComeWithTheirBundleAndGoWithIt() throws Exception {
        // This class's framework starts with the bundle installed: take it out, as if it had never been deployed.
        installedBundle(RNG_BUNDLE).uninstall();

        String machine = uniqueName("m");
        machine(machine);
        await(Machine.class, machineFilter(machine));
        device(RNG_PID, machine + "-rng", machine, "mmio", Map.of("source", "/dev/urandom"));
        // A console on the same machine shows the transport is plugging this machine's devices; the rng has no backend.
        device(CONSOLE_PID, machine + "-console", machine, "mmio", Map.of("backend", "link:" + machine + "-console"));
        await(VirtioTransportInfo.class, machineFilter(machine) + "(virtio.device.name=" + machine + "-console)");
        String rngInfo = machineFilter(machine) + "(virtio.device.name=" + machine + "-rng)";
        assertNull("rng device plugged without its bundle", context.getServiceReferences(VirtioTransportInfo.class.getName(), "(&" + rngInfo + ")"));

        Path deployed = deployDir().resolve(RNG_BUNDLE + ".jar");
        Path staging = workDir().resolve(RNG_BUNDLE + "-staging.jar");
        try {
            // Copy beside the folder, then move in: FileInstall never sees a half-written jar.
            Files.copy(rngBundleJar(), staging, StandardCopyOption.REPLACE_EXISTING);
            Files.move(staging, deployed, StandardCopyOption.ATOMIC_MOVE);

            VirtioEntropySource rng = await(VirtioEntropySource.class, machineFilter(machine));
            await(VirtioTransportInfo.class, rngInfo);
            byte[] buf = new byte[16];
            assertTrue(guarded(() -> rng.read(buf, 0, buf.length)) > 0);
            Bundle bundle = installedBundle(RNG_BUNDLE);
            assertEquals(Bundle.ACTIVE, bundle.getState());

            Files.delete(deployed);
            awaitAbsent(VirtioEntropySource.class, machineFilter(machine));
            awaitAbsent(VirtioTransportInfo.class, rngInfo);
            // The console, served by another bundle, stays.
            await(VirtioTransportInfo.class, machineFilter(machine) + "(virtio.device.name=" + machine + "-console)");
        } finally {
            Files.deleteIfExists(staging);
            Files.deleteIfExists(deployed);
        }
    }
}
