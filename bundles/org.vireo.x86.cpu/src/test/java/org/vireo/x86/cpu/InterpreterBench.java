package org.vireo.x86.cpu;

/**
 * Not a test: prints the interpreter's speed on three tight loops (run with the test classpath, main()).
 * Speed is measured here, never asserted in tests.
 */
public final class InterpreterBench {
    private InterpreterBench() {
    }

    public static void main(String[] args) {
        String[][] loops = {
            {"dec/jnz", "48c7c100c2eb0b48ffc975fbf4"},
            {"alu+mem", "48c7c1002d310148c7c300001000488b034801c8488943084831c24883fa05740348ffc64883e90175e4f4"},
            {"call/ret", "48c7c1002d310151e8070000005948ffc975f4f4488b4424084883c001c3"},
        };
        for (String[] l : loops) {
            for (int round = 0; round < 3; round++) {
                try (TestMachine t = new TestMachine()) {
                    t.longMode(l[1]);
                    var threads = java.lang.management.ManagementFactory.getThreadMXBean();
                    long t0 = threads.getCurrentThreadCpuTime();   // CPU time: the build machine is shared
                    StopReason r = t.cpu.run(Long.MAX_VALUE);
                    double secs = (threads.getCurrentThreadCpuTime() - t0) / 1e9;
                    System.out.printf("%-9s %s %,d instructions in %.2f s CPU = %.1f MIPS%n", l[0], r, t.cpu.instructionsRetired(), secs,
                            t.cpu.instructionsRetired() / secs / 1e6);
                    System.out.println("          " + t.cpu.blockStats());
                }
            }
        }
    }
}
