package org.vireo.shell.api;

import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * VMs ({@code org.vireo.vmm.vm} factory configurations and their VirtualMachine services) and virtio device
 * configurations, managed the way the {@code vm:} and {@code dev:} commands do: the same checks and the same
 * messages. Bad input is an {@link IllegalArgumentException} whose message is meant for the user;
 * {@link NotFoundException} and {@link ConflictException} say more precisely what went wrong; an
 * {@link IllegalStateException} means the request does not fit the VM's current state (starting a running VM).
 * Every mutating method returns the message the shell prints.
 */
@ProviderType
public interface Management {
    /** One configured VM. {@code settings} are its configuration's properties (service.* left out). */
    record VmView(String name, String state, Map<String, Object> settings, String description) {}

    /**
     * One device configuration: its type label (e.g. {@code blk}), machine, transport, where its transport plugged it
     * ({@code null} while unplugged), and its type-specific settings.
     */
    record DeviceView(String name, String type, String machine, String transport, String pluggedAt, Map<String, Object> settings) {}

    /** A serial console attached to a VM: {@link #send} types into it, {@link #close} detaches. */
    interface ConsoleAttachment extends AutoCloseable {
        void send(byte[] bytes, int offset, int length);

        @Override
        void close();
    }

    /** The device types {@link #addDevice} accepts (their labels, e.g. blk, net). */
    List<String> deviceTypes();

    /** Every configured VM, sorted by name; empty without org.vireo.vmm. */
    List<VmView> vms();

    Optional<VmView> vm(String name);

    /** vm:create NAME key=value... */
    String createVm(String name, List<String> settings);

    /** vm:start NAME */
    String startVm(String name);

    /** vm:stop [-f] [-t SECONDS] NAME */
    String stopVm(String name, boolean force, int timeoutSeconds);

    /** vm:delete NAME */
    String deleteVm(String name);

    /** The VM's recent serial output. */
    byte[] consoleOutput(String vm);

    /** Attaches {@code out} to the VM's serial console: the recent output first, then new output as it comes. */
    ConsoleAttachment attachConsole(String vm, OutputStream out);

    /** The device configurations, of one machine or (machine null) all, sorted by machine and name. */
    List<DeviceView> devices(String machine);

    /** dev:add TYPE NAME key=value... */
    String addDevice(String type, String name, List<String> settings);

    /** dev:remove NAME [MACHINE] (machine may be null when the name is unambiguous). */
    String removeDevice(String name, String machine);
}
