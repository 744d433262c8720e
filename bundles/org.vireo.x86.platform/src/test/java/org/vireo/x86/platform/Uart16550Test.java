package org.vireo.x86.platform;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.vireo.bus.IoBus;

public class Uart16550Test {
    private static final int BASE = Uart16550.COM1_PORT;
    private static final int RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final RecordingLine irq = new RecordingLine();
    private final Uart16550 uart = new Uart16550(irq, output);
    private final IoBus pio = new IoBus("pio");

    {
        pio.register(BASE, 8, "com1", uart);
    }

    private void out(int reg, int v) { pio.write(BASE + reg, 1, v); }

    private int in(int reg) { return (int) pio.read(BASE + reg, 1); }

    @Test
    public void transmitsToTheOutputStream() {
        for (byte b : "hello\n".getBytes(StandardCharsets.US_ASCII)) out(0, b);
        assertEquals("hello\n", output.toString(StandardCharsets.US_ASCII));
        assertEquals("THR empty and transmitter idle", 0x60, in(LSR));
        assertEquals("no interrupt identified", 0x01, in(IIR));
    }

    @Test
    public void divisorLatchSharesTheFirstTwoRegisters() {
        out(LCR, 0x83);
        out(0, 0x01);
        out(1, 0x00);                       // 115200 baud
        assertEquals(0x01, in(0));
        out(LCR, 0x03);
        assertEquals(0, in(IER));
        assertEquals("writes under DLAB do not transmit", 0, output.size());
        out(LCR, 0x83);
        assertEquals(0x01, in(0));
    }

    @Test
    public void thrEmptyInterruptRaisedOnEnableClearedByIirRead() {
        out(IER, 0x02);
        assertTrue(irq.level);
        assertEquals(0x02, in(IIR));
        assertFalse("reading IIR acknowledges THRE", irq.level);
        assertEquals(0x01, in(IIR));
        out(0, 'x');
        assertTrue("the next empty holding register interrupts again", irq.level);
        out(IER, 0);
        assertFalse(irq.level);
    }

    /** serial8250_do_startup's test for UARTs that fail to re-assert THRE. */
    @Test
    public void linuxThreRetestPasses() {
        out(IER, 0x02);
        int iir1 = in(IIR);
        out(IER, 0);
        out(IER, 0x02);
        int iir = in(IIR);
        out(IER, 0);
        assertEquals(0, iir1 & 0x01);
        assertEquals(0, iir & 0x01);
    }

    @Test
    public void receivedBytesInterruptUntilRead() {
        out(IER, 0x01);
        assertFalse(irq.level);
        assertTrue(uart.offer('a'));
        assertTrue(irq.level);
        assertEquals(0x61, in(LSR));
        assertEquals(0x04, in(IIR));
        assertFalse("without a FIFO the holding register holds one byte", uart.offer('b'));
        assertEquals('a', in(RBR));
        assertFalse(irq.level);
        assertEquals(0x60, in(LSR));
    }

    @Test
    public void fifoHoldsSixteenAndReportsTriggerLevel() {
        out(FCR, 0xc7);                     // enable, clear both, trigger at 14
        out(IER, 0x01);
        assertEquals(0xc1, in(IIR));
        for (int i = 0; i < 3; i++) assertTrue(uart.offer('0' + i));
        assertEquals("below the trigger: character timeout", 0xcc, in(IIR));
        for (int i = 3; i < 16; i++) assertTrue(uart.offer('0' + i));
        assertFalse("the FIFO holds 16", uart.offer('x'));
        assertEquals(0xc4, in(IIR));
        for (int i = 0; i < 16; i++) assertEquals('0' + i, in(RBR));
        assertEquals(0x60, in(LSR));
        assertFalse(irq.level);
        uart.offer('z');
        out(FCR, 0x03);                     // clear the receive FIFO
        assertEquals(0, uart.received());
    }

    @Test
    public void loopbackReturnsTransmittedBytesAndMirrorsModemLines() {
        out(MCR, 0x10 | 0x0a);              // loop, RTS, OUT2: Linux's autoconfig test
        assertEquals(0x90, in(MSR) & 0xf0);
        out(0, 'q');
        assertEquals("looped back, not sent", 0, output.size());
        assertEquals(0x61, in(LSR));
        assertEquals('q', in(RBR));
        out(MCR, 0x10);
        assertEquals("delta CTS and DCD after the lines dropped", 0x09, in(MSR) & 0x0f);
        assertEquals("reading MSR clears the deltas", 0, in(MSR) & 0x0f);
        out(MCR, 0x00);
        assertEquals("a connected terminal: CTS, DSR, DCD", 0xb0, in(MSR) & 0xf0);
    }

    @Test
    public void scratchAndLineControlAreReadWrite() {
        out(SCR, 0x5a);
        assertEquals(0x5a, in(SCR));
        out(LCR, 0x1b);
        assertEquals(0x1b, in(LCR));
        out(IER, 0xff);
        assertEquals("IER keeps its four defined bits", 0x0f, in(IER));
    }

    @Test
    public void putWaitsForRoomInsteadOfOverrunning() throws Exception {
        byte[] text = "the quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.US_ASCII);
        out(FCR, 0x01);
        Thread producer = new Thread(() -> {
            try {
                for (byte b : text) uart.put(b);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        producer.start();
        StringBuilder got = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.length() < text.length && System.nanoTime() < deadline) {
            if ((in(LSR) & 0x01) != 0) got.append((char) in(RBR));
            else Thread.onSpinWait();
        }
        producer.join(10_000);
        assertEquals(new String(text, StandardCharsets.US_ASCII), got.toString());
        assertEquals("no overrun", 0, in(LSR) & 0x02);
    }
}
