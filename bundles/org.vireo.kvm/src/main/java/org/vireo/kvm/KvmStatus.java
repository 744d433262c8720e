package org.vireo.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.vireo.kvm.internal.LibC;

/**
 * Whether KVM can be used on this host, and why not. {@link State#LIMITED} means KVM works but is PVM (software
 * "pagetable-based" nested virtualization): small freestanding guests run, stock Linux kernels do not.
 */
public record KvmStatus(State state, String device, String reason) {
    public enum State {
        /** Hardware-assisted KVM: any x86-64 guest can run. */
        AVAILABLE,
        /** KVM answers and runs small guests, but cannot boot stock kernels (PVM). */
        LIMITED,
        /** KVM cannot be used at all; {@link #reason()} says why. */
        UNAVAILABLE
    }

    public static final String PVM_REASON = "PVM: cannot boot stock kernels here";

    private static final Path SYS_MODULE_PVM = Path.of("/sys/module/kvm_pvm");
    private static final Path PROC_MODULES = Path.of("/proc/modules");

    /** KVM can run guests (possibly only small ones: see {@link #canBootStockKernels()}). */
    public boolean available() { return state != State.UNAVAILABLE; }

    public boolean canBootStockKernels() { return state == State.AVAILABLE; }

    public boolean isPvm() { return state == State.LIMITED; }

    /** Probes {@link Kvm#DEFAULT_DEVICE}. */
    public static KvmStatus probe() { return probe(Kvm.DEFAULT_DEVICE); }

    /** Opens {@code device}, checks the API version, creates and drops a VM, and looks for PVM. Never throws. */
    public static KvmStatus probe(String device) {
        return probe(device, SYS_MODULE_PVM, PROC_MODULES);
    }

    static KvmStatus probe(String device, Path sysModulePvm, Path procModules) {
        if (!Files.exists(Path.of(device))) {
            return unavailable(device, "no " + device + ": the kvm module is not loaded" + cpuHint());
        }
        try (Kvm kvm = Kvm.open(device)) {
            kvm.createVm().close(); // a VM can be made: nothing more to learn from it
        } catch (KvmException e) {
            return unavailable(device, explain(device, e));
        } catch (RuntimeException | LinkageError e) {
            return unavailable(device, "probing " + device + " failed: " + e);
        }
        if (pvmModuleLoaded(sysModulePvm, procModules)) {
            return new KvmStatus(State.LIMITED, device, PVM_REASON
                    + " (kvm_pvm software nested virtualization: small freestanding guests run, Linux boots only on the CPU emulator)");
        }
        return new KvmStatus(State.AVAILABLE, device, "KVM API 12 on " + device);
    }

    private static KvmStatus unavailable(String device, String reason) {
        return new KvmStatus(State.UNAVAILABLE, device, reason);
    }

    private static String explain(String device, KvmException e) {
        if (e.operation().startsWith("open")) {
            if (e.errno() == LibC.EACCES || e.errno() == LibC.EPERM) {
                return "permission denied opening " + device + ": run as a member of its group (usually kvm) or grant access";
            }
            return "cannot open " + device + ": " + e.getMessage();
        }
        if (e.operation().equals("KVM_GET_API_VERSION") && e.errno() != 0) {
            return device + " is not a KVM device: " + e.getMessage();
        }
        if (e.operation().equals("KVM_CREATE_VM")) {
            return e.getMessage() + " (another hypervisor may hold the CPU's virtualization extensions, or they are disabled)";
        }
        return e.getMessage();
    }

    /** True when the kvm_pvm module is loaded (visible in /sys/module or /proc/modules). */
    public static boolean pvmModuleLoaded() { return pvmModuleLoaded(SYS_MODULE_PVM, PROC_MODULES); }

    static boolean pvmModuleLoaded(Path sysModulePvm, Path procModules) {
        if (Files.isDirectory(sysModulePvm)) return true;
        try {
            if (Files.isReadable(procModules)) {
                List<String> lines = Files.readAllLines(procModules);
                for (String l : lines) if (l.startsWith("kvm_pvm ")) return true;
            }
        } catch (IOException e) {
            // unreadable: no evidence of PVM
        }
        return false;
    }

    private static String cpuHint() {
        try {
            String cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
            if (!cpuinfo.matches("(?s).*\\bflags\\s*:.*\\b(vmx|svm)\\b.*")) return " and the CPU shows no vmx/svm (no hardware virtualization)";
        } catch (IOException | RuntimeException e) {
            // no hint
        }
        return "";
    }

    @Override
    public String toString() { return "KVM " + state + " (" + reason + ")"; }
}
