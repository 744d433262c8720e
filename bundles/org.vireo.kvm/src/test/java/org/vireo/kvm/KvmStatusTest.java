package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The probe's answers, including on hosts without KVM (simulated with other device paths). */
public class KvmStatusTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void aMissingDeviceIsUnavailableAndSaysSo() {
        KvmStatus s = KvmStatus.probe("/nonexistent/kvm");
        assertEquals(KvmStatus.State.UNAVAILABLE, s.state());
        assertFalse(s.available());
        assertTrue(s.reason(), s.reason().startsWith("no /nonexistent/kvm: the kvm module is not loaded"));
    }

    @Test
    public void aDeviceThatIsNotKvmIsUnavailable() {
        KvmStatus s = KvmStatus.probe("/dev/null");
        assertEquals(KvmStatus.State.UNAVAILABLE, s.state());
        assertTrue(s.reason(), s.reason().startsWith("/dev/null is not a KVM device: KVM_GET_API_VERSION failed: ENOTTY"));
    }

    @Test
    public void aDirectoryCannotBeOpened() {
        KvmStatus s = KvmStatus.probe(tmp.getRoot().toString());
        assertEquals(KvmStatus.State.UNAVAILABLE, s.state());
        assertTrue(s.reason(), s.reason().startsWith("cannot open " + tmp.getRoot() + ": open"));
    }

    @Test
    public void pvmIsSeenInSysModuleOrInProcModules() throws Exception {
        Path none = tmp.getRoot().toPath().resolve("absent");
        assertFalse(KvmStatus.pvmModuleLoaded(none, none));
        Path module = tmp.newFolder("kvm_pvm").toPath();
        assertTrue(KvmStatus.pvmModuleLoaded(module, none));
        Path modules = tmp.newFile("modules").toPath();
        Files.writeString(modules, "kvm_intel 376832 0 - Live 0x0\nkvm 1138688 1 kvm_intel, Live 0x0\n");
        assertFalse(KvmStatus.pvmModuleLoaded(none, modules));
        Files.writeString(modules, "kvm_pvm 98304 0 - Live 0x0\nkvm 1138688 1 kvm_pvm, Live 0x0\n");
        assertTrue(KvmStatus.pvmModuleLoaded(none, modules));
    }

    @Test
    public void theRealHostIsClassifiedConsistently() {
        KvmStatus s = KvmStatus.probe();
        assertEquals(Kvm.DEFAULT_DEVICE, s.device());
        assertFalse(s.reason().isBlank());
        if (s.isPvm()) {
            assertTrue(s.available());
            assertFalse(s.canBootStockKernels());
            assertTrue(s.reason(), s.reason().startsWith("PVM: cannot boot stock kernels here"));
        }
        if (s.state() == KvmStatus.State.AVAILABLE) assertTrue(s.canBootStockKernels());
    }
}
