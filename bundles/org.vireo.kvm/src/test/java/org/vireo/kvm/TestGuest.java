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
 * protected and long mode (laid out by {@link GuestLayout}). Tests that need KVM call {@link #assumeKvm()} first,
 * which skips them with the reason. Tests that run on both accelerators use {@link TestAccelerator} instead.
 */
final class TestGuest implements AutoCloseable {
    static final long CODE = GuestLayout.CODE;
    static final long STACK_TOP = GuestLayout.STACK_TOP;
    static final long GDT = GuestLayout.GDT;
    static final long PML4 = GuestLayout.PML4;

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
        return enter(Asm.Mode.REAL16);
    }

    /** Flat 32-bit protected mode without paging: code selector 0x08, data 0x10, from a GDT the guest could reload. */
    KvmVcpu protectedMode32(byte[] code) {
        load(CODE, code);
        GuestLayout.writeGdt(memory);
        return enter(Asm.Mode.PROT32);
    }

    /** 64-bit long mode with identity paging of the first 4 GiB ({@link GuestLayout#writeIdentityPaging}). */
    KvmVcpu longMode(byte[] code) {
        load(CODE, code);
        GuestLayout.writeGdt(memory);
        GuestLayout.writeIdentityPaging(memory);
        return enter(Asm.Mode.LONG64);
    }

    /**
     * Sets the vCPU's registers for {@code mode} with rip at {@link #CODE} and the stack at {@link #STACK_TOP}; the
     * GDT and page tables of {@link GuestLayout} must already be in memory for the protected and long modes.
     */
    KvmVcpu enter(Asm.Mode mode) {
        KvmVcpu v = vcpu();
        SpecialRegisters s = v.specialRegisters();
        s = switch (mode) {
            case REAL16 -> s.withSegments(Segment.realMode(0, true), Segment.realMode(0, false), Segment.realMode(0, false),
                    Segment.realMode(0, false), Segment.realMode(0, false), Segment.realMode(0, false));
            case PROT32 -> s.withFlatSegments(Segment.flatCode32(GuestLayout.CODE32_SELECTOR), Segment.flatData(GuestLayout.DATA_SELECTOR))
                    .withTables(s.tr(), s.ldt(), new DescriptorTable(GDT, GuestLayout.GDT_LIMIT_32), s.idt())
                    .withControl(s.cr0() | SpecialRegisters.CR0_PE, s.cr3(), s.cr4(), s.efer());
            case LONG64 -> s.withFlatSegments(Segment.code64(GuestLayout.CODE64_SELECTOR), Segment.flatData(GuestLayout.DATA_SELECTOR))
                    .withTables(s.tr(), s.ldt(), new DescriptorTable(GDT, GuestLayout.GDT_LIMIT_64), s.idt())
                    .withControl(s.cr0() | SpecialRegisters.CR0_PE | SpecialRegisters.CR0_PG, PML4,
                            s.cr4() | SpecialRegisters.CR4_PAE, s.efer() | SpecialRegisters.EFER_LME | SpecialRegisters.EFER_LMA);
        };
        v.setSpecialRegisters(s);
        v.setRegisters(Registers.initial().withRip(CODE).withRsp(STACK_TOP));
        return v;
    }

    @Override
    public void close() {
        vm.close();
        runner.shutdownNow();
        kvm.close();
        arena.close();
    }
}
