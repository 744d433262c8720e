package org.vireo.shell.impl;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Hashtable;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Gogo commands {@code vm:create}, {@code vm:start}, {@code vm:stop}, {@code vm:delete} and {@code vm:console}: a VM
 * is an {@value VmRequest#FACTORY_PID} factory configuration, and the org.vireo.vmm bundle turns each into a
 * VirtualMachine service. VMs are looked up by service properties and handled through {@link VmAccess}, so this
 * class loads without org.vireo.vmm (the commands then say it is missing).
 */
@Component(service = VmCommands.class, property = {
        "osgi.command.scope=vm",
        "osgi.command.function=create",
        "osgi.command.function=start",
        "osgi.command.function=stop",
        "osgi.command.function=delete",
        "osgi.command.function=console"})
public final class VmCommands {
    static final String VM_SERVICE = "org.vireo.vmm.api.VirtualMachine";
    static final int DETACH_KEY = 0x1d; // Ctrl-], as telnet

    private final ConfigurationAdmin configAdmin;
    private final BundleContext context;

    @Activate
    public VmCommands(@Reference ConfigurationAdmin configAdmin, BundleContext context) {
        this.configAdmin = configAdmin;
        this.context = context;
    }

    @Descriptor("Configure a new VM (it starts with vm:start)")
    public String create(
            @Descriptor("the VM's name: its machine.name, which device configurations use to join it") String name,
            @Descriptor("settings as key=value: kernel (file; default the guest kit's bzImage), initrd (file or none),"
                    + " cmdline (default \"console=ttyS0\"), memory.mib (16-3072, default 512), vcpus (1),"
                    + " accelerator (emu or kvm, default emu), hotplug.slot (true: a PCIe hot-plug slot, so dev:add while it runs reaches the guest),"
                    + " acpi (default true: ACPI tables, and a guest power-off stops the VM; false: none, and acpi=off on the command line)") String... settings) throws IOException {
        VmRequest request = VmRequest.parse(name, Arrays.asList(settings));
        if (configuration(name) != null) throw new IllegalArgumentException("A VM named " + name + " already exists.");
        if (!references("org.vireo.machine.Machine", "(machine.name=" + name + ")").isEmpty()) {
            throw new IllegalArgumentException("A machine named " + name + " already exists.");
        }
        Configuration c = configAdmin.getFactoryConfiguration(VmRequest.FACTORY_PID, name, "?");
        c.update(new Hashtable<>(request.properties()));
        return "Created VM " + name + " (" + c.getPid() + "); start it with vm:start " + name + ".";
    }

    @Descriptor("Boot a VM's guest (devices configured for its machine.name are plugged first)")
    public String start(@Descriptor("the VM's name") String name) {
        VmAccess.start(vm(name));
        return "Started VM " + name + "; vm:console " + name + " shows its serial console.";
    }

    @Descriptor("Stop a VM's guest: press its ACPI power button and give it --timeout seconds to power off, then pull the"
            + " plug (at once with --force, or for a guest without ACPI); the configuration stays")
    public String stop(
            @Descriptor("pull the plug at once, without asking the guest") @Parameter(names = {"-f", "--force"}, presentValue = "true",
                    absentValue = "false") boolean force,
            @Descriptor("seconds the guest gets to power off (default 30)") @Parameter(names = {"-t", "--timeout"},
                    absentValue = "30") int timeoutSeconds,
            @Descriptor("the VM's name") String name) {
        if (timeoutSeconds < 0) throw new IllegalArgumentException("--timeout must be 0 or more seconds, not " + timeoutSeconds);
        Object vm = vm(name);
        if (!"RUNNING".equals(VmAccess.state(vm))) return "VM " + name + " is not running (" + VmAccess.state(vm) + ").";
        if (force) {
            VmAccess.stop(vm);
            return "VM " + name + " is " + VmAccess.state(vm) + ".";
        }
        boolean poweredOff = VmAccess.shutdown(vm, timeoutSeconds * 1000L);
        return "VM " + name + " is " + VmAccess.state(vm) + (poweredOff ? " (the guest powered off)."
                : " (stopped: it has no ACPI power button, or did not power off within " + timeoutSeconds + " s of its press).");
    }

    @Descriptor("Delete a VM's configuration (a running guest is stopped)")
    public String delete(@Descriptor("the VM's name") String name) throws IOException {
        Configuration c = configuration(name);
        if (c == null) throw new IllegalArgumentException("No VM named " + name + ".");
        c.delete();
        return "Deleted VM " + name + ".";
    }

    @Descriptor("Attach this session's terminal to a VM's serial console: shows the recent output, then streams it and"
            + " forwards keys; Ctrl-] detaches. Without a terminal, prints the recent output")
    public String console(CommandSession session, @Descriptor("the VM's name") String name) throws IOException {
        Object vm = vm(name);
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

    private Object vm(String name) {
        var refs = references(VM_SERVICE, "(vm.name=" + escape(name) + ")");
        if (refs.isEmpty()) {
            String why;
            try {
                why = configuration(name) != null
                        ? " (it is configured but has no service: is org.vireo.vmm deployed, or was its configuration refused? see the log)" : "";
            } catch (IOException e) {
                why = "";
            }
            throw new IllegalArgumentException("No VM named " + name + why + ".");
        }
        Object vm = context.getService(refs.getFirst());
        if (vm == null) throw new IllegalArgumentException("VM " + name + " just went away.");
        context.ungetService(refs.getFirst()); // the service is a singleton held by its bundle; the call is short
        return vm;
    }

    private java.util.List<ServiceReference<?>> references(String clazz, String filter) {
        try {
            ServiceReference<?>[] refs = context.getServiceReferences(clazz, filter);
            return refs == null ? java.util.List.of() : java.util.List.of(refs);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("Bad name in filter " + filter + ".");
        }
    }

    private Configuration configuration(String name) throws IOException {
        try {
            Configuration[] found = configAdmin.listConfigurations("(&(service.factoryPid=" + VmRequest.FACTORY_PID + ")(machine.name=" + escape(name) + "))");
            return found == null || found.length == 0 ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("Bad VM name " + name + ".");
        }
    }

    static String escape(String value) {
        StringBuilder b = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') b.append('\\');
            b.append(c);
        }
        return b.toString();
    }

}
