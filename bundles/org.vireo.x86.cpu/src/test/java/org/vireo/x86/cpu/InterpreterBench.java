package org.vireo.x86.cpu;

import java.util.Arrays;

/**
 * Not a test: prints the interpreter's speed on tight loops (run with the test classpath, main(); optional
 * arguments: loop names to run; {@code -Dbench.stats=true} adds the CPU statistics). Speed is measured here, never asserted in tests. Each loop runs three rounds in a
 * fresh machine; the MIPS figure is retired instructions over the vCPU thread's CPU time (the build machine is
 * shared), and the last line per loop is the median of the rounds.
 *
 * <p>Besides the three original micro-loops, five loops are modelled on the hot spots of a Linux boot (GNU as
 * sources below): the MPI multiply-accumulate of the RSA self-tests, a SHA-256-like round, 128/64-bit DIV, the
 * unrolled copy loop of memcpy/copy_user without fast strings, and CALL/RET to a function on another page.
 */
public final class InterpreterBench {
    private InterpreterBench() {
    }

    /** {name, program at CODE, optional program at CODE + 0x1000}. */
    static final String[][] LOOPS = {
        {"dec/jnz", "48c7c100c2eb0b48ffc975fbf4"},
        {"alu+mem", "48c7c1002d310148c7c300001000488b034801c8488943084831c24883fa05740348ffc64883e90175e4f4"},
        {"call/ret", "48c7c1002d310151e8070000005948ffc975f4f4488b4424084883c001c3"},
        // mov $400000,%ecx; outer: mov $DATA+0x100,%rsi; mov $DATA+0x1100,%rdi; mov $-32,%r8; movabs $K,%r9;
        // xor %r10d,%r10d; inner: mov (%rsi,%r8,8),%rax; mul %r9; add %r10,%rax; adc $0,%rdx;
        // add %rax,(%rdi,%r8,8); adc $0,%rdx; mov %rdx,%r10; inc %r8; jne inner; dec %ecx; jne outer; hlt
        {"mpi-addmul", "b9801a060048c7c60001100048c7c70011100049c7c0e0ffffff49b9f1debc9a785634124531d24a8b04c649f7e14c01d0"
                + "4883d2004a0104c74883d2004989d249ffc075e2ffc975bcf4"},
        // 3M rounds of: S1 = ror6^ror11^ror25 (e), ch, t1 = S1+ch+h+W[i] (from memory), S0 = ror2^ror13^rol10 (a),
        // maj = (b|c)&a | b&c, then the register rotation h=g ... a=t1+t2; i = (i+1) & 63; dec %ecx; jne
        {"sha256-rnd", "b9c0c62d0048c7c6000010004531f6b867e6096abb85ae67bbbf72f36e3cba3af54fa541b87f520e5141b98c68059b41ba"
                + "abd9831f41bf19cde05b4589c341c1cb064589c441c1cc0b4531e341c1cc0e4531e34589c44521cc4589c541f7d54521d5"
                + "4531ec4501dc460324b64501fc4189c341c1cb024189c541c1cd0d4531ebc1c00a4131c3c1c80a4189dd4109fd4121c5"
                + "89dd21fd4109ed4501eb4589d74589ca4589c1468d042289fa89df89c3438d041c41ffc64183e63fffc90f8579fffffff4"},
        // mov $10M,%ecx; mov $0x123456789,%rbx; xor %esi,%esi; loop: mov %rcx,%rdx; and $0xffffff,%edx;
        // movabs $0xfedcba9876543210,%rax; div %rbx; add %rax,%rsi; dec %ecx; jne loop; hlt
        {"div64", "b98096980048bb896745230100000031f64889ca81e2ffffff0048b81032547698badcfe48f7f34801c6ffc975e3f4"},
        // 100k times copy 4 KiB from DATA to DATA+0x80000, 64 bytes per iteration through r8-r11 (memcpy_orig style)
        {"copy8x64", "b9a086010048c7c60000100048c7c700001800ba400000004c8b064c8b4e084c8b56104c8b5e184c89074c894f084c89"
                + "57104c895f184c8b46204c8b4e284c8b56304c8b5e384c8947204c894f284c8957304c895f38488d7640488d7f40ffca"
                + "75b6ffc9759ff4"},
        // mov $30M,%ecx; xor %eax,%eax; loop: call far (CODE+0x1000); dec %ecx; jne loop; hlt
        // far: lea 1(%rax),%rax; ret
        {"call-far", "b980c3c90131c0e8f40f0000ffc975f7f4", "488d4001c3"},
    };

    public static void main(String[] args) {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        for (String[] l : LOOPS) {
            if (args.length > 0 && !Arrays.asList(args).contains(l[0])) continue;
            double[] mips = new double[3];
            for (int round = 0; round < 3; round++) {
                try (TestMachine t = new TestMachine()) {
                    t.longMode(l[1]);
                    if (l.length > 2) t.load(TestMachine.CODE + 0x1000, l[2]);
                    byte[] data = new byte[0x2000];
                    new java.util.Random(42).nextBytes(data);
                    t.load(TestMachine.DATA, data);
                    if (Boolean.getBoolean("bench.stats")) t.cpu.enableStats();
                    long t0 = threads.getCurrentThreadCpuTime();   // CPU time: the build machine is shared
                    StopReason r = t.cpu.run(Long.MAX_VALUE);
                    double secs = (threads.getCurrentThreadCpuTime() - t0) / 1e9;
                    mips[round] = t.cpu.instructionsRetired() / secs / 1e6;
                    System.out.printf("%-10s %s %,d instructions in %.2f s CPU = %.1f MIPS%n", l[0], r, t.cpu.instructionsRetired(), secs,
                            mips[round]);
                    if (Boolean.getBoolean("bench.stats")) System.out.println(t.cpu.stats().report().indent(11).stripTrailing());
                }
            }
            Arrays.sort(mips);
            System.out.printf("%-10s median %.1f MIPS%n", l[0], mips[1]);
        }
    }
}
