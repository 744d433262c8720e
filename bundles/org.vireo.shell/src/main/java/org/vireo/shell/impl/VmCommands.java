package org.vireo.shell.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Gogo commands {@code vm:create}, {@code vm:start}, {@code vm:stop}, {@code vm:delete} and {@code vm:console}: a VM
 * is an {@value VmRequest#FACTORY_PID} factory configuration, and the org.vireo.vmm bundle turns each into a
 * VirtualMachine service. The logic and messages live in {@link ManagementComponent} (the Management service the HTTP
 * API uses too); VMs are handled through {@link VmAccess}, so this class loads without org.vireo.vmm (the commands then
 * say it is missing).
 */
@Component(service = VmCommands.class, property = {
        "osgi.command.scope=vm",
        "osgi.command.function=create",
        "osgi.command.function=start",
        "osgi.command.function=stop",
        "osgi.command.function=delete",
        "osgi.command.function=console"})
public final class VmCommands {
    static final String VM_SERVICE = ManagementComponent.VM_SERVICE;
    static final int DETACH_KEY = 0x1d; // Ctrl-], as telnet

    private final ManagementComponent management;

    @Activate
    public VmCommands(@Reference ManagementComponent management) {
        this.management = management;
    }

    @Descriptor("Configure a new VM (it starts with vm:start)")
    public String create(
            @Descriptor("the VM's name: its machine.name, which device configurations use to join it") String name,
            @Descriptor("settings as key=value: kernel (file; default the guest kit's bzImage), initrd (file or none),"
                    + " cmdline (default \"console=ttyS0\"), memory.mib (16-3072, default 512), vcpus (1),"
                    + " accelerator (emu or kvm, default emu), hotplug.slot (true: a PCIe hot-plug slot, so dev:add while it runs reaches the guest),"
                    + " acpi (default true: ACPI tables, and a guest power-off stops the VM; false: none, and acpi=off on the command line)") String... settings) throws IOException {
        return management.createVm(name, Arrays.asList(settings));
    }

    @Descriptor("Boot a VM's guest (devices configured for its machine.name are plugged first)")
    public String start(@Descriptor("the VM's name") String name) {
        return management.startVm(name);
    }

    @Descriptor("Stop a VM's guest: press its ACPI power button and give it --timeout seconds to power off, then pull the"
            + " plug (at once with --force, or for a guest without ACPI); the configuration stays")
    public String stop(
            @Descriptor("pull the plug at once, without asking the guest") @Parameter(names = {"-f", "--force"}, presentValue = "true",
                    absentValue = "false") boolean force,
            @Descriptor("seconds the guest gets to power off (default 30)") @Parameter(names = {"-t", "--timeout"},
                    absentValue = "30") int timeoutSeconds,
            @Descriptor("the VM's name") String name) {
        return management.stopVm(name, force, timeoutSeconds);
    }

    @Descriptor("Delete a VM's configuration (a running guest is stopped)")
    public String delete(@Descriptor("the VM's name") String name) throws IOException {
        return management.deleteVm(name);
    }

    @Descriptor("Attach this session's terminal to a VM's serial console: shows the recent output, then streams it and"
            + " forwards keys; Ctrl-] detaches. Without a terminal, prints the recent output")
    public String console(CommandSession session, @Descriptor("the VM's name") String name) throws IOException {
        Object vm = management.vmService(name);
        PrintStream out = session.getConsole();
        InputStream keyboard = session.getKeyboard();
        if (keyboard == null) {
            out.write(VmAccess.output(vm));
            return "";
        }
        out.println("Attached to the console of VM " + name + "; Ctrl-] (then Enter on a line-buffered terminal) detaches.");
        try (VmAccess.Console console = VmAccess.attach(vm, out)) {
            byte[] key = new byte[1];
            int b;
            while ((b = keyboard.read()) >= 0 && b != DETACH_KEY) {
                key[0] = (byte) b;
                console.send(key, 0, 1);
            }
        }
        out.flush();
        return System.lineSeparator() + "Detached from VM " + name + " (" + VmAccess.state(vm) + ").";
    }


}
