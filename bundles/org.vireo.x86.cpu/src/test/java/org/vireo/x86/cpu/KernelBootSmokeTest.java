package org.vireo.x86.cpu;

import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.Test;
import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;
import org.vireo.memory.GuestMemory;

/**
 * Opt-in smoke test: boots a real Linux vmlinux through its PVH entry (32-bit protected mode, paging off) with
 * only a capture UART, and checks that the kernel gets far enough to print its banner. No platform devices: the
 * run ends when the instruction budget is used. Enable with {@code -Dvireo.test.vmlinux=/path/to/vmlinux}
 * (and optionally {@code -Dvireo.test.instructions=N}).
 */
public class KernelBootSmokeTest {
    private static final long START_INFO = 0x6000, MEMMAP = 0x6100, MODLIST = 0x6200, CMDLINE = 0x7000;

    @Test
    public void linuxPrintsItsBannerOverTheSerialPort() throws IOException {
        String path = System.getProperty("vireo.test.vmlinux");
        assumeTrue("set -Dvireo.test.vmlinux to run", path != null && Files.exists(Path.of(path)));
        long budget = Long.getLong("vireo.test.instructions", 300_000_000L);
        byte[] elf = Files.readAllBytes(Path.of(path));
        long ram = 256L << 20;
        try (Arena arena = Arena.ofShared()) {
            GuestMemory mem = GuestMemory.allocate(arena, ram);
            IoBus pio = new IoBus("pio"), mmio = new IoBus("mmio");
            StringBuilder console = new StringBuilder();
            pio.register(0x3f8, 8, "uart", new IoHandler() {
                @Override
                public long read(long offset, int size) { return offset == 5 ? 0x60 : offset == 6 ? 0xb0 : 0; }

                @Override
                public void write(long offset, int size, long value) { if (offset == 0) console.append((char) (value & 0xff)); }
            });
            X86Cpu cpu = new X86Cpu(mem, pio, mmio, InterruptSource.NONE);
            long entry = loadElf(elf, mem);
            assertTrue("PVH entry note found", entry != 0);
            String cmdline = System.getProperty("vireo.test.cmdline", "console=ttyS0 earlyprintk=serial,ttyS0 acpi=off");
            byte[] cl = (cmdline + "\0").getBytes(StandardCharsets.US_ASCII);
            mem.write(CMDLINE, cl, 0, cl.length);
            mem.writeInt(START_INFO, 0x336ec578);
            mem.writeInt(START_INFO + 4, 1);
            mem.writeLong(START_INFO + 24, CMDLINE);
            mem.writeLong(START_INFO + 40, MEMMAP);
            mem.writeInt(START_INFO + 48, 2);
            mem.writeLong(MEMMAP, 0);
            mem.writeLong(MEMMAP + 8, 0x9fc00);
            mem.writeInt(MEMMAP + 16, 1);
            mem.writeLong(MEMMAP + 24, 0x100000);
            mem.writeLong(MEMMAP + 32, ram - 0x100000);
            mem.writeInt(MEMMAP + 40, 1);
            CpuState s = cpu.state();
            s.setCr0(CpuState.CR0_PE);
            s.setSegment(CpuState.CS, Segment.code32(0x10));
            for (int seg : new int[] {CpuState.DS, CpuState.ES, CpuState.SS, CpuState.FS, CpuState.GS}) s.setSegment(seg, Segment.data32(0x18));
            s.setTr(new Segment(0x20, 0, 0x67, 0x8b));
            s.setGpr(CpuState.RBX, START_INFO);
            s.setRip(entry);
            long t0 = System.nanoTime();
            StopReason r = cpu.run(budget);
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.println("---- console ----\n" + console + "\n---- " + r + " after " + cpu.instructionsRetired()
                    + " instructions in " + String.format("%.1f", secs) + " s (" + String.format("%.1f", cpu.instructionsRetired() / secs / 1e6)
                    + " MIPS), rip=" + Long.toHexString(s.rip()));
            System.out.println(s);
            assertTrue("banner printed", console.toString().contains("Linux version"));
        }
    }

    /**
     * Opt-in: boots the kernel with an initramfs (PVH module) on {@link FakePlatform} and waits for the init
     * script's marker. Enable with {@code -Dvireo.test.vmlinux=...} and {@code -Dvireo.test.initramfs=...}.
     */
    @Test
    public void linuxRunsInitFromInitramfs() throws Exception {
        String path = System.getProperty("vireo.test.vmlinux"), initrd = System.getProperty("vireo.test.initramfs");
        assumeTrue("set -Dvireo.test.vmlinux and -Dvireo.test.initramfs to run",
                path != null && initrd != null && Files.exists(Path.of(path)) && Files.exists(Path.of(initrd)));
        String marker = System.getProperty("vireo.test.marker", "VIREO-INIT-DONE");
        long seconds = Long.getLong("vireo.test.seconds", 600);
        byte[] elf = Files.readAllBytes(Path.of(path));
        byte[] rd = Files.readAllBytes(Path.of(initrd));
        long ram = 256L << 20, rdAt = 128L << 20;
        try (Arena arena = Arena.ofShared()) {
            GuestMemory mem = GuestMemory.allocate(arena, ram);
            IoBus pio = new IoBus("pio"), mmio = new IoBus("mmio");
            FakePlatform platform = new FakePlatform(pio);
            X86Cpu cpu = new X86Cpu(mem, pio, mmio, platform);
            long entry = loadElf(elf, mem);
            mem.write(rdAt, rd, 0, rd.length);
            String cmdline = System.getProperty("vireo.test.cmdline", "console=ttyS0 acpi=off");
            byte[] cl = (cmdline + "\0").getBytes(StandardCharsets.US_ASCII);
            mem.write(CMDLINE, cl, 0, cl.length);
            mem.writeInt(START_INFO, 0x336ec578);
            mem.writeInt(START_INFO + 4, 1);
            mem.writeInt(START_INFO + 12, 1);
            mem.writeLong(START_INFO + 16, MODLIST);
            mem.writeLong(MODLIST, rdAt);
            mem.writeLong(MODLIST + 8, rd.length);
            mem.writeLong(START_INFO + 24, CMDLINE);
            mem.writeLong(START_INFO + 40, MEMMAP);
            mem.writeInt(START_INFO + 48, 2);
            mem.writeLong(MEMMAP, 0);
            mem.writeLong(MEMMAP + 8, 0x9fc00);
            mem.writeInt(MEMMAP + 16, 1);
            mem.writeLong(MEMMAP + 24, 0x100000);
            mem.writeLong(MEMMAP + 32, ram - 0x100000);
            mem.writeInt(MEMMAP + 40, 1);
            CpuState s = cpu.state();
            s.setCr0(CpuState.CR0_PE);
            s.setSegment(CpuState.CS, Segment.code32(0x10));
            for (int seg : new int[] {CpuState.DS, CpuState.ES, CpuState.SS, CpuState.FS, CpuState.GS}) s.setSegment(seg, Segment.data32(0x18));
            s.setTr(new Segment(0x20, 0, 0x67, 0x8b));
            s.setGpr(CpuState.RBX, START_INFO);
            s.setRip(entry);
            java.util.concurrent.atomic.AtomicReference<StopReason> stop = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicReference<Throwable> crash = new java.util.concurrent.atomic.AtomicReference<>();
            Thread vcpu = new Thread(() -> {
                try {
                    stop.set(cpu.run(Long.MAX_VALUE));
                } catch (Throwable t) {
                    crash.set(t);
                }
            }, "vcpu");
            long t0 = System.nanoTime();
            vcpu.start();
            long deadline = t0 + seconds * 1_000_000_000L;
            while (vcpu.isAlive() && System.nanoTime() < deadline && !platform.consoleText().contains(marker)) {
                platform.tick();
                cpu.wakeUp();   // the timer's job in a real platform: unpark HLT when the PIT fires
                Thread.sleep(1);
            }
            cpu.requestStop();
            vcpu.join(10_000);
            double secs = (System.nanoTime() - t0) / 1e9;
            String out = platform.consoleText();
            System.out.println("---- console ----\n" + out + "\n---- " + stop.get() + " after " + cpu.instructionsRetired()
                    + " instructions in " + String.format("%.1f", secs) + " s (" + String.format("%.1f", cpu.instructionsRetired() / secs / 1e6)
                    + " MIPS), rip=" + Long.toHexString(s.rip()));
            System.out.println(s);
            if (crash.get() != null) throw new AssertionError("emulator crashed", crash.get());
            assertTrue("marker " + marker + " printed", out.contains(marker));
        }
    }

    /** Loads PT_LOAD segments at their physical addresses; returns the PVH 32-bit entry from the Xen note. */
    private static long loadElf(byte[] elf, GuestMemory mem) {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = b.getShort(0x36) & 0xffff, phnum = b.getShort(0x38) & 0xffff;
        long entry = 0;
        for (int k = 0; k < phnum; k++) {
            int ph = (int) (phoff + (long) k * phentsize);
            int type = b.getInt(ph);
            long off = b.getLong(ph + 8), paddr = b.getLong(ph + 24), filesz = b.getLong(ph + 32), memsz = b.getLong(ph + 40);
            if (type == 1) {
                mem.write(paddr, elf, (int) off, (int) filesz);
                if (memsz > filesz) mem.fill(paddr + filesz, memsz - filesz, (byte) 0);
            } else if (type == 4) {
                int p = (int) off, end = (int) (off + filesz);
                while (p + 12 <= end) {
                    int namesz = b.getInt(p), descsz = b.getInt(p + 4), ntype = b.getInt(p + 8);
                    int name = p + 12, desc = name + ((namesz + 3) & ~3);
                    String n = new String(elf, name, Math.max(0, namesz - 1), StandardCharsets.US_ASCII);
                    if ("Xen".equals(n) && ntype == 18) entry = descsz == 8 ? b.getLong(desc) : b.getInt(desc) & 0xffffffffL;
                    p = desc + ((descsz + 3) & ~3);
                }
            }
        }
        return entry;
    }
}
