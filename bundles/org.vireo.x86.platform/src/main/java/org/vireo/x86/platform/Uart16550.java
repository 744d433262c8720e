package org.vireo.x86.platform;

import java.io.IOException;
import java.io.OutputStream;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoHandler;

/**
 * A 16550A UART (COM1 is at 0x3f8, IRQ4): receive FIFO of 16 bytes, divisor latch, line and modem control and
 * status, scratch register, THRE / received-data / line-status / modem-status interrupts, and loopback.
 * Transmitting is instantaneous: each THR write goes to {@code out} and the holding register is empty again,
 * so THRE is always set. Received bytes come from {@link #offer(int)} or the blocking {@link #put(int)}, which a
 * {@link SerialInputPump} uses to feed a host stream with back-pressure instead of overruns.
 * The interrupt line follows "an interrupt is identified in IIR"; it is not gated by MCR OUT2 (as in QEMU).
 */
public final class Uart16550 implements IoHandler {
    public static final int COM1_PORT = 0x3f8;
    public static final int COM1_IRQ = 4;
    public static final int FIFO_SIZE = 16;

    private static final System.Logger LOG = System.getLogger(Uart16550.class.getName());

    // IER bits
    private static final int IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04, IER_MS = 0x08;
    // LSR bits
    static final int LSR_DR = 0x01, LSR_OE = 0x02, LSR_PE = 0x04, LSR_FE = 0x08, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    private static final int LSR_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;
    // MCR bits
    private static final int MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
    private static final int[] TRIGGER_LEVELS = {1, 4, 8, 14};

    private final InterruptLine irq;
    private final OutputStream out;
    private boolean outputFailed;

    private final byte[] rx = new byte[FIFO_SIZE];
    private int rxHead, rxCount;
    private int ier, lcr, mcr, scr, fcr;
    private int dll = 0x0c, dlm;          // 9600 baud, the power-on divisor firmware leaves
    private int lineErrors;
    private int msrDeltas;
    private int msrLines = 0xb0;          // CTS, DSR, DCD: a connected terminal
    private boolean thrInterrupt;

    public Uart16550(InterruptLine irq, OutputStream out) {
        this.irq = irq;
        this.out = out;
    }

    // --------------------------------------------------------------------------------------------- host side

    /** Queues a received byte; false if the receiver is full (the caller retries later). */
    public boolean offer(int b) {
        boolean taken;
        boolean level;
        synchronized (this) {
            taken = push((byte) b);
            level = interruptAsserted();
        }
        irq.set(level);
        return taken;
    }

    /** Queues a received byte, waiting while the receiver is full. */
    public void put(int b) throws InterruptedException {
        synchronized (this) {
            while (rxCount >= capacity()) wait();
        }
        offer(b);
    }

    /** Bytes waiting in the receiver. */
    public synchronized int received() { return rxCount; }

    private int capacity() { return fifoEnabled() ? FIFO_SIZE : 1; }

    private boolean fifoEnabled() { return (fcr & 1) != 0; }

    private boolean push(byte b) {
        if (rxCount >= capacity()) return false;
        rx[(rxHead + rxCount) % FIFO_SIZE] = b;
        rxCount++;
        return true;
    }

    // --------------------------------------------------------------------------------------------- guest side

    @Override
    public long read(long offset, int size) {
        int value;
        boolean level;
        synchronized (this) {
            value = readRegister((int) offset & 7);
            level = interruptAsserted();
        }
        irq.set(level);
        return value;
    }

    @Override
    public void write(long offset, int size, long value) {
        int transmit = -1;
        boolean level;
        synchronized (this) {
            transmit = writeRegister((int) offset & 7, (int) value & 0xff);
            level = interruptAsserted();
        }
        irq.set(level);
        if (transmit >= 0) send(transmit);
    }

    private boolean dlab() { return (lcr & 0x80) != 0; }

    private int readRegister(int reg) {
        return switch (reg) {
            case 0 -> dlab() ? dll : receive();
            case 1 -> dlab() ? dlm : ier;
            case 2 -> interruptIdentification(true);
            case 3 -> lcr;
            case 4 -> mcr;
            case 5 -> {
                int v = lineStatus();
                lineErrors = 0;
                yield v;
            }
            case 6 -> {
                int v = modemStatus();
                msrDeltas = 0;
                yield v;
            }
            default -> scr;
        };
    }

    /** Returns a byte to transmit, or -1. */
    private int writeRegister(int reg, int v) {
        switch (reg) {
            case 0 -> {
                if (dlab()) { dll = v; return -1; }
                thrInterrupt = true;     // the byte leaves at once and the holding register is empty again
                if ((mcr & MCR_LOOP) != 0) {
                    if (!push((byte) v)) lineErrors |= LSR_OE;
                    return -1;
                }
                return v;
            }
            case 1 -> {
                if (dlab()) { dlm = v; return -1; }
                // Enabling THRE while the holding register is empty raises it at once (Linux tests for this).
                if ((v & IER_THRE) != 0 && (ier & IER_THRE) == 0) thrInterrupt = true;
                ier = v & 0x0f;
            }
            case 2 -> {
                boolean enable = (v & 1) != 0;
                if (enable != fifoEnabled() || (v & 0x02) != 0) { rxHead = 0; rxCount = 0; notifyAll(); }
                fcr = enable ? v & 0xc9 : 0;
            }
            case 3 -> lcr = v;
            case 4 -> {
                int old = modemStatusLines();
                mcr = v & 0x1f;
                int now = modemStatusLines();
                int changed = old ^ now;
                // DCTS, DDSR and DDCD on any change; TERI when RI goes from on to off.
                msrDeltas |= (changed & 0x10) >>> 4 | (changed & 0x20) >>> 4 | (changed & 0x80) >>> 4
                        | ((old & 0x40) != 0 && (now & 0x40) == 0 ? 0x04 : 0);
            }
            case 7 -> scr = v;
            default -> { }   // LSR and MSR are read-only
        }
        return -1;
    }

    private int receive() {
        if (rxCount == 0) return 0;
        int b = rx[rxHead] & 0xff;
        rxHead = (rxHead + 1) % FIFO_SIZE;
        rxCount--;
        notifyAll();
        return b;
    }

    private int lineStatus() {
        return (rxCount > 0 ? LSR_DR : 0) | lineErrors | LSR_THRE | LSR_TEMT;
    }

    private int modemStatusLines() {
        if ((mcr & MCR_LOOP) == 0) return msrLines;
        return ((mcr & MCR_RTS) != 0 ? 0x10 : 0) | ((mcr & MCR_DTR) != 0 ? 0x20 : 0)
                | ((mcr & MCR_OUT1) != 0 ? 0x40 : 0) | ((mcr & MCR_OUT2) != 0 ? 0x80 : 0);
    }

    private int modemStatus() { return modemStatusLines() | msrDeltas; }

    /** IIR; reading it acknowledges a THRE interrupt it reports. */
    private int interruptIdentification(boolean acknowledge) {
        int id;
        if ((ier & IER_RLS) != 0 && (lineErrors & LSR_ERRORS) != 0) {
            id = 0x06;
        } else if ((ier & IER_RDA) != 0 && rxCount > 0) {
            // Below the trigger level the FIFO reports a character timeout (reported at once here).
            id = !fifoEnabled() || rxCount >= TRIGGER_LEVELS[fcr >>> 6] ? 0x04 : 0x0c;
        } else if ((ier & IER_THRE) != 0 && thrInterrupt) {
            id = 0x02;
            if (acknowledge) thrInterrupt = false;
        } else if ((ier & IER_MS) != 0 && msrDeltas != 0) {
            id = 0x00;
        } else {
            id = 0x01;
        }
        return id | (fifoEnabled() ? 0xc0 : 0);
    }

    private boolean interruptAsserted() { return (interruptIdentification(false) & 1) == 0; }

    private void send(int b) {
        try {
            out.write(b);
            out.flush();
        } catch (IOException e) {
            if (!outputFailed) {
                outputFailed = true;
                LOG.log(System.Logger.Level.WARNING, "serial output failed; further output is dropped", e);
            }
        }
    }
}
