package org.vireo.virtio.bus.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.vireo.machine.hosted.HostedMachine;
import org.vireo.virtio.VirtioFeatures;
import org.vireo.virtio.VirtioIds;
import org.vireo.virtio.VirtioStatus;
import org.vireo.virtio.core.PluggedDevice;
import org.vireo.virtio.driver.VirtioDeviceId;
import org.vireo.virtio.driver.VirtioDriverDevice;
import org.vireo.virtio.mmio.VirtioMmio;
import org.vireo.virtio.pci.VirtioPci;
import org.vireo.virtio.rng.RngDevice;
import org.vireo.virtio.rng.SecureRandomSource;

/** The handshake through the real transports' registers, as the device side sees it. */
@RunWith(Parameterized.class)
public class VirtioBusTransportTest {
    private static final int OK = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK;

    @Parameters(name = "{0}")
    public static List<Object[]> transports() { return List.of(new Object[] {"mmio"}, new Object[] {"pci"}); }

    @Parameter
    public String transport;

    @Test(timeout = 60_000)
    public void failedProbesBindingsAndDeparturesShowOnTheDevice() throws Exception {
        try (HostedMachine machine = new HostedMachine("java", 16L << 20);
             RngDevice rng = new RngDevice(new SecureRandomSource(), "rng0")) {
            PluggedDevice plugged = transport.equals("mmio") ? VirtioMmio.plug(machine, rng, "rng0") : VirtioPci.plug(machine, rng, "rng0");
            try {
                VirtioDriverDevice dev = plugged.driverSide().orElseThrow();
                VirtioBusCore bus = new VirtioBusCore();
                FakeDriver refusing = new FakeDriver("refusing", 0, VirtioDeviceId.of(VirtioIds.RNG));
                refusing.failProbe = true;
                bus.addDriver(refusing);
                bus.addDevice(dev, machine.name());
                assertEquals(List.of("probe " + dev.name()), refusing.log);
                assertTrue(VirtioStatus.describe(plugged.info().status()), (plugged.info().status() & VirtioStatus.FAILED) != 0);
                assertNull(bus.bindings().getFirst().driver());

                FakeDriver good = new FakeDriver("good", 0, VirtioDeviceId.of(VirtioIds.RNG));
                bus.addDriver(good);
                assertEquals(OK, plugged.info().status());
                assertSame(good, dev.boundDriver());
                long negotiated = plugged.info().driverFeatures();
                assertTrue(VirtioFeatures.has(negotiated, VirtioFeatures.VERSION_1));
                assertEquals("only what the device offered", 0, negotiated & ~plugged.info().deviceFeatures());
                assertEquals(new org.vireo.virtio.bus.VirtioBus.Binding(dev.name(), VirtioIds.RNG, transport, "java", "good", OK),
                        bus.bindings().getFirst());

                bus.removeDriver(good);   // the next matching driver gets the device, and refuses it again
                assertEquals(List.of("probe " + dev.name(), "remove " + dev.name()), good.log);
                assertEquals(2, refusing.log.size());
                assertTrue((plugged.info().status() & VirtioStatus.FAILED) != 0);

                bus.removeDriver(refusing);
                bus.addDriver(good);
                assertEquals(OK, plugged.info().status());
                bus.removeDriver(good);
                assertEquals("no driver left: reset and acknowledged", VirtioStatus.ACKNOWLEDGE, plugged.info().status());
                bus.removeDevice(dev);
                assertTrue(bus.bindings().isEmpty());
            } finally {
                plugged.close();
            }
        }
    }
}
