package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.kvm.TestAccelerator.Exit;

/**
 * External interrupts injected by vector into real-mode (IVT), 32-bit (IDT gate) and 64-bit (16-byte IDT gate)
 * handlers, on KVM (user-space injection, KVM_INTERRUPT at an interrupt window) and on the CPU emulator (an
 * InterruptSource delivering the vector). The in-kernel irqchip paths are KVM-only: {@link InterruptGuestTest}.
 */
@RunWith(Parameterized.class)
public class InjectedInterruptGuestTest {
    static final int IRQ = 5;
    static final int VECTOR_BASE = 0x20;
    static final int VECTOR = VECTOR_BASE + IRQ;
    static final int HANDLER = 0x2000;
    static final int READY_PORT = 0x501;
    static final int MARKER_PORT = 0x502;
    private static final long IDT = 0x600;

    @Parameters(name = "{0}")
    public static List<TestAccelerator.Kind> accelerators() { return TestAccelerator.both(); }

    @Parameter
    public TestAccelerator.Kind kind;

    private TestAccelerator guest;
    private final Recorder marker = new Recorder();
    private final CountDownLatch ready = new CountDownLatch(1);

    @Before
    public void setUp() {
        guest = kind.open(512 * 1024);
        guest.pio().register(MARKER_PORT, 1, "marker", marker);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    /**
     * Real mode: installs the IVT entry, optionally programs the master 8259 (vector base 0x20, only IRQ5 unmasked),
     * enables interrupts, reports ready, then waits: {@code hlt} in a loop, or a busy loop when {@code spin}.
     */
    static byte[] mainProgram(boolean programPic, boolean spin) {
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
        return readyThenWait(a.sti(), spin);            // sti
    }

    /** out READY_PORT, 'R'; then {@code hlt; jmp} for ever, or {@code jmp $} when {@code spin}. */
    private static byte[] readyThenWait(Asm a, boolean spin) {
        a.mov(DX, READY_PORT, 16).mov(AX, 'R', 8).outDx(8);       // out READY_PORT, 'R'
        if (spin) {
            a.label("spin").jmp("spin");                          // jmp $
        } else {
            a.label("wait").hlt().jmp("wait");                    // hlt; jmp wait
        }
        return a.bytes();
    }

    /** The real-mode handler: out MARKER_PORT, 'I'; EOI to the PIC; then iret, or halt with interrupts off. */
    static byte[] handler(boolean eoi, boolean haltAfter) {
        Asm a = Asm.real().mov(DX, MARKER_PORT, 16).mov(AX, 'I', 8).outDx(8); // out MARKER_PORT, 'I'
        if (eoi) a.mov(AX, 0x20, 8).outImm(0x20);       // out 0x20, 0x20 (non-specific EOI)
        if (haltAfter) a.cli().hlt();
        else a.iret();
        return a.bytes();
    }

    private void injectWhenReady(int vector) {
        guest.pio().register(READY_PORT, 1, "ready", new Recorder().onWrite(() -> guest.interrupt(vector)));
    }

    @Test
    public void injectionWakesAHaltedRealModeGuest() {
        guest.load(HANDLER, handler(false, false));
        guest.realMode(mainProgram(false, false));
        injectWhenReady(VECTOR);
        // The handler runs, irets to the hlt loop, and with nothing more pending the guest halts.
        guest.runToHlt();
        assertEquals("I", marker.text());
    }

    @Test
    public void injectionFromAnotherThreadReachesASpinningGuest() throws Exception {
        guest.load(HANDLER, handler(false, true));
        guest.realMode(mainProgram(false, true));
        guest.pio().register(READY_PORT, 1, "ready", new Recorder().onWrite(ready::countDown));
        Future<Exit> result = guest.start();
        assertTrue("guest never got ready", ready.await(10, TimeUnit.SECONDS));
        guest.interrupt(VECTOR);              // the guest makes no exits: only the kick (or the next block) gets it
        guest.expectHalt(guest.await(result));
        assertEquals("I", marker.text());
    }

    @Test
    public void aVectorWaitsWhileInterruptsAreOffAndIsTakenAfterTheStiShadow() {
        guest.load(HANDLER, handler(false, false));
        guest.realMode(Asm.real()
                .storeImm(16, VECTOR * 4, HANDLER).storeImm(16, VECTOR * 4 + 2, 0)
                .cli()                                              // cli
                .mov(DX, READY_PORT, 16).mov(AX, 'R', 8).outDx(8)   // out READY_PORT, 'R': the vector is queued now
                .mov(DX, MARKER_PORT, 16).mov(AX, 'B', 8).outDx(8)  // out MARKER_PORT, 'B'
                .mov(AX, 'S', 8)                                    // mov al, 'S'
                .sti()                                              // sti
                .outDx(8)                                           // out dx, al: 'S', inside sti's shadow
                .mov(DX, MARKER_PORT, 16).mov(AX, 'A', 8).outDx(8)  // out MARKER_PORT, 'A': after the handler
                .cli().hlt()
                .bytes());
        injectWhenReady(VECTOR);
        guest.runToHlt();
        assertEquals("held while IF was clear, taken right after the instruction in sti's shadow", "BSIA", marker.text());
    }

    /** A 32-bit guest whose IDT sends {@code vector} to a handler that reports 'P' and then {@code tail}. */
    private void protectedModeGuest(int vector, Asm handlerTail) {
        GuestLayout.writeInterruptGate32(guest.memory(), IDT, vector, HANDLER);
        guest.load(HANDLER, handlerTail.bytes());
        guest.protectedMode32(readyThenWait(Asm.prot32().sti(), false));
        guest.setIdt(IDT, vector * 8 + 7);
        injectWhenReady(vector);
    }

    private static Asm reportP() { return Asm.prot32().mov(DX, MARKER_PORT, 16).mov(AX, 'P', 8).outDx(8); } // out MARKER_PORT, 'P'

    @Test
    public void injectionRunsAProtectedModeIdtHandler() {
        Asm handler = reportP().hlt();                                // hlt (the interrupt gate cleared IF)
        protectedModeGuest(0x30, handler);
        guest.runToHlt();
        assertEquals("P", marker.text());
        assertEquals("halted in the handler", HANDLER + handler.bytes().length, guest.rip());
    }

    @Test
    public void iretdReturnsFromAProtectedModeHandler() {
        protectedModeGuest(0x30, reportP().iret());                   // iretd back to the hlt loop
        Exit exit = guest.runToEnd();
        assertEquals("P", marker.text());
        // KVM's instruction emulator implements IRET only in real mode, and PVM emulates a CPL-0 iretd instead of running it.
        assumeTrue("PVM cannot emulate a protected-mode iretd (bytes cf): " + guest.describe(),
                !(exit == Exit.ERROR && guest instanceof KvmTestAccelerator k && k.status.isPvm()));
        guest.expectHalt(exit);
    }

    @Test
    public void injectionRunsALongModeIdtHandler() {
        int vector = 0x40;
        GuestLayout.writeInterruptGate64(guest.memory(), IDT, vector, HANDLER);
        guest.load(HANDLER, Asm.long64()
                .mov(DX, MARKER_PORT, 16).mov(AX, 'L', 8).outDx(8)   // out MARKER_PORT, 'L'
                .iret()                                              // iretq
                .bytes());
        guest.longMode(readyThenWait(Asm.long64().sti(), false));
        guest.setIdt(IDT, vector * 16 + 15);
        injectWhenReady(vector);
        guest.runToHlt();
        assertEquals("L", marker.text());
    }
}
