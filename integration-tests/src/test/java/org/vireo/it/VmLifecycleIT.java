package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.util.tracker.ServiceTracker;
import org.vireo.vmm.api.VirtualMachine;
import org.vireo.vmm.api.VmState;

/** VMs as factory configurations, driven by the vm: commands: configuration checks, and a real guest's whole life. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class VmLifecycleIT extends VireoTestSupport {
    /** Failure guard only: the emulator boots the Debian kernel in well under this on a loaded machine. */
    private static final long GUEST_SECONDS = 300;
    private static final String MARKER = "VM-LIFECYCLE-OK";

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
            String output = run(command);
            fail(command + " should fail, printed:\n" + output);
            return null;
        } catch (IllegalArgumentException | IllegalStateException expected) {
            return expected.getMessage();
        }
    }

    private static Path guestKit() {
        String dir = System.getenv("VIREO_GUEST_KIT");
        if (dir != null && !dir.isEmpty()) return Path.of(dir);
        return Path.of(System.getProperty("user.home"), ".cache", "vireo", "guest-kit");
    }

    @Test
    public void createDeleteDuplicatesAndBadSettings() throws Exception {
        String name = uniqueName("vm");
        String created = run("vm:create " + name + " memory.mib=64 initrd=none");
        assertTrue(created, created.contains("Created VM " + name));
        VirtualMachine vm = await(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
        assertEquals(VmState.NEW, vm.state());
        assertTrue(run("vm:list"), run("vm:list").matches("(?s).*" + name + "\\s+NEW.*"));
        assertTrue(run("vm:info " + name), run("vm:info " + name).contains("memory    64 MiB"));

        assertTrue(failureOf("vm:create " + name).contains("A VM named " + name + " already exists."));
        assertTrue(failureOf("vm:create other-" + name + " vcpus=2").contains("vcpus=2 is not supported"));
        assertTrue(failureOf("vm:create other-" + name + " colour=red").contains("Unknown setting colour"));
        assertTrue(failureOf("vm:create other-" + name + " accelerator=tcg").contains("accelerator must be emu or kvm"));
        assertTrue(failureOf("vm:create other-" + name + " kernel=/no/such/bzImage").contains("kernel: no file at"));
        assertTrue(failureOf("vm:start missing-" + name).contains("No VM named missing-" + name));

        String deleted = run("vm:delete " + name);
        assertTrue(deleted, deleted.contains("Deleted VM " + name));
        awaitAbsent(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
        assertTrue(failureOf("vm:delete " + name).contains("No VM named " + name));
    }

    @Test
    public void aGuestBootsRunsItsCommandAndEndsStoppedWhenItReboots() throws Exception {
        Path kit = guestKit();
        Assume.assumeTrue("no guest kit at " + kit + " (run scripts/guest-kit, or set VIREO_GUEST_KIT): skipping the boot test",
                Files.isRegularFile(kit.resolve("bzImage")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz")));
        String name = uniqueName("vm");
        run("vm:create " + name + " kernel=" + kit.resolve("bzImage") + " initrd=" + kit.resolve("initramfs.cpio.gz")
                + " memory.mib=256 'cmdline=console=ttyS0 acpi=off vireo.cmd=\"echo " + MARKER + "\"'");
        try {
            VirtualMachine vm = await(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
            assertTrue(vm.describe(), vm.describe().contains("vireo.cmd=\"echo " + MARKER + "\""));
            String started = run("vm:start " + name);
            assertTrue(started, started.contains("Started VM " + name));
            // While it runs, the machine is a Machine service of that name: device configurations naming it get plugged.
            await(org.vireo.machine.Machine.class, machineFilter(name));
            ServiceTracker<VirtualMachine, VirtualMachine> ended = new ServiceTracker<>(context, context.createFilter(
                    "(&(objectClass=" + VirtualMachine.class.getName() + ")(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")"
                            + "(|(vm.state=STOPPED)(vm.state=FAILED)))"), null);
            ended.open();
            try {
                assertNotNull("the VM did not end within " + GUEST_SECONDS + " s:\n" + tail(vm),
                        ended.waitForService(TimeUnit.SECONDS.toMillis(GUEST_SECONDS)));
            } finally {
                ended.close();
            }
            String console = new String(vm.consoleOutput(), StandardCharsets.UTF_8);
            Files.createDirectories(workDir());
            Files.writeString(workDir().resolve("VmLifecycleIT-console.log"), console); // for a failure's post-mortem
            assertEquals(tail(vm), VmState.STOPPED, vm.state());
            assertTrue(tail(vm), console.contains("VIREO-INIT-DONE"));
            assertTrue(tail(vm), console.lines().anyMatch(l -> l.strip().equals(MARKER)));
            // Without a terminal (an empty keyboard), vm:console prints the buffered output and returns.
            String shown = run("vm:console " + name);
            assertTrue(shown, shown.contains("Ctrl-]") && shown.contains(MARKER) && shown.contains("Detached from VM " + name));
            assertTrue(run("vm:list"), run("vm:list").matches("(?s).*" + name + "\\s+STOPPED.*"));
        } finally {
            try {
                run("vm:stop " + name);
            } finally {
                run("vm:delete " + name);
            }
        }
    }

    @Test
    public void aDeviceAddedWhileTheGuestRunsAppearsInIt() throws Exception {
        Path kit = guestKit();
        Assume.assumeTrue("no guest kit at " + kit + " (run scripts/guest-kit, or set VIREO_GUEST_KIT): skipping the hot-plug test",
                Files.isRegularFile(kit.resolve("bzImage")) && Files.isRegularFile(kit.resolve("initramfs.cpio.gz")));
        String name = uniqueName("hp");
        // The guest waits (at most 240 s) for a virtio-rng to be bound, then says which hwrng it has and reboots.
        String wait = "i=0; until ls /sys/bus/virtio/drivers/virtio_rng/ | grep -q virtio; do sleep 1; i=$((i+1));"
                + " [ $i -gt 240 ] && break; done; echo HOTPLUG-SEEN-$(cat /sys/class/misc/hw_random/rng_current)";
        run("vm:create " + name + " kernel=" + kit.resolve("bzImage") + " initrd=" + kit.resolve("initramfs.cpio.gz")
                + " memory.mib=256 hotplug.slot=true 'cmdline=console=ttyS0 acpi=off vireo.cmd=\"" + wait + "\"'");
        try {
            VirtualMachine vm = await(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
            run("vm:start " + name);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(GUEST_SECONDS);
            while (!new String(vm.consoleOutput(), StandardCharsets.UTF_8).contains("VIREO-INIT-READY")) {
                assertTrue("the guest did not reach init:\n" + tail(vm), System.nanoTime() < deadline && vm.state() == VmState.RUNNING);
                Thread.sleep(200);
            }
            // Nothing typed in the guest: the device configuration alone makes the kernel's pciehp find it.
            String added = run("dev:add rng hprng machine.name=" + name + " virtio.transport=pci");
            assertTrue(added, added.contains("hprng"));
            ServiceTracker<VirtualMachine, VirtualMachine> ended = new ServiceTracker<>(context, context.createFilter(
                    "(&(objectClass=" + VirtualMachine.class.getName() + ")(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")"
                            + "(|(vm.state=STOPPED)(vm.state=FAILED)))"), null);
            ended.open();
            try {
                assertNotNull("the VM did not end within " + GUEST_SECONDS + " s:\n" + tail(vm),
                        ended.waitForService(TimeUnit.SECONDS.toMillis(GUEST_SECONDS)));
            } finally {
                ended.close();
            }
            String console = new String(vm.consoleOutput(), StandardCharsets.UTF_8);
            Files.createDirectories(workDir());
            Files.writeString(workDir().resolve("VmLifecycleIT-hotplug-console.log"), console);
            assertTrue(tail(vm), console.lines().anyMatch(l -> l.strip().equals("HOTPLUG-SEEN-virtio_rng.0")));
        } finally {
            try {
                run("dev:remove hprng " + name);
            } finally {
                try {
                    run("vm:stop " + name);
                } finally {
                    run("vm:delete " + name);
                }
            }
        }
    }

    private static String tail(VirtualMachine vm) {
        String out = new String(vm.consoleOutput(), StandardCharsets.UTF_8);
        return vm.describe() + "\n--- console (end) ---\n" + out.substring(Math.max(0, out.length() - 4000));
    }
}
