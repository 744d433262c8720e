package org.vireo.bus.pci;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class PciBusTest {
    static final class Fn implements PciFunction {
        boolean detached;

        @Override public int configRead(int offset, int size) { return offset == 0 ? 0x10401af4 : 0; }

        @Override public void configWrite(int offset, int size, int value) {}

        @Override public void detached() { detached = true; }
    }

    @Test
    public void emptySlotsReadAllOnesAndSlotsFillFromOne() {
        PciBus bus = new PciBus();
        assertEquals(-1, bus.configRead(0, 3, 0, 0, 4));
        assertEquals(0xffff, bus.configRead(0, 3, 0, 0, 2));
        Fn f = new Fn();
        int slot = bus.attach(f);
        assertEquals(1, slot);
        assertEquals(0x10401af4, bus.configRead(0, 1, 0, 0, 4));
        assertEquals(-1, bus.configRead(0, 1, 1, 0, 4));
        assertEquals(-1, bus.configRead(1, 1, 0, 0, 4));
        assertEquals(0xff, bus.configRead(0, 1, 0, 256, 1));
    }

    @Test
    public void listenersSeeHotplugAndDetachNotifiesTheFunction() {
        PciBus bus = new PciBus();
        List<String> events = new ArrayList<>();
        bus.addListener(new PciBus.Listener() {
            @Override public void attached(int slot, PciFunction function) { events.add("+" + slot); }

            @Override public void detached(int slot, PciFunction function) { events.add("-" + slot); }
        });
        Fn f = new Fn();
        bus.attach(5, f);
        bus.detach(5);
        bus.detach(5);
        assertEquals(List.of("+5", "-5"), events);
        assertTrue(f.detached);
    }

    @Test(expected = IllegalStateException.class)
    public void aFullBusIsAClearError() {
        PciBus bus = new PciBus();
        for (int i = 0; i < PciBus.SLOTS; i++) bus.attach(new Fn());
    }
}
