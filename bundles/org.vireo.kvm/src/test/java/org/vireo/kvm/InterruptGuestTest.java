package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * External interrupts into a real-mode guest's IVT handler: through the in-kernel irqchip (KVM_IRQ_LINE and irqfd)
 * and, without it, through user-space injection (KVM_INTERRUPT at an interrupt window).
 */
public class InterruptGuestTest {
    private static final int IRQ = 5;
    private static final int VECTOR_BASE = 0x20;
    private static final int VECTOR = VECTOR_BASE + IRQ;
    private static final int HANDLER = 0x2000;
    private static final int READY_PORT = 0x501;
    private static final int MARKER_PORT = 0x502;

    private TestGuest guest;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-vcpu");
        t.setDaemon(true);
        return t;
    });
    private final Recorder marker = new Recorder();
    private final CountDownLatch ready = new CountDownLatch(1);

    @Before
    public void setUp() {
        TestGuest.assumeKvm();
        guest = new TestGuest(512 * 1024);
        guest.pio.register(MARKER_PORT, 1, "marker", marker);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
        runner.shutdownNow();
    }

    /**
     * Installs the IVT entry, optionally programs the master 8259 (vector base 0x20, only IRQ5 unmasked), enables
     * interrupts, reports ready, then waits: {@code hlt} in a loop, or a busy loop when {@code spin}.
     */
    private static byte[] mainProgram(boolean programPic, boolean spin) {
        Asm a = Asm.real()
                .storeImm(16, VECTOR * 4, HANDLER)      // mov word [vector*4], handler offset
                .storeImm(16, VECTOR * 4 + 2, 0);       // mov word [vector*4+2], segment 0
        if (programPic) {
            a.mov(AX, 0x11, 8).outImm(0x20)             // ICW1: edge triggered, cascade, ICW4 follows
                    .mov(AX, VECTOR_BASE, 8).outImm(0x21) // ICW2: vector base 0x20
                    .mov(AX, 0x04, 8).outImm(0x21)      // ICW3: slave on IRQ2
                    .mov(AX, 0x01, 8).outImm(0x21)      // ICW4: 8086 mode
                    .mov(AX, ~(1 << IRQ) & 0xFF, 8).outImm(0x21); // OCW1: mask all but IRQ5
        }
        a.sti()                                         // sti
                .mov(DX, READY_PORT, 16).mov(AX, 'R', 8).outDx(8); // out READY_PORT, 'R'
        if (spin) {
            a.label("spin").jmp("spin");                // jmp $
        } else {
            a.label("wait").hlt().jmp("wait");          // hlt; jmp wait
        }
        return a.bytes();
    }

    /** The handler: out MARKER_PORT, 'I'; EOI to the PIC; then iret, or halt with interrupts off. */
    private static byte[] handler(boolean eoi, boolean haltAfter) {
        Asm a = Asm.real().mov(DX, MARKER_PORT, 16).mov(AX, 'I', 8).outDx(8); // out MARKER_PORT, 'I'
        if (eoi) a.mov(AX, 0x20, 8).outImm(0x20);       // out 0x20, 0x20 (non-specific EOI)
        if (haltAfter) a.cli().hlt();
        else a.iret();
        return a.bytes();
    }

    private KvmVcpu withIrqchip() {
        InKernelDevices devices = guest.vm.createInKernelDevices();
        assumeTrue("no in-kernel irqchip on this host: " + devices.notes(), devices.irqchip());
        guest.load(HANDLER, handler(true, false));
        KvmVcpu v = guest.realMode(mainProgram(true, false));
        // With the in-kernel irqchip HLT waits in the kernel: the marker write ends the test.
        marker.onWrite(v::requestStop);
        return v;
    }

    @Test
    public void irqLineRaisedOnTheInKernelPicRunsTheIvtHandler() {
        KvmVcpu v = withIrqchip();
        guest.pio.register(READY_PORT, 1, "ready", new Recorder().onWrite(() -> {
            guest.vm.setIrqLine(IRQ, true);   // an edge on IRQ5
            guest.vm.setIrqLine(IRQ, false);
        }));
        assertEquals(v.lastError().orElse(""), StopReason.STOPPED, guest.run(v));
        assertEquals("I", marker.text());
    }

    @Test
    public void irqfdSignalledFromAnotherThreadRunsTheIvtHandler() throws Exception {
        KvmVcpu v = withIrqchip();
        IrqFd irqfd = guest.vm.irqfd(IRQ);
        guest.pio.register(READY_PORT, 1, "ready", new Recorder().onWrite(ready::countDown));
        Future<StopReason> result = runner.submit(v::run);
        assertTrue("guest never got ready", ready.await(10, TimeUnit.SECONDS));
        irqfd.signal();                       // no ioctl: KVM injects from the eventfd
        assertEquals(StopReason.STOPPED, awaitOrStop(v, result));
        assertEquals("I", marker.text());
        irqfd.close();
    }

    @Test
    public void userSpaceInjectionWakesAHaltedGuest() {
        guest.load(HANDLER, handler(false, false));
        KvmVcpu v = guest.realMode(mainProgram(false, false));
        guest.pio.register(READY_PORT, 1, "ready", new Recorder().onWrite(() -> v.queueInterrupt(VECTOR)));
        // The handler runs, irets to the hlt loop, and with nothing more pending the guest halts.
        assertEquals(v.lastError().orElse(""), StopReason.HALTED, guest.run(v));
        assertEquals("I", marker.text());
        assertEquals(-1, v.pendingInterrupt());
    }

    @Test
    public void userSpaceInjectionFromAnotherThreadReachesASpinningGuest() throws Exception {
        guest.load(HANDLER, handler(false, true));
        KvmVcpu v = guest.realMode(mainProgram(false, true));
        guest.pio.register(READY_PORT, 1, "ready", new Recorder().onWrite(ready::countDown));
        Future<StopReason> result = runner.submit(v::run);
        assertTrue("guest never got ready", ready.await(10, TimeUnit.SECONDS));
        v.queueInterrupt(VECTOR);             // the guest makes no exits: only the kick gets it out
        assertEquals(StopReason.HALTED, awaitOrStop(v, result));
        assertEquals("I", marker.text());
    }

    @Test
    public void msiThroughTheInKernelLapicRunsAProtectedModeIdtHandler() {
        InKernelDevices devices = guest.vm.createInKernelDevices();
        assumeTrue("no in-kernel irqchip on this host: " + devices.notes(), devices.irqchip());
        int vector = 0x30;
        long idt = 0x600;
        // A 32-bit interrupt gate: handler offset, code selector 0x08, present, DPL 0, type 0xE.
        guest.memory.writeLong(idt + vector * 8L, (HANDLER & 0xFFFFL) | (0x08L << 16) | (0x8E00L << 32) | ((long) (HANDLER >>> 16) << 48));
        guest.load(HANDLER, Asm.prot32()
                .mov(DX, MARKER_PORT, 16).mov(AX, 'M', 8).outDx(8)       // out MARKER_PORT, 'M'
                .mov(Asm.R.BX, 0xFEE0_00B0L, 32).zero(AX, 32)            // ebx = LAPIC EOI register
                .storeIndirectBx(32)                                     // mov [ebx], eax (EOI)
                .iret()                                                  // iretd
                .bytes());
        KvmVcpu v = guest.protectedMode32(Asm.prot32()
                .mov(Asm.R.BX, 0xFEE0_00F0L, 32).mov(AX, 0x1FF, 32)     // LAPIC spurious vector register:
                .storeIndirectBx(32)                                     //   software enable, spurious vector 0xff
                .sti()
                .mov(DX, READY_PORT, 16).mov(AX, 'R', 8).outDx(8)        // out READY_PORT, 'R'
                .label("wait").hlt().jmp("wait")
                .bytes());
        SpecialRegisters s = v.specialRegisters();
        v.setSpecialRegisters(s.withTables(s.tr(), s.ldt(), s.gdt(), new DescriptorTable(idt, vector * 8 + 7)));
        guest.pio.register(READY_PORT, 1, "ready", new Recorder().onWrite(() -> guest.vm.signalMsi(0xFEE0_0000L, vector)));
        marker.onWrite(v::requestStop);
        assertEquals(v.lastError().orElse(""), StopReason.STOPPED, guest.run(v));
        assertEquals("M", marker.text());
    }

    /** The run's result; on a hang, stops the vCPU and fails rather than blocking the build. */
    static StopReason awaitOrStop(KvmVcpu v, Future<StopReason> result) throws Exception {
        try {
            return result.get(20, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            v.requestStop();
            throw new AssertionError("vCPU did not return within 20 s (after a stop request it returned "
                    + result.get(20, TimeUnit.SECONDS) + ")");
        }
    }
}
