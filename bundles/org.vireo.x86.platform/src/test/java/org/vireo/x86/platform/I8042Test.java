package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class I8042Test {
    private final RecordingLine kbd = new RecordingLine();
    private final RecordingLine aux = new RecordingLine();
    private final AtomicInteger resets = new AtomicInteger();
    private final I8042 i8042 = new I8042(kbd, aux, resets::incrementAndGet);
    private final SystemControlPortA portA = new SystemControlPortA(resets::incrementAndGet);
    private final IoBus pio = new IoBus("pio");

    {
        i8042.register(pio);
        pio.register(SystemControlPortA.PORT, 1, "port-a", portA);
    }

    private int status() { return (int) pio.read(0x64, 1); }

    private int data() { return (int) pio.read(0x60, 1); }

    private void command(int c) { pio.write(0x64, 1, c); }

    private void data(int v) { pio.write(0x60, 1, v); }

    @Test
    public void controllerAnswersLinuxProbe() {
        assertEquals("empty, system flag set", 0, status() & 0x01);
        assertTrue((status() & 0x04) != 0);
        command(0xaa);
        assertEquals(1, status() & 0x01);
        assertEquals(0x55, data());
        assertEquals(0, status() & 0x01);
        command(0x20);
        int ctr = data();
        assertEquals(0x45, ctr);
        command(0x60);
        data(0x47);                          // keyboard and aux interrupts on
        command(0x20);
        assertEquals(0x47, data());
        command(0xab);
        assertEquals(0x00, data());
    }

    @Test
    public void auxLoopbackComesBackAsAuxDataOnIrq12() {
        command(0x60);
        data(0x47);
        command(0xd3);
        data(0x5a);
        assertEquals(0x21, status() & 0x21);
        assertTrue(aux.level);
        assertFalse(kbd.level);
        assertEquals(0x5a, data());
        assertFalse(aux.level);
    }

    @Test
    public void bytesForAbsentDevicesTimeOut() {
        command(0x60);
        data(0x47);
        data(0xff);                          // reset the keyboard: nobody there
        assertEquals(0x41, status() & 0x41);
        assertTrue(kbd.level);
        assertEquals(0xfe, data());
        assertFalse(kbd.level);
        command(0xd4);
        data(0xf2);                          // mouse get-id: nobody there either
        assertEquals(0x61, status() & 0x61);
        assertEquals(0xfe, data());
    }

    @Test
    public void interruptsFollowTheCommandByte() {
        command(0x60);
        data(0x44);                          // no interrupts
        command(0xd2);
        data(0x1c);
        assertFalse(kbd.level);
        assertEquals(0x1c, data());
    }

    @Test
    public void resetLinePulses() {
        command(0xd1);
        data(0x03);
        assertEquals(0, resets.get());
        command(0xd0);
        assertEquals(0x03, data());
        command(0xfe);
        assertEquals(1, resets.get());
        command(0xd1);
        data(0x02);
        assertEquals(2, resets.get());
        command(0xff);                       // pulse nothing
        assertEquals(2, resets.get());
    }

    @Test
    public void portAFastResetAndA20() {
        assertEquals(0x02, (int) pio.read(0x92, 1));
        pio.write(0x92, 1, 0x00);
        assertFalse(portA.a20());
        assertEquals(0, resets.get());
        pio.write(0x92, 1, 0x03);
        assertEquals(1, resets.get());
        assertTrue(portA.a20());
    }
}
