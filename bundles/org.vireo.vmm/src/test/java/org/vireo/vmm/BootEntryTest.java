package org.vireo.vmm;

import static org.junit.Assume.assumeTrue;

import java.util.List;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.kvm.KvmStatus;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Real machine code entered the way the boot plans say, ending in a keyboard-controller reset: the same boot code, on
 * the CPU emulator and on KVM (skipped, with the host's reason, where /dev/kvm cannot be used).
 */
@RunWith(Parameterized.class)
public class BootEntryTest {
    @Parameters(name = "{0}")
    public static List<Object[]> accelerators() { return List.of(new Object[] {"emu"}, new Object[] {"kvm"}); }

    @Parameter
    public String accel;

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private int boot(byte[] kernel) throws Exception {
        Path file = TestImages.write(folder.getRoot().toPath(), "kernel", kernel);
        if (accel.equals("kvm")) {
            KvmStatus kvm = KvmStatus.probe();
            assumeTrue("KVM cannot be used here: " + kvm.reason(), kvm.available());
        }
        VmRunner runner = new VmRunner(new PrintStream(console, true), new PrintStream(log, true), null, EmulatedVcpu::new);
        return runner.run("--kernel", file.toString(), "--initrd", "none", "--mem", "32M", "--timeout", "60", "--accel", accel);
    }

    /** Prints the byte at [reg + offset], then "OK", then resets through port 0x64. */
    private static byte[] program(int modrmBase, int offset) {
        return TestImages.bytes(
                0x66, 0xba, 0xf8, 0x03,                                   // mov dx, 0x3f8
                0x8a, 0x80 | modrmBase, offset, offset >> 8, 0, 0,        // mov al, [base + disp32]
                0xee,                                                     // out dx, al
                0xb0, 'O', 0xee,                                          // mov al, 'O'; out dx, al
                0xb0, 'K', 0xee,                                          // mov al, 'K'; out dx, al
                0xb0, 0xfe, 0xe6, 0x64,                                   // mov al, 0xfe; out 0x64, al
                0xf4, 0xeb, 0xfe);                                        // hlt; jmp $

    }

    @Test
    public void longModeEntrySeesTheZeroPageInRsi() throws Exception {
        int code = boot(TestImages.bzImage(program(6, 0x202)));         // [rsi + 0x202]: "HdrS"
        assertEquals(log.toString(), 0, code);
        assertEquals("HOK", console.toString(StandardCharsets.US_ASCII));
    }

    @Test
    public void pvhEntrySeesStartInfoInEbx() throws Exception {
        int code = boot(TestImages.pvhElf(program(3, 0)));              // [ebx]: hvm_start_info magic 0x336ec578
        assertEquals(log.toString(), 0, code);
        assertEquals("xOK", console.toString(StandardCharsets.US_ASCII));
    }
}
