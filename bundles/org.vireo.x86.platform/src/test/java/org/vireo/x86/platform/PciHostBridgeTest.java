package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.vireo.bus.IoBus;
import org.vireo.bus.pci.PciBus;
import org.vireo.bus.pci.PciFunction;

public class PciHostBridgeTest {
    private final IoBus pio = new IoBus("pio");
    private final PciBus pci = new PciBus();
    private final List<String> writes = new ArrayList<>();

    {
        new PciHostBridge(pci).register(pio);
        pci.attach(0, new HostBridgeFunction());
        pci.attach(3, new PciFunction() {
            @Override public int configRead(int offset, int size) { return 0x0403_0201 >>> (8 * (offset & 3)) & (int) mask(size); }
            @Override public void configWrite(int offset, int size, int value) { writes.add(offset + "/" + size + "=" + Integer.toHexString(value)); }
        });
    }

    private static long mask(int size) { return size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1; }

    private void select(int device, int reg) { pio.write(0xcf8, 4, 0x8000_0000L | device << 11 | reg); }

    @Test
    public void readsTheHostBridgeIds() {
        select(0, 0);
        assertEquals(0x1237_8086L, pio.read(0xcfc, 4));
        assertEquals(0x1237L, pio.read(0xcfe, 2));
        assertEquals(0x12L, pio.read(0xcff, 1));
        select(0, 8);
        assertEquals(0x0600_0002L, pio.read(0xcfc, 4));
        select(0, 0x10);
        pio.write(0xcfc, 4, 0xffff_ffffL);
        assertEquals("no BARs", 0L, pio.read(0xcfc, 4));
    }

    @Test
    public void emptySlotsAndDisabledCyclesReadAllOnes() {
        select(7, 0);
        assertEquals(0xffff_ffffL, pio.read(0xcfc, 4));
        assertEquals(0xffffL, pio.read(0xcfc, 2));
        pio.write(0xcf8, 4, 3 << 11);        // enable bit clear
        assertEquals(0xffff_ffffL, pio.read(0xcfc, 4));
        pio.write(0xcf8, 4, 0x8001_0000L);   // bus 1 does not exist
        assertEquals(0xffff_ffffL, pio.read(0xcfc, 4));
    }

    /** pci_check_type1: a byte write to 0xcfb must not disturb the address register. */
    @Test
    public void addressRegisterIsDwordOnly() {
        pio.write(0xcfb, 1, 0x01);
        pio.write(0xcf8, 4, 0x8000_0000L);
        assertEquals(0x8000_0000L, pio.read(0xcf8, 4));
        pio.write(0xcfb, 1, 0x00);
        assertEquals(0x8000_0000L, pio.read(0xcf8, 4));
        pio.write(0xcf8, 4, 0x8000_1a07L);
        assertEquals("the low two bits read as zero", 0x8000_1a04L, pio.read(0xcf8, 4));
    }

    @Test
    public void accessesAtEveryDataOffsetReachTheFunction() {
        select(3, 0x40);
        assertEquals(0x02L, pio.read(0xcfd, 1));
        assertEquals(0x0403L, pio.read(0xcfe, 2));
        assertEquals("straddling word split into bytes", 0x0302L, pio.read(0xcfd, 2));
        pio.write(0xcfe, 2, 0xbeef);
        pio.write(0xcff, 1, 0x7f);
        pio.write(0xcfc, 4, 0x1234_5678L);
        pio.write(0xcfd, 2, 0xabcd);
        assertEquals(List.of("66/2=beef", "67/1=7f", "64/4=12345678", "65/1=cd", "66/1=ab"), writes);
    }

    /** Issue 18: a data-port access of size 0 divided by zero (the bus contained it, logging an error each time). */
    @Test
    public void accessesOfNoBytesOrTooManyDoNothing() {
        PciHostBridge bridge = new PciHostBridge(pci);
        IoBus own = new IoBus("own");
        bridge.register(own);
        own.write(0xcf8, 4, 0x8000_0000L | 3 << 11 | 0x40);
        for (int offset = -1; offset <= 4; offset++) {
            assertEquals(0L, bridge.readData(offset, 0));
            bridge.writeData(offset, 0, 0x55);
            bridge.writeData(offset, -1, 0x55);
            bridge.writeData(offset, 8, 0x55);
            assertEquals(0xffff_ffffL, bridge.readData(offset, 8));
        }
        assertEquals(List.of(), writes);
        // a 3-byte access is split into bytes, never passed on as such
        assertEquals(0x03_0201L, bridge.readData(0, 3));
        bridge.writeData(1, 3, 0xaabbcc);
        assertEquals(List.of("65/1=cc", "66/1=bb", "67/1=aa"), writes);
    }
}
