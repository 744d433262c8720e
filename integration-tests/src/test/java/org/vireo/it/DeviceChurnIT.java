package org.vireo.it;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.vireo.machine.Machine;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.console.link.HostConsoleLink;
import org.vireo.virtio.driver.blk.VirtioBlockDisk;
import org.vireo.virtio.driver.console.VirtioConsolePort;
import org.vireo.virtio.driver.net.VirtioNetInterface;
import org.vireo.virtio.driver.rng.VirtioEntropySource;
import org.vireo.virtio.net.link.HostFrameLink;

/**
 * Churn (issue 18): {@code dev:add} and {@code dev:remove} from the shell, over and over, on one hosted machine. Each
 * cycle adds one device (rng, blk, net, console in turn, on mmio and pci alternately), waits until its Java driver has
 * bound it, moves a little data through it, removes it and waits until the driver's service and the transport's
 * {@link VirtioTransportInfo} are gone. After a warm-up, heap after GC, live threads and open file descriptors of
 * this JVM (the whole framework) must stay flat: heap within {@value #HEAP_BOUND_MIB} MiB of the warm-up sample,
 * threads and descriptors within {@value #COUNT_BOUND} of it. A leaked guest-RAM allocation, image lock, device
 * thread or link service would also make a later cycle fail outright.
 * <p>
 * {@code -Dvireo.churn.cycles=N} (default 1000) and {@code -Dvireo.churn.warmup=N} (default 100) change the counts.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DeviceChurnIT extends VireoTestSupport {
    static final int HEAP_BOUND_MIB = 8;
    static final int COUNT_BOUND = 2;
    private static final int CYCLES = Integer.getInteger("vireo.churn.cycles", 1000);
    private static final int WARMUP = Integer.getInteger("vireo.churn.warmup", 100);
    private static final String[] KINDS = {"rng", "blk", "net", "console"};

    @Inject
    private CommandProcessor processor;

    private String run(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), print, print)) {
            Object result = session.execute(command);
            if (result != null) print.println(result);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    public void addAndRemoveDevicesWithDriversBoundLeavesNothingBehind() throws Exception {
        String machine = uniqueName("churn");
        machine(machine);
        await(Machine.class, machineFilter(machine));
        Path image = image(machine + "-disk", 1 << 20);

        List<String> trend = new ArrayList<>();
        HostResources baseline = null;
        long started = System.nanoTime();
        long measuredFrom = started;
        int total = WARMUP + CYCLES;
        for (int cycle = 0; cycle < total; cycle++) {
            cycle(machine, cycle, image);
            if (cycle + 1 == WARMUP) {
                baseline = HostResources.sample();
                measuredFrom = System.nanoTime();
                trend.add("after warm-up (" + WARMUP + "): " + baseline);
            } else if (cycle + 1 > WARMUP && (cycle + 1 - WARMUP) % 100 == 0) {
                trend.add("after " + (cycle + 1 - WARMUP) + ": " + HostResources.sample());
            }
        }
        if (baseline == null) baseline = HostResources.sample();
        HostResources base = baseline;
        HostResources end = HostResources.settled(s -> s.heapAfterGc() - base.heapAfterGc() < (long) HEAP_BOUND_MIB << 20
                && s.threads() <= base.threads() + COUNT_BOUND && s.fds() <= base.fds() + COUNT_BOUND, 10);
        double seconds = (System.nanoTime() - measuredFrom) / 1e9;
        trend.add(String.format("end: %s; heap %+d KiB, threads %+d, fds %+d since the warm-up; %d cycles in %.1f s (%.1f ms each), %.1f s in all",
                end, (end.heapAfterGc() - base.heapAfterGc()) / 1024, end.threads() - base.threads(), end.fds() - base.fds(),
                CYCLES, seconds, seconds * 1000 / Math.max(1, CYCLES), (System.nanoTime() - started) / 1e9));
        String report = "DeviceChurnIT\n  " + String.join("\n  ", trend);
        System.out.println(report);

        assertTrue("heap after GC grew by " + HostResources.mib(end.heapAfterGc() - base.heapAfterGc()) + " (bound " + HEAP_BOUND_MIB
                + " MiB)\n" + report, end.heapAfterGc() - base.heapAfterGc() < (long) HEAP_BOUND_MIB << 20);
        assertTrue("threads " + base.threads() + " -> " + end.threads() + ": " + HostResources.threadNames() + "\n" + report,
                end.threads() <= base.threads() + COUNT_BOUND);
        assertTrue("open fds " + base.fds() + " -> " + end.fds() + ": " + HostResources.fdTargets() + "\n" + report,
                end.fds() <= base.fds() + COUNT_BOUND);
    }

    /** One add, bind, I/O, remove, gone. */
    private void cycle(String machine, int cycle, Path image) throws Exception {
        String kind = KINDS[cycle % KINDS.length];
        String transport = (cycle / KINDS.length) % 2 == 0 ? "mmio" : "pci";
        String name = "churn-" + kind;
        String link = machine + "-" + kind + "-link";
        String on = machineFilter(machine);
        String settings = "machine.name=" + machine + " virtio.transport=" + transport + switch (kind) {
            case "rng" -> " source=/dev/urandom";
            case "blk" -> " path=" + image;
            default -> " backend=link:" + link;
        };
        String added = run("dev:add " + kind + " " + name + " " + settings);
        assertTrue("cycle " + cycle + ": " + added, added.contains("Added"));
        Class<?> driverService;
        switch (kind) {
            case "rng" -> {
                driverService = VirtioEntropySource.class;
                VirtioEntropySource rng = await(VirtioEntropySource.class, on);
                byte[] buf = new byte[16];
                assertTrue("cycle " + cycle + ": rng read", guarded(() -> rng.read(buf, 0, buf.length)) > 0);
            }
            case "blk" -> {
                driverService = VirtioBlockDisk.class;
                VirtioBlockDisk disk = await(VirtioBlockDisk.class, on);
                byte[] sector = new byte[VirtioBlockDisk.SECTOR_SIZE];
                Arrays.fill(sector, (byte) cycle);
                long at = cycle % disk.capacitySectors();
                byte[] back = guarded(() -> {
                    disk.write(at, sector, 0, sector.length);
                    disk.flush();
                    byte[] read = new byte[sector.length];
                    disk.read(at, read, 0, read.length);
                    return read;
                });
                assertArrayEquals("cycle " + cycle + ": the sector reads back", sector, back);
            }
            case "net" -> {
                driverService = VirtioNetInterface.class;
                VirtioNetInterface nic = await(VirtioNetInterface.class, on);
                HostFrameLink host = await(HostFrameLink.class, "(link.name=" + link + ")");
                byte[] frame = new byte[60];
                Arrays.fill(frame, 0, 6, (byte) -1);
                frame[12] = (byte) 0x88;
                frame[13] = (byte) 0xB5;
                frame[14] = (byte) cycle;
                guarded(() -> {
                    nic.send(frame);
                    return null;
                });
                assertArrayEquals("cycle " + cycle + ": the frame reached the host end", frame,
                        host.receiveFromGuest(TIMEOUT_SECONDS, TimeUnit.SECONDS));
            }
            default -> {
                driverService = VirtioConsolePort.class;
                VirtioConsolePort port = await(VirtioConsolePort.class, on);
                HostConsoleLink host = await(HostConsoleLink.class, "(link.name=" + link + ")");
                byte[] text = ("cycle " + cycle + "\n").getBytes(StandardCharsets.US_ASCII);
                guarded(() -> {
                    port.write(text, 0, text.length);
                    return null;
                });
                byte[] got = new byte[text.length];
                int n = 0;
                while (n < got.length) {
                    int r = host.receiveFromGuest(got, n, got.length - n, TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    assertTrue("cycle " + cycle + ": console bytes arrived", r > 0);
                    n += r;
                }
                assertArrayEquals("cycle " + cycle + ": console bytes", text, got);
            }
        }
        assertNotNull(driverService);
        String removed = run("dev:remove " + name + " " + machine);
        assertTrue("cycle " + cycle + ": " + removed, removed.contains("Removed"));
        awaitAbsent(driverService, on);
        awaitAbsent(VirtioTransportInfo.class, on);
        if (!kind.equals("rng") && !kind.equals("blk")) {
            Class<?> linkService = kind.equals("net") ? HostFrameLink.class : HostConsoleLink.class;
            awaitAbsent(linkService, "(link.name=" + link + ")");
        }
        assertEquals("cycle " + cycle + ": no device configuration left", 0, deviceConfigurations(machine));
    }

    private int deviceConfigurations(String machine) throws Exception {
        org.osgi.service.cm.Configuration[] found = configAdmin.listConfigurations("(&(machine.name=" + machine + ")(virtio.device.name=*))");
        return found == null ? 0 : found.length;
    }
}
