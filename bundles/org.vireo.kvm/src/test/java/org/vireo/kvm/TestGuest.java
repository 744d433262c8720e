package org.vireo.kvm;

import static org.junit.Assume.assumeTrue;

import java.lang.foreign.Arena;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vireo.bus.IoBus;
import org.vireo.memory.GuestMemory;

/**
 * A freestanding test guest on KVM: RAM at guest-physical 0, port and MMIO buses, one vCPU, and set-ups for real,
 * protected and long mode. Tests that need KVM call {@link #assumeKvm()} first, which skips them with the reason.
 */
final class TestGuest implements AutoCloseable {
    static final long CODE = 0x1000;
    static final long STACK_TOP = 0x8000;

    final Arena arena = Arena.ofShared();
    final GuestMemory memory;
    final IoBus pio = new IoBus("pio");
    final IoBus mmio = new IoBus("mmio");
    final Kvm kvm;
    final KvmVm vm;
    private KvmVcpu vcpu;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-vcpu");
        t.setDaemon(true);
        return t;
    });

    /**
     * Runs {@code v} on a vCPU thread and returns why it stopped; a guest still running after 30 s (a bug) is
     * stopped and the test fails, so no test can hang the build.
     */
    StopReason run(KvmVcpu v) {
        Future<StopReason> result = runner.submit(v::run);
        try {
            return result.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            v.requestStop();
            throw new AssertionError("the guest was still running after 30 s; registers " + v.registers());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            v.requestStop();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            throw new AssertionError("run() threw", e.getCause());
        }
    }

    /** Skips the calling test, naming why, when this host cannot run KVM guests at all. */
    static KvmStatus assumeKvm() {
        // -Dvireo.kvm.device=/nonexistent shows what a host without KVM sees.
        KvmStatus status = KvmStatus.probe(System.getProperty("vireo.kvm.device", Kvm.DEFAULT_DEVICE));
        assumeTrue("KVM unavailable: " + status.reason(), status.available());
        return status;
    }

    TestGuest(long ramBytes) {
        memory = GuestMemory.allocate(arena, ramBytes);
        kvm = Kvm.open();
        vm = kvm.createVm();
        vm.mapMemory(memory);
    }

    /** The vCPU, created on first use (after any in-kernel devices). */
    KvmVcpu vcpu() {
        if (vcpu == null) {
            vcpu = vm.createVcpu(0, pio, mmio);
            vcpu.setSupportedCpuid();
        }
        return vcpu;
    }

    void load(long address, byte[] code) { memory.write(address, code, 0, code.length); }

    /** Real mode, all segments at 0, code at {@link #CODE}. */
    KvmVcpu realMode(byte[] code) {
        load(CODE, code);
        KvmVcpu v = vcpu();
        SpecialRegisters s = v.specialRegisters();
        v.setSpecialRegisters(s.withSegments(Segment.realMode(0, true), Segment.realMode(0, false), Segment.realMode(0, false),
                Segment.realMode(0, false), Segment.realMode(0, false), Segment.realMode(0, false)));
        v.setRegisters(Registers.initial().withRip(CODE).withRsp(STACK_TOP));
        return v;
    }

    static final long GDT = 0x500;

    /** Flat 32-bit protected mode without paging: code selector 0x08, data 0x10, from a GDT the guest could reload. */
    KvmVcpu protectedMode32(byte[] code) {
        load(CODE, code);
        writeGdt();
        KvmVcpu v = vcpu();
        SpecialRegisters s = v.specialRegisters();
        s = s.withFlatSegments(Segment.flatCode32(0x08), Segment.flatData(0x10))
                .withTables(s.tr(), s.ldt(), new DescriptorTable(GDT, 3 * 8 - 1), s.idt())
                .withControl(s.cr0() | SpecialRegisters.CR0_PE, s.cr3(), s.cr4(), s.efer());
        v.setSpecialRegisters(s);
        v.setRegisters(Registers.initial().withRip(CODE).withRsp(STACK_TOP));
        return v;
    }

    static final long PML4 = 0x10000;

    /**
     * 64-bit long mode with identity paging of the first 4 GiB by 2 MiB pages (PML4 at 0x10000, one PDPT, four page
     * directories), so MMIO windows below 4 GiB are reachable at their physical addresses.
     */
    KvmVcpu longMode(byte[] code) {
        load(CODE, code);
        writeGdt();
        long pdpt = PML4 + 0x1000;
        long pd = PML4 + 0x2000;
        memory.writeLong(PML4, pdpt | 0x3);                        // present, writable
        for (int i = 0; i < 4; i++) {
            memory.writeLong(pdpt + i * 8L, (pd + i * 0x1000L) | 0x3);
            for (int j = 0; j < 512; j++) {
                long physical = ((long) i << 30) | ((long) j << 21);
                memory.writeLong(pd + i * 0x1000L + j * 8L, physical | 0x83); // present, writable, 2 MiB page
            }
        }
        KvmVcpu v = vcpu();
        SpecialRegisters s = v.specialRegisters();
        s = s.withFlatSegments(Segment.code64(0x18), Segment.flatData(0x10))
                .withTables(s.tr(), s.ldt(), new DescriptorTable(GDT, 4 * 8 - 1), s.idt())
                .withControl(s.cr0() | SpecialRegisters.CR0_PE | SpecialRegisters.CR0_PG, PML4,
                        s.cr4() | SpecialRegisters.CR4_PAE, s.efer() | SpecialRegisters.EFER_LME | SpecialRegisters.EFER_LMA);
        v.setSpecialRegisters(s);
        v.setRegisters(Registers.initial().withRip(CODE).withRsp(STACK_TOP));
        return v;
    }

    /** GDT: null, flat 32-bit code (0x08), flat data (0x10), 64-bit code (0x18). */
    private void writeGdt() {
        memory.writeLong(GDT, 0);
        memory.writeLong(GDT + 0x08, 0x00CF_9B00_0000_FFFFL);
        memory.writeLong(GDT + 0x10, 0x00CF_9300_0000_FFFFL);
        memory.writeLong(GDT + 0x18, 0x00AF_9B00_0000_FFFFL);
    }

    @Override
    public void close() {
        vm.close();
        runner.shutdownNow();
        kvm.close();
        arena.close();
    }
}
