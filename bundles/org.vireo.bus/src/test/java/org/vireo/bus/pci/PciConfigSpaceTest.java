package org.vireo.bus.pci;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

public class PciConfigSpaceTest {
    private record Move(int bar, long from, long to) {}

    private static PciConfigSpace space() {
        PciConfigSpace s = new PciConfigSpace(0x1af4, 0x1042, 0x018000, 1);
        s.setSubsystem(0x4956, 2);
        s.setInterruptPin(1);
        return s;
    }

    @Test
    public void identityRegisters() {
        PciConfigSpace s = space();
        assertEquals(0x1af4, s.configRead(0, 2));
        assertEquals(0x1042, s.configRead(2, 2));
        assertEquals(0x1042_1af4, s.configRead(0, 4));
        assertEquals(1, s.configRead(PciConfigSpace.REVISION_ID, 1));
        assertEquals(0x0180_0001, s.configRead(PciConfigSpace.REVISION_ID, 4));
        assertEquals(0, s.configRead(PciConfigSpace.HEADER_TYPE, 1));
        assertEquals(0x4956, s.configRead(PciConfigSpace.SUBSYSTEM_VENDOR_ID, 2));
        assertEquals(2, s.configRead(PciConfigSpace.SUBSYSTEM_ID, 2));
        assertEquals(1, s.configRead(PciConfigSpace.INTERRUPT_PIN, 1));
        // identity is read-only
        s.configWrite(0, 4, 0x12345678);
        s.configWrite(PciConfigSpace.INTERRUPT_PIN, 1, 3);
        assertEquals(0x1042_1af4, s.configRead(0, 4));
        assertEquals(1, s.configRead(PciConfigSpace.INTERRUPT_PIN, 1));
    }

    @Test
    public void commandKeepsOnlyWritableBitsAndInterruptLineIsWritable() {
        PciConfigSpace s = space();
        s.configWrite(PciConfigSpace.COMMAND, 2, 0xffff);
        assertEquals(0x547, s.configRead(PciConfigSpace.COMMAND, 2));
        assertTrue(s.memoryEnabled());
        assertTrue(s.busMasterEnabled());
        assertTrue(s.intxDisabled());
        s.configWrite(PciConfigSpace.STATUS, 2, 0xffff);
        assertEquals(0, s.configRead(PciConfigSpace.STATUS, 2));
        s.configWrite(PciConfigSpace.INTERRUPT_LINE, 1, 17);
        assertEquals(17, s.interruptLine());
        s.setInterruptStatus(true);
        assertEquals(PciConfigSpace.STATUS_INTERRUPT, s.configRead(PciConfigSpace.STATUS, 2));
        s.setInterruptStatus(false);
        assertEquals(0, s.configRead(PciConfigSpace.STATUS, 2));
    }

    @Test
    public void bar32SizingAndPlacement() {
        PciConfigSpace s = space();
        s.addMemoryBar(1, 0x1000, false, false);
        int reg = PciConfigSpace.BAR0 + 4;
        assertEquals(0, s.configRead(reg, 4));
        s.configWrite(reg, 4, -1);
        assertEquals(0xffff_f000, s.configRead(reg, 4));
        s.configWrite(reg, 4, 0xe000_1234);
        assertEquals(0xe000_1000, s.configRead(reg, 4));
        assertEquals(0xe000_1000L, s.barAddress(1));
        // undeclared BARs read 0 and ignore sizing
        s.configWrite(PciConfigSpace.BAR0, 4, -1);
        assertEquals(0, s.configRead(PciConfigSpace.BAR0, 4));
        s.configWrite(PciConfigSpace.EXPANSION_ROM, 4, -1);
        assertEquals(0, s.configRead(PciConfigSpace.EXPANSION_ROM, 4));
    }

    @Test
    public void bar64SizingBothHalves() {
        PciConfigSpace s = space();
        s.addMemoryBar(0, 0x8000, true, true);
        assertEquals(0xc, s.configRead(PciConfigSpace.BAR0, 4));
        s.configWrite(PciConfigSpace.BAR0, 4, -1);
        s.configWrite(PciConfigSpace.BAR0 + 4, 4, -1);
        assertEquals(0xffff_800c, s.configRead(PciConfigSpace.BAR0, 4));
        assertEquals(-1, s.configRead(PciConfigSpace.BAR0 + 4, 4));
        s.setBarAddress(0, 0x1_2345_8000L);
        assertEquals(0x1_2345_8000L, s.barAddress(0));
        assertEquals(0x2345_800c, s.configRead(PciConfigSpace.BAR0, 4));
        assertEquals(1, s.configRead(PciConfigSpace.BAR0 + 4, 4));
        assertEquals(0x8000, s.barSize(0));
    }

    @Test(expected = IllegalStateException.class)
    public void upperHalfOf64BitBarIsTaken() {
        PciConfigSpace s = space();
        s.addMemoryBar(0, 0x8000, true, false);
        s.addMemoryBar(1, 0x1000, false, false);
    }

    @Test
    public void listenerHearsEnableRelocateDisable() {
        PciConfigSpace s = space();
        s.addMemoryBar(0, 0x4000, true, false);
        s.setBarAddress(0, 0xd000_0000L);
        List<Move> moves = new ArrayList<>();
        s.setBarListener((bar, from, to) -> moves.add(new Move(bar, from, to)));
        assertTrue("nothing decodes before memory enable", moves.isEmpty());
        assertEquals(PciConfigSpace.UNMAPPED, s.mappedAddress(0));

        s.configWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertEquals(List.of(new Move(0, PciConfigSpace.UNMAPPED, 0xd000_0000L)), moves);
        assertEquals(0xd000_0000L, s.mappedAddress(0));

        moves.clear();
        s.configWrite(PciConfigSpace.BAR0, 4, 0xd001_0000);
        assertEquals(List.of(new Move(0, 0xd000_0000L, 0xd001_0000L)), moves);

        moves.clear();
        s.configWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY); // no change, no call
        assertTrue(moves.isEmpty());
        s.configWrite(PciConfigSpace.COMMAND, 2, 0);
        assertEquals(List.of(new Move(0, 0xd001_0000L, PciConfigSpace.UNMAPPED)), moves);

        moves.clear();
        s.configWrite(PciConfigSpace.BAR0, 4, 0);
        s.configWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertTrue("address 0 is unassigned", moves.isEmpty());

        s.configWrite(PciConfigSpace.BAR0 + 4, 4, 0x8000_0000);
        assertTrue("bit 63 set is beyond any physical address", moves.isEmpty());
        assertEquals(PciConfigSpace.UNMAPPED, s.mappedAddress(0));
        s.configWrite(PciConfigSpace.BAR0 + 4, 4, 0x1);
        assertEquals(List.of(new Move(0, PciConfigSpace.UNMAPPED, 0x1_0000_0000L)), moves);
    }

    @Test
    public void capabilityListChainsAndMasksWrites() {
        PciConfigSpace s = space();
        int first = s.addCapability(0x09, new byte[] {14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, null, null);
        List<int[]> writes = new ArrayList<>();
        int second = s.addCapability(0x11, new byte[] {3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                new byte[] {0, (byte) 0xc0, 0, 0, 0, 0, 0, 0, 0, 0},
                new PciConfigSpace.CapabilityHandler() {
                    @Override public void written(int offset, int size, int value) { writes.add(new int[] {offset, size, value}); }

                    @Override public int read(int offset, int size, int stored) { return offset == 8 ? 0xabcd : stored; }
                });
        assertTrue((s.configRead(PciConfigSpace.STATUS, 2) & PciConfigSpace.STATUS_CAPABILITIES) != 0);
        assertEquals(first, s.configRead(PciConfigSpace.CAPABILITIES_POINTER, 1));
        assertEquals(0x40, first);
        assertEquals(0x09, s.configRead(first, 1));
        assertEquals(second, s.configRead(first + 1, 1));
        assertEquals(0, second & 3);
        assertEquals(0x11, s.configRead(second, 1));
        assertEquals(0, s.configRead(second + 1, 1));

        s.configWrite(second + 2, 2, 0xffff);
        assertEquals(0xc003, s.configRead(second + 2, 2));
        assertEquals(1, writes.size());
        assertEquals(2, writes.get(0)[0]);
        assertEquals(0xabcd, s.configRead(second + 8, 2));
        s.configWrite(second, 2, 0);
        assertEquals("id and next are read-only", 0x11, s.configRead(second, 1));
    }

    @Test
    public void failingHandlersAndListenersAreContained() {
        PciConfigSpace s = space();
        s.addMemoryBar(0, 0x4000, true, false);
        s.setBarAddress(0, 0xd000_0000L);
        int cap = s.addCapability(0x09, new byte[6], new byte[] {-1, -1, -1, -1, -1, -1}, new PciConfigSpace.CapabilityHandler() {
            @Override public void written(int offset, int size, int value) { throw new IllegalStateException("expected by the test"); }

            @Override public int read(int offset, int size, int stored) { throw new IllegalStateException("expected by the test"); }
        });
        s.setBarListener((bar, from, to) -> { throw new IllegalStateException("expected by the test"); });
        s.configWrite(cap + 4, 2, 0x1234);
        assertEquals("stored despite the handler", 0x1234, s.configRead(cap + 4, 2));
        s.configWrite(PciConfigSpace.COMMAND, 2, PciConfigSpace.COMMAND_MEMORY);
        assertEquals(0xd000_0000L, s.mappedAddress(0));
    }

    @Test
    public void garbageNeverThrows() {
        PciConfigSpace s = space();
        s.addMemoryBar(0, 0x4000, true, false);
        s.addCapability(0x09, new byte[6], new byte[] {-1, -1, -1, -1, -1, -1}, new PciConfigSpace.CapabilityHandler() {});
        List<Move> moves = new ArrayList<>();
        s.setBarListener((bar, from, to) -> moves.add(new Move(bar, from, to)));
        Random r = new Random(1);
        int[] sizes = {-1, 0, 1, 2, 3, 4, 5, 8, Integer.MIN_VALUE};
        for (int offset = -8; offset < 300; offset++) {
            for (int size : sizes) {
                s.configRead(offset, size);
                s.configWrite(offset, size, r.nextInt());
            }
        }
        assertEquals(-1, s.configRead(256, 4));
        assertEquals(0xffff, s.configRead(255, 2));
        assertEquals(0xff, s.configRead(-1, 1));
        assertEquals(0x1af4, s.configRead(0, 2));
        assertEquals(0x4000, s.barSize(0));
        for (Move m : moves) assertTrue(m.to() == PciConfigSpace.UNMAPPED || (m.to() & 0x3fff) == 0);
    }
}
