package org.vireo.x86.platform;

import java.util.function.Predicate;
import org.vireo.bus.IoHandler;

/**
 * An I/O APIC (82093AA, version 20h with the EOI register) with {@link #PINS} input pins at {@link #DEFAULT_BASE}:
 * the index register at 0x00, the data window at 0x10 and the EOI register at 0x40. Each pin's redirection entry
 * turns its line into an {@link ApicMessage}: edge-triggered pins send on a rising edge (an edge that arrives while
 * the pin is masked is kept and sent on unmasking, as QEMU's IOAPIC does); level-triggered pins send while the line
 * is asserted and the entry's Remote IRR is clear, which the local APIC's EOI of the vector clears again. Lines are
 * logical levels (asserted or not): the polarity bit is stored and reported but a device's "asserted" is always
 * the active level.
 *
 * <p>Thread-safe. Messages are sent under this IOAPIC's lock; local APICs never call back into it while holding theirs.
 */
public final class IoApic implements IoHandler {
    public static final long DEFAULT_BASE = 0xFEC0_0000L;
    public static final int SIZE = 0x1000;
    public static final int PINS = 24;
    static final int SELECT = 0x00, WINDOW = 0x10, EOI = 0x40;
    static final int VERSION = 0x20 | (PINS - 1) << 16;
    static final long MASKED = 1L << 16, REMOTE_IRR = 1L << 14, LEVEL = 1L << 15, DELIVERY_STATUS = 1L << 12;
    /** The bits a guest writes: all but delivery status and Remote IRR, and the reserved 17-55. */
    private static final long WRITABLE = 0xff00_0000_0001_afffL;

    private final Predicate<ApicMessage> bus;
    private final long[] entries = new long[PINS];
    private final boolean[] asserted = new boolean[PINS];
    private int edgesPending;
    private int id;
    private int select;

    /** @param bus delivers a message to the local APICs it addresses; false when none took it */
    public IoApic(Predicate<ApicMessage> bus) {
        this.bus = bus;
        reset();
    }

    public synchronized void reset() {
        java.util.Arrays.fill(entries, MASKED);
        java.util.Arrays.fill(asserted, false);
        edgesPending = 0;
        id = 0;
        select = 0;
    }

    /** Sets input pin {@code pin}'s line (true: asserted). */
    public synchronized void setLevel(int pin, boolean level) {
        if (pin < 0 || pin >= PINS) throw new IllegalArgumentException("the IOAPIC has pins 0-" + (PINS - 1) + ", not " + pin);
        if (level && !asserted[pin] && (entries[pin] & LEVEL) == 0) edgesPending |= 1 << pin;
        asserted[pin] = level;
        service();
    }

    /** The EOI of {@code vector} by a local APIC (or the EOI register): clears Remote IRR of the level entries using it. */
    public synchronized void endOfInterrupt(int vector) {
        for (int pin = 0; pin < PINS; pin++) {
            long e = entries[pin];
            if ((e & LEVEL) != 0 && (e & REMOTE_IRR) != 0 && (e & 0xff) == vector) entries[pin] = e & ~REMOTE_IRR;
        }
        service();
    }

    /** Pin {@code pin}'s redirection entry (for tests and diagnostics). */
    public synchronized long entry(int pin) { return entries[pin]; }

    @Override
    public synchronized long read(long offset, int size) {
        return switch ((int) offset) {
            case SELECT -> select;
            case WINDOW -> readRegister(select) & 0xffff_ffffL;
            default -> 0;
        };
    }

    @Override
    public synchronized void write(long offset, int size, long value) {
        switch ((int) offset) {
            case SELECT -> select = (int) value & 0xff;
            case WINDOW -> writeRegister(select, (int) value);
            case EOI -> endOfInterrupt((int) value & 0xff);
            default -> { }
        }
    }

    private int readRegister(int index) {
        if (index == 0) return id << 24;
        if (index == 1) return VERSION;
        if (index == 2) return id << 24;                       // arbitration ID
        int pin = (index - 0x10) >> 1;
        if (index < 0x10 || pin >= PINS) return 0;
        long e = entries[pin];
        return (index & 1) == 0 ? (int) e : (int) (e >>> 32);
    }

    private void writeRegister(int index, int value) {
        if (index == 0) {
            id = value >>> 24 & 0xf;
            return;
        }
        int pin = (index - 0x10) >> 1;
        if (index < 0x10 || pin >= PINS) return;
        long e = entries[pin];
        long written = (index & 1) == 0 ? (e & 0xffff_ffff_0000_0000L) | (value & 0xffff_ffffL)
                : (e & 0xffff_ffffL) | (long) value << 32;
        entries[pin] = (e & ~WRITABLE) | (written & WRITABLE);
        if ((entries[pin] & LEVEL) == 0) entries[pin] &= ~REMOTE_IRR;
        service();
    }

    /** Sends what the pins' state and entries call for; caller holds the lock. */
    private void service() {
        for (int pin = 0; pin < PINS; pin++) {
            long e = entries[pin];
            if ((e & MASKED) != 0) continue;
            boolean level = (e & LEVEL) != 0;
            if (level) {
                if (!asserted[pin] || (e & REMOTE_IRR) != 0) continue;
                if (send(e, true)) entries[pin] = e | REMOTE_IRR;
            } else if ((edgesPending & 1 << pin) != 0) {
                edgesPending &= ~(1 << pin);
                send(e, false);
            }
        }
    }

    private boolean send(long e, boolean level) {
        return bus.test(ApicMessage.fromDevice((int) (e >>> 56), (e & 1L << 11) != 0, (int) (e >>> 8) & 7, (int) e & 0xff, level));
    }
}
