package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.vireo.kvm.Recorder.Access;

/** ioeventfd: guest writes to a notify address signal an eventfd in the kernel, with no exit to user space. */
public class IoEventFdGuestTest {
    private static final int NOTIFY_PORT = 0x600;
    private static final long NOTIFY_MMIO = 0x90050;

    private TestGuest guest;
    private final Recorder notifyPort = new Recorder();
    private final Recorder notifyMmio = new Recorder();
    private final Recorder uart = new Recorder();

    @Before
    public void setUp() {
        TestGuest.assumeKvm();
        guest = new TestGuest(512 * 1024);
        // Claim the notify addresses on the buses too: any write that does exit to user space is recorded.
        guest.pio.register(NOTIFY_PORT, 2, "notify", notifyPort);
        guest.mmio.register(0x90000, 0x1000, "notify", notifyMmio);
        guest.pio.register(0x3F8, 1, "uart", uart);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
    }

    /** out NOTIFY_PORT, ax (value) {@code times} times; out 0x3f8, 'D'; hlt. */
    private static byte[] notifier(int times, int value) {
        Asm a = Asm.real().mov(DX, NOTIFY_PORT, 16).mov(AX, value, 16); // mov dx, 0x600; mov ax, value
        for (int i = 0; i < times; i++) a.outDx(16);                    // out dx, ax
        return a.mov(DX, 0x3F8, 16).mov(AX, 'D', 8).outDx(8).hlt().bytes();
    }

    @Test
    public void portWritesSignalTheEventFdWithoutExits() throws Exception {
        IoEventFd efd = guest.vm.ioeventfd(IoSpace.PIO, NOTIFY_PORT, 2, OptionalLong.empty());
        CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> efd.await(20, TimeUnit.SECONDS));
        KvmVcpu v = guest.realMode(notifier(3, 7));
        assertEquals(StopReason.HALTED, guest.run(v));
        long first = waiter.get(30, TimeUnit.SECONDS);
        assertTrue("the waiting thread was woken", first >= 1);
        assertEquals("every write counted", 3, first + efd.poll());
        assertEquals("no notify write reached user space", List.of(), notifyPort.accesses());
        assertEquals("D", uart.text());
        long exitsWithEventFd = v.exitCount();
        assertEquals("only the uart write and hlt exited", 2, exitsWithEventFd);
    }

    @Test
    public void datamatchSignalsOnlyTheMatchingValueAndOtherWritesExit() {
        IoEventFd efd = guest.vm.ioeventfd(IoSpace.MMIO, NOTIFY_MMIO, 4, OptionalLong.of(1));
        byte[] code = Asm.real()
                .mov(AX, 0x9000, 16).movSreg(Asm.Sreg.DS, AX)   // ds = 0x9000
                .storeImm(32, 0x50, 1)                          // mov dword [0x50], 1   (matches)
                .storeImm(32, 0x50, 2)                          // mov dword [0x50], 2   (exits)
                .storeImm(32, 0x50, 1)                          // mov dword [0x50], 1   (matches)
                .storeImm(16, 0x50, 1)                          // mov word [0x50], 1    (wrong width: exits)
                .hlt()
                .bytes();
        KvmVcpu v = guest.realMode(code);
        assertEquals(StopReason.HALTED, guest.run(v));
        assertEquals(2, efd.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(new Access(true, 0x50, 4, 2), new Access(true, 0x50, 2, 1)), notifyMmio.accesses());
    }

    @Test
    public void closingDeassignsSoWritesExitAgain() {
        IoEventFd efd = guest.vm.ioeventfd(IoSpace.PIO, NOTIFY_PORT, 2, OptionalLong.empty());
        efd.close();
        KvmVcpu v = guest.realMode(notifier(2, 9));
        assertEquals(StopReason.HALTED, guest.run(v));
        assertEquals(List.of(new Access(true, 0, 2, 9), new Access(true, 0, 2, 9)), notifyPort.accesses());
    }

    @Test
    public void anyLengthRegistrationCatchesEveryWidth() {
        IoEventFd efd = guest.vm.ioeventfd(IoSpace.PIO, NOTIFY_PORT, 0, OptionalLong.empty());
        byte[] code = Asm.real()
                .mov(DX, NOTIFY_PORT, 16).mov(AX, 5, 16)
                .outDx(8).outDx(16).outDx(32)                   // out dx, al / ax / eax
                .hlt().bytes();
        KvmVcpu v = guest.realMode(code);
        assertEquals(StopReason.HALTED, guest.run(v));
        assertEquals(3, efd.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(), notifyPort.accesses());
    }
}
