package org.vireo.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.vireo.kvm.Asm.R.AX;
import static org.vireo.kvm.Asm.R.DX;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** requestStop(): from another thread into a guest that never exits, before a run, and from an I/O handler. */
public class StopGuestTest {
    private TestGuest guest;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "test-vcpu");
        t.setDaemon(true);
        return t;
    });
    private final Recorder uart = new Recorder();

    @Before
    public void setUp() {
        TestGuest.assumeKvm();
        guest = new TestGuest(512 * 1024);
        guest.pio.register(0x3F8, 1, "uart", uart);
    }

    @After
    public void tearDown() {
        if (guest != null) guest.close();
        runner.shutdownNow();
    }

    /** out 0x3f8, 'R'; then cli; jmp $ for ever, with no exits at all. */
    private static byte[] spinner() {
        return Asm.real()
                .cli()                                      // cli
                .mov(DX, 0x3F8, 16).mov(AX, 'R', 8).outDx(8) // out 0x3f8, 'R'
                .label("spin").jmp("spin")                   // jmp $
                .bytes();
    }

    @Test
    public void stopFromAnotherThreadEndsAGuestThatNeverExits() throws Exception {
        KvmVcpu v = guest.realMode(spinner());
        CountDownLatch ready = new CountDownLatch(1);
        uart.onWrite(ready::countDown);
        Future<StopReason> result = runner.submit(v::run);
        assertTrue("guest never got ready", ready.await(10, TimeUnit.SECONDS));
        v.requestStop();
        assertEquals(StopReason.STOPPED, InterruptGuestTest.awaitOrStop(v, result));
        long spin = TestGuest.CODE + spinner().length - 2;
        assertEquals("stopped inside the spin loop", spin, v.registers().rip());

        // The request was consumed: a second run spins again until stopped again.
        Future<StopReason> again = runner.submit(v::run);
        assertEquals("still spinning", false, waitFor(again, 200));
        v.requestStop();
        assertEquals(StopReason.STOPPED, InterruptGuestTest.awaitOrStop(v, again));
    }

    private static boolean waitFor(Future<?> f, long millis) throws Exception {
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }

    @Test
    public void stopBeforeRunReturnsAtOnceAndIsConsumed() {
        KvmVcpu v = guest.realMode(Asm.real().mov(DX, 0x3F8, 16).mov(AX, 'X', 8).outDx(8).hlt().bytes());
        v.requestStop();
        assertEquals(StopReason.STOPPED, guest.run(v));
        assertEquals("the guest did not run", "", uart.text());
        assertEquals(StopReason.HALTED, guest.run(v));
        assertEquals("X", uart.text());
    }

    @Test
    public void stopFromAnIoHandlerOnTheVcpuThread() {
        KvmVcpu v = guest.realMode(spinner());
        uart.onWrite(v::requestStop);
        assertEquals(StopReason.STOPPED, guest.run(v));
        assertEquals("R", uart.text());
        assertEquals("stopped right after the out", TestGuest.CODE + 7, v.registers().rip());
    }

    @Test
    public void closeStopsARunningGuest() throws Exception {
        KvmVcpu v = guest.realMode(spinner());
        CountDownLatch ready = new CountDownLatch(1);
        uart.onWrite(ready::countDown);
        Future<StopReason> result = runner.submit(v::run);
        assertTrue("guest never got ready", ready.await(10, TimeUnit.SECONDS));
        v.close();
        assertEquals(StopReason.STOPPED, result.get(20, TimeUnit.SECONDS));
        assertTrue(guest.vm.vcpus().isEmpty());
    }
}
