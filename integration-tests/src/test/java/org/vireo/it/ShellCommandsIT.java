package org.vireo.it;

import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.net.VirtioNetInterface;

/** The Gogo commands virtio:devices and virtio:drivers, run through a CommandProcessor session. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellCommandsIT extends VireoTestSupport {
    @Inject
    private CommandProcessor processor;

    /** Runs {@code command}; returns what it printed plus its formatted result. */
    private String run(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), print, print)) {
            Object result = session.execute(command);
            if (result != null) print.println(session.format(result, Converter.INSPECT));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    public void devicesAndDriversAreListedWithTheirState() throws Exception {
        String machine = uniqueName("m");
        machine(machine);
        Path image = image(machine + "-disk", 1 << 20);
        device(BLK_PID, machine + "-disk", machine, "mmio", Map.of("path", image.toString()));
        device(NET_PID, machine + "-net", machine, "pci", Map.of("backend", "link:" + machine + "-link"));
        VirtioBlockDisk disk = await(VirtioBlockDisk.class, machineFilter(machine));
        VirtioNetInterface nic = await(VirtioNetInterface.class, machineFilter(machine));

        String devices = run("virtio:devices");
        for (String expected : new String[] {machine + "-disk", machine + "-net", disk.deviceName(), nic.deviceName(), "mmio", "pci", "DRIVER_OK"}) {
            assertTrue("virtio:devices shows " + expected + ":\n" + devices, devices.contains(expected));
        }

        String drivers = run("virtio:drivers");
        for (String expected : new String[] {"virtio-blk", "virtio-net", "virtio-console", "virtio-rng", disk.deviceName(), nic.deviceName()}) {
            assertTrue("virtio:drivers shows " + expected + ":\n" + drivers, drivers.contains(expected));
        }
    }
}
