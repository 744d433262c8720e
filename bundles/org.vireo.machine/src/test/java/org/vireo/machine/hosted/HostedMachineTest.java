package org.vireo.machine.hosted;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;
import org.vireo.machine.JavaGuest;

public class HostedMachineTest {
    @Test
    public void interruptsRunOnTheInterruptThreadNotTheRaisingOne() throws Exception {
        try (HostedMachine m = new HostedMachine("t", 4 << 20)) {
            int gsi = m.allocateIrq();
            assertTrue(gsi >= 16);
            CountDownLatch ran = new CountDownLatch(1);
            AtomicReference<Thread> where = new AtomicReference<>();
            m.onInterrupt(gsi, () -> {
                where.set(Thread.currentThread());
                ran.countDown();
            });
            m.line(gsi).raise();
            assertTrue("handler did not run", ran.await(10, TimeUnit.SECONDS));
            assertNotEquals(Thread.currentThread(), where.get());
        }
    }

    @Test
    public void msiVectorsReachTheirHandler() throws Exception {
        try (HostedMachine m = new HostedMachine("t", 4 << 20)) {
            CountDownLatch a = new CountDownLatch(1);
            CountDownLatch b = new CountDownLatch(1);
            JavaGuest.MsiVector va = m.allocateMsi(a::countDown);
            JavaGuest.MsiVector vb = m.allocateMsi(b::countDown);
            assertNotEquals(va.data(), vb.data());
            m.sendMsi(vb.address(), vb.data());
            assertTrue(b.await(10, TimeUnit.SECONDS));
            assertEquals(1, a.getCount());
            m.sendMsi(0x1234, va.data()); // wrong address: dropped
            vb.registration().close();
            m.sendMsi(vb.address(), vb.data()); // unregistered: dropped, no exception
        }
    }

    @Test
    public void memoryAndAllocatorAgree() {
        try (HostedMachine m = new HostedMachine("t", 4 << 20)) {
            long at = m.allocator().allocate(4096, 4096);
            assertTrue(m.memory().contains(at, 4096));
            assertTrue(at >= 0x100000);
            assertEquals("t", m.name());
        }
    }

    @Test(expected = IllegalArgumentException.class)
    public void tooLittleMemoryIsAClearError() {
        new HostedMachine("t", 1 << 20).close();
    }
}
