package org.vireo.it;

import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.virtio.driver.rng.VirtioEntropySource;

/** Configuration files dropped into the deploy directory make machines and devices; removing them unplugs. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HotDeployIT extends VireoTestSupport {
    @Test
    public void cfgFilesInTheDeployDirectoryComeAndGo() throws Exception {
        String machine = uniqueName("m");
        Path machineCfg = deployDir().resolve(MACHINE_PID + "-" + machine + ".cfg");
        Path rngCfg = deployDir().resolve(RNG_PID + "-" + machine + "-rng.cfg");
        try {
            VireoFileUtil.writeAtomically(machineCfg, "machine.name=" + machine + "\nmemory.mib=16\n");
            VireoFileUtil.writeAtomically(rngCfg, "virtio.device.name=" + machine + "-rng\nmachine.name=" + machine
                    + "\nvirtio.transport=pci\nsource=/dev/urandom\n");
            VirtioEntropySource rng = await(VirtioEntropySource.class, machineFilter(machine));
            byte[] buf = new byte[16];
            int n = guarded(() -> rng.read(buf, 0, buf.length));
            assertTrue(n > 0);

            Files.delete(rngCfg);
            awaitAbsent(VirtioEntropySource.class, machineFilter(machine));
        } finally {
            Files.deleteIfExists(rngCfg);
            Files.deleteIfExists(machineCfg);
        }
    }
}
