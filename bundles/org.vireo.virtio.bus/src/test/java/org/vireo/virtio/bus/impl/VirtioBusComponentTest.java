package org.vireo.virtio.bus.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioProperties;
import org.vireo.virtio.bus.VirtioBus.Binding;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;

/** The DS component's threading, driven by plain calls as SCR would make them. */
public class VirtioBusComponentTest {

    @Test(timeout = 30_000)
    public void probesRunOnTheBusThreadAndDeparturesWaitForRemove() throws Exception {
        VirtioBusComponent bus = new VirtioBusComponent();
        List<String> threads = new ArrayList<>();
        CountDownLatch removed = new CountDownLatch(1);
        FakeDriver drv = new FakeDriver("blk", 0, VirtioDeviceId.of(VirtioIds.BLOCK)) {
            @Override
            public void probe(VirtioDriverDevice device) throws Exception {
                threads.add(Thread.currentThread().getName());
                super.probe(device);
            }

            @Override
            public void remove(VirtioDriverDevice device) {
                super.remove(device);
                removed.countDown();
            }
        };
        FakeDevice dev = FakeDevice.modern("m/mmio@0x1", VirtioIds.BLOCK);
        bus.bindDevice(dev, Map.of(VirtioProperties.MACHINE, "m"));
        bus.bindDriver(drv);
        List<Binding> bindings = bus.bindings();   // waits for the queued probe
        assertEquals("blk", bindings.getFirst().driver());
        assertEquals("m", bindings.getFirst().machine());
        assertEquals(List.of("vireo-virtio-bus"), threads);

        bus.unbindDevice(dev);
        assertEquals("remove ran before unbind returned", 0, removed.getCount());
        bus.deactivate();
        bus.unbindDriver(drv);   // SCR unbinds after deactivate: must not hang
        assertEquals(0, drv.violations.get());
    }

    @Test(timeout = 60_000)
    public void concurrentArrivalsAndDeparturesKeepEveryBindingConsistent() throws Exception {
        VirtioBusComponent bus = new VirtioBusComponent();
        int threads = 4, rounds = 200;
        List<FakeDriver> drivers = List.of(
                new FakeDriver("a", 0, VirtioDeviceId.of(VirtioIds.BLOCK), VirtioDeviceId.of(VirtioIds.NET)),
                new FakeDriver("b", 0, VirtioDeviceId.of(VirtioIds.BLOCK)),
                new FakeDriver("c", 0, VirtioDeviceId.of(VirtioIds.NET)));
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            work.add(pool.submit(() -> {
                start.await();
                for (int r = 0; r < rounds; r++) {
                    FakeDevice dev = FakeDevice.modern("t" + id + "-" + r, r % 2 == 0 ? VirtioIds.BLOCK : VirtioIds.NET);
                    bus.bindDevice(dev, Map.of());
                    if (r % 3 != 0) bus.unbindDevice(dev);
                }
                return null;
            }));
        }
        work.add(pool.submit(() -> {
            start.await();
            for (int r = 0; r < rounds; r++) {
                FakeDriver d = drivers.get(r % drivers.size());
                bus.bindDriver(d);
                if (r % 2 == 1) bus.unbindDriver(d);
            }
            return null;
        }));
        for (Future<?> f : work) f.get();
        pool.shutdown();
        for (FakeDriver d : drivers) bus.bindDriver(d);
        assertTrue(bus.awaitQuiescence(30, TimeUnit.SECONDS));

        List<Binding> bindings = bus.bindings();
        assertEquals(threads * ((rounds + 2) / 3), bindings.size());
        for (Binding b : bindings) {
            assertNotNull("every remaining device found a driver: " + b, b.driver());
        }
        int live = 0;
        for (FakeDriver d : drivers) {
            assertEquals("probe/remove pairing of " + d.name, 0, d.violations.get());
            live += d.live.size();
        }
        assertEquals("each device bound exactly once", bindings.size(), live);

        bus.deactivate();
        for (FakeDriver d : drivers) {
            assertTrue("deactivate removes every binding of " + d.name, d.live.isEmpty());
            bus.unbindDriver(d);
        }
    }

    @Test(timeout = 30_000)
    public void bindingsReflectTheDeviceSeenByTheBus() throws Exception {
        VirtioBusComponent bus = new VirtioBusComponent();
        FakeDevice dev = FakeDevice.modern("x", VirtioIds.RNG);
        bus.bindDevice(dev, Map.of(VirtioProperties.MACHINE, "java"));
        Binding b = bus.bindings().getFirst();
        assertEquals(new Binding("x", VirtioIds.RNG, "fake", "java", null, 1), b);
        assertNull(dev.boundDriver);
        FakeDriver rng = new FakeDriver("rng", 0, VirtioDeviceId.of(VirtioIds.RNG));
        bus.bindDriver(rng);
        assertSame(rng, bus.bindings().isEmpty() ? null : dev.boundDriver);
        bus.deactivate();
    }
}
