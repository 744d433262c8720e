package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Assume;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.vireo.kvm.KvmStatus;

/**
 * The guest kit's Debian kernel boots on the CPU emulator in this JVM (VmRunner as plain Java, no devices) and runs a
 * command from its command line: uname, 64-bit shell arithmetic, awk floating point, a gzip round trip and an md5sum
 * of generated data, all checked against the same computations on the host. The same boot runs on KVM
 * ({@code --accel kvm}) where the host has hardware virtualization; on a host without /dev/kvm, or with PVM's
 * software KVM (which cannot boot a stock kernel), that case skips with the probe's reason.
 */
@RunWith(Parameterized.class)
public class BootIT {
    @Parameterized.Parameters(name = "{0}")
    public static List<Object[]> accelerators() { return List.of(new Object[] {"emu"}, new Object[] {"kvm"}); }

    private final String accel;

    public BootIT(String accel) {
        this.accel = accel;
    }

    private static final int LINES = 20000;

    // Double quotes cannot appear inside vireo.cmd="...": the guest's /init reads them as the value's delimiters.
    private static final String COMMAND = String.join("; ",
            "echo boot-uname: $(uname -a)",
            "echo boot-arith: $((123456789*987654321%1000003)) $((-7*6)) $((1<<40))",
            // busybox awk has no libm (no sqrt): Newton's iteration for sqrt(2) and a division, in doubles.
            "echo boot-float: $(awk 'BEGIN{x=2; for(i=0;i<30;i++) x=(x+2/x)/2; print int(x*1000000), 22/7}')",
            "seq 1 " + LINES + " >/tmp/data",
            "gzip -9 -c /tmp/data >/tmp/data.gz",
            "echo boot-gzip: $(wc -c </tmp/data) $(wc -c </tmp/data.gz) $(gunzip -c /tmp/data.gz | md5sum)",
            "echo boot-md5: $(md5sum /tmp/data)");

    @Test
    public void theDebianKernelBootsAndRunsTheCommand() throws Exception {
        GuestKit.assumePresent();
        if (accel.equals("kvm")) {
            KvmStatus kvm = KvmStatus.probe();
            Assume.assumeTrue("Linux on KVM needs hardware virtualization; this host: " + kvm, kvm.canBootStockKernels());
        }
        GuestKit.Run run = GuestKit.runVm("BootIT-" + accel, "--accel", accel, "--timeout", Integer.toString(GuestKit.RUN_SECONDS),
                "--append", "console=ttyS0 acpi=off vireo.cmd=\"" + COMMAND + "\"");
        String out = run.output();
        String context = GuestKit.tail(out, 40);

        assertEquals("vireo run's exit code (0: the guest rebooted)" + context, 0, run.exitCode());
        assertTrue("/init finished" + context, out.contains("VIREO-INIT-DONE"));
        assertTrue("the command succeeded" + context, out.contains("vireo-init: exit status 0"));

        String uname = GuestKit.field(out, "boot-uname");
        assertNotNull("uname ran" + context, uname);
        assertTrue(uname, uname.startsWith("Linux ") && uname.contains(" 6.1.0-") && uname.endsWith(" x86_64 GNU/Linux"));

        assertEquals("64-bit shell arithmetic" + context, (123456789L * 987654321L % 1000003) + " -42 " + (1L << 40),
                GuestKit.field(out, "boot-arith"));
        assertEquals("awk floating point (SSE2)" + context, (long) (Math.sqrt(2) * 1_000_000) + " 3.14286", GuestKit.field(out, "boot-float"));

        byte[] data = GuestKit.seq(LINES);
        String md5 = GuestKit.md5(data);
        String[] gzip = GuestKit.field(out, "boot-gzip").split(" ");
        assertEquals("the generated data's size" + context, Integer.toString(data.length), gzip[0]);
        assertTrue("gzip compressed it: " + gzip[1] + " bytes", Integer.parseInt(gzip[1]) < data.length / 2);
        assertEquals("gunzip gave back the data", md5, gzip[2]);
        assertEquals("md5sum in the guest = md5 on the host", md5 + " /tmp/data", GuestKit.field(out, "boot-md5"));
    }
}
