package org.vireo.kvm.internal;

import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.vireo.kvm.KvmAccelerator;
import org.vireo.kvm.KvmStatus;

/** The Gogo command {@code kvm:status}: what the KVM probe found on this host, and what that means for guests. */
@Component(service = KvmStatusCommand.class, property = {"osgi.command.scope=kvm", "osgi.command.function=status"})
public final class KvmStatusCommand {
    private final KvmAccelerator accelerator;

    @Activate
    public KvmStatusCommand(@Reference KvmAccelerator accelerator) {
        this.accelerator = accelerator;
    }

    @Descriptor("Say whether this host's KVM can run guests (vireo run --accel kvm, vm:create accelerator=kvm), and why not")
    public String status() {
        return describe(accelerator.status());
    }

    static String describe(KvmStatus s) {
        String guests = switch (s.state()) {
            case AVAILABLE -> "any x86-64 guest runs with --accel kvm (accelerator=kvm)";
            case LIMITED -> "small freestanding guests only; Linux guests run on the CPU emulator (--accel emu, the default)";
            case UNAVAILABLE -> "none on KVM; guests run on the CPU emulator (--accel emu, the default)";
        };
        return "KVM     " + s.state() + System.lineSeparator()
                + "device  " + s.device() + System.lineSeparator()
                + "reason  " + s.reason() + System.lineSeparator()
                + "guests  " + guests;
    }
}
