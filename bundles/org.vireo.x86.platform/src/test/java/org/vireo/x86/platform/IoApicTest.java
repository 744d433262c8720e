package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class IoApicTest {
    private final List<ApicMessage> sent = new ArrayList<>();
    private boolean someoneListens = true;
    private final IoApic ioApic = new IoApic(m -> {
        sent.add(m);
        return someoneListens;
    });

    private void program(int pin, long entry) {
        ioApic.write(IoApic.SELECT, 4, 0x10 + 2 * pin + 1);
        ioApic.write(IoApic.WINDOW, 4, entry >>> 32);
        ioApic.write(IoApic.SELECT, 4, 0x10 + 2 * pin);
        ioApic.write(IoApic.WINDOW, 4, entry & 0xffff_ffffL);
    }

    private int register(int index) {
        ioApic.write(IoApic.SELECT, 4, index);
        return (int) ioApic.read(IoApic.WINDOW, 4);
    }

    @Test
    public void identifiesItselfAsVersion20hWith24PinsAllMaskedAtReset() {
        assertEquals(0x0017_0020, register(1));
        for (int pin = 0; pin < IoApic.PINS; pin++) assertEquals(IoApic.MASKED, ioApic.entry(pin));
        ioApic.write(IoApic.SELECT, 4, 0);
        ioApic.write(IoApic.WINDOW, 4, 0x0300_0000);
        assertEquals(0x0300_0000, register(0));
        assertEquals("a register past the table reads 0", 0, register(0x10 + 2 * IoApic.PINS));
    }

    @Test
    public void anEdgePinSendsOnTheRisingEdgeOnlyAndKeepsAnEdgeThatArrivesWhileMasked() {
        program(2, 1L << 56 | 0x30);
        ioApic.setLevel(2, true);
        ioApic.setLevel(2, true);
        assertEquals(List.of(ApicMessage.fromDevice(1, false, 0, 0x30, false)), sent);
        ioApic.setLevel(2, false);
        program(2, IoApic.MASKED | 0x30);
        ioApic.setLevel(2, true);
        assertEquals(1, sent.size());
        program(2, 0x30);
        assertEquals("sent on unmasking", 2, sent.size());
    }

    @Test
    public void aLevelPinSendsOnceUntilTheEoiAndAgainIfStillAsserted() {
        program(11, IoApic.LEVEL | 0x800 | 0x41);               // logical destination mode
        ioApic.setLevel(11, true);
        assertEquals(1, sent.size());
        assertTrue(sent.getFirst().level() && sent.getFirst().logical());
        assertTrue((ioApic.entry(11) & IoApic.REMOTE_IRR) != 0);
        ioApic.setLevel(11, true);
        assertEquals("Remote IRR holds it", 1, sent.size());
        ioApic.endOfInterrupt(0x41);
        assertEquals("still asserted: sent again", 2, sent.size());
        ioApic.setLevel(11, false);
        ioApic.write(IoApic.EOI, 4, 0x41);                      // the version 20h EOI register
        assertEquals(0, ioApic.entry(11) & IoApic.REMOTE_IRR);
        assertEquals(2, sent.size());
        ioApic.endOfInterrupt(0x99);
        assertEquals(2, sent.size());
    }

    @Test
    public void aMessageNobodyTookLeavesRemoteIrrClear() {
        someoneListens = false;
        program(5, IoApic.LEVEL | 0x45);
        ioApic.setLevel(5, true);
        assertEquals(0, ioApic.entry(5) & IoApic.REMOTE_IRR);
    }

    @Test
    public void theGuestCannotWriteRemoteIrrOrDeliveryStatusAndBadPinsAreRefused() {
        program(3, IoApic.REMOTE_IRR | IoApic.DELIVERY_STATUS | IoApic.MASKED | 0x33);
        assertEquals(IoApic.MASKED | 0x33, ioApic.entry(3));
        assertThrows(IllegalArgumentException.class, () -> ioApic.setLevel(24, true));
        for (int index = 0; index < 256; index++) {
            ioApic.write(IoApic.SELECT, 4, index);
            ioApic.read(IoApic.WINDOW, 4);
        }
    }
}
