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
 * KVM-only interrupt paths through the in-kernel irqchip: KVM_IRQ_LINE and irqfd into a real-mode guest's IVT
 * handler via the in-kernel 8259, and KVM_SIGNAL_MSI to the in-kernel LAPIC. User-space injection by vector runs on
 * both accelerators in {@link InjectedInterruptGuestTest}.
 */
public class InterruptGuestTest {
    private static final int IRQ = InjectedInterruptGuestTest.IRQ;
    private static final int HANDLER = InjectedInterruptGuestTest.HANDLER;
    private static final int READY_PORT = InjectedInterruptGuestTest.READY_PORT;
    private static final int MARKER_PORT = InjectedInterruptGuestTest.MARKER_PORT;

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

    private KvmVcpu withIrqchip() {
        InKernelDevices devices = guest.vm.createInKernelDevices();
        assumeTrue("no in-kernel irqchip on this host: " + devices.notes(), devices.irqchip());
        guest.load(HANDLER, InjectedInterruptGuestTest.handler(true, false));
        KvmVcpu v = guest.realMode(InjectedInterruptGuestTest.mainProgram(true, false));
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
    public void msiThroughTheInKernelLapicRunsAProtectedModeIdtHandler() {
        InKernelDevices devices = guest.vm.createInKernelDevices();
        assumeTrue("no in-kernel irqchip on this host: " + devices.notes(), devices.irqchip());
        int vector = 0x30;
        long idt = 0x600;
        GuestLayout.writeInterruptGate32(guest.memory, idt, vector, HANDLER);
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
