package org.vireo.x86.cpu;

import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;

/**
 * Just enough PC platform to let a Linux kernel reach user space in CPU tests: two 8259 PICs (edge-triggered,
 * normal EOI), the 8254 PIT (channel 0 periodic interrupt, channel 2 and port 0x61 for calibration) on the host
 * clock, and a 16550-ish UART that captures output and raises THRE interrupts. Not the product's platform (that
 * is another bundle); a test fixture only, deliberately small.
 */
final class FakePlatform implements InterruptSource {
    private static final long PIT_HZ = 1_193_182;

    final StringBuilder console = new StringBuilder();
    private final Pic master = new Pic(), slave = new Pic();
    // PIT state
    private final int[] reload = {0x10000, 0x10000, 0x10000};
    private final int[] mode = new int[3];
    private final long[] loadedAt = new long[3];
    private final boolean[] lowByteNext = {true, true, true};
    private final boolean[] latched = new boolean[3];
    private final int[] latchValue = new int[3];
    private final boolean[] readLowNext = {true, true, true};
    private long nextTick = Long.MAX_VALUE;
    private long tickPeriodNanos;
    private int port61;
    // UART state
    private final int[] uart = new int[8];
    private int dll = 1, dlm;
    private boolean thrInterrupt;

    private static final class Pic {
        int irr, isr, imr = 0xff, base, initStep;
        boolean readIsr, icw4;

        int highestPending() {
            int pending = irr & ~imr;
            for (int i = 0; i < 8; i++) {
                if ((isr & (1 << i)) != 0) return -1;   // a higher-priority request is in service
                if ((pending & (1 << i)) != 0) return i;
            }
            return -1;
        }

        void writeCommand(int v) {
            if ((v & 0x10) != 0) { initStep = 1; icw4 = (v & 1) != 0; imr = 0; isr = 0; irr = 0; readIsr = false; return; }
            if ((v & 0x18) == 0x08) { if ((v & 2) != 0) readIsr = (v & 1) != 0; return; }
            int cmd = v & 0xe0;
            if (cmd == 0x20) { int b = Integer.lowestOneBit(isr); isr &= ~b; }        // non-specific EOI
            else if (cmd == 0x60) isr &= ~(1 << (v & 7));                              // specific EOI
        }

        void writeData(int v) {
            switch (initStep) {
                case 1 -> { base = v & 0xf8; initStep = 2; }
                case 2 -> initStep = icw4 ? 3 : 0;
                case 3 -> initStep = 0;
                default -> imr = v;
            }
        }
    }

    FakePlatform(IoBus pio) {
        pio.register(0x20, 2, "pic1", handler((o, v) -> { if (o == 0) master.writeCommand(v); else master.writeData(v); },
                o -> o == 0 ? (master.readIsr ? master.isr : master.irr) : master.imr));
        pio.register(0xa0, 2, "pic2", handler((o, v) -> { if (o == 0) slave.writeCommand(v); else slave.writeData(v); },
                o -> o == 0 ? (slave.readIsr ? slave.isr : slave.irr) : slave.imr));
        pio.register(0x40, 4, "pit", handler(this::pitWrite, this::pitRead));
        pio.register(0x61, 1, "port61", handler((o, v) -> port61 = v & 0x0f, o -> port61Read()));
        pio.register(0x3f8, 8, "uart", handler(this::uartWrite, this::uartRead));
    }

    private interface Writer { void write(int offset, int value); }

    private interface Reader { int read(int offset); }

    private IoHandler handler(Writer w, Reader r) {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                synchronized (FakePlatform.this) { return r.read((int) offset) & 0xff; }
            }

            @Override
            public void write(long offset, int size, long value) {
                synchronized (FakePlatform.this) { w.write((int) offset, (int) value & 0xff); }
            }
        };
    }

    // ------------------------------------------------------------------ interrupts

    private void raise(int irq) {
        if (irq < 8) master.irr |= 1 << irq;
        else { slave.irr |= 1 << (irq - 8); master.irr |= 1 << 2; }
    }

    private int calls;

    @Override
    public synchronized boolean interruptPending() {
        if ((++calls & 63) == 0) tick();
        return master.highestPending() >= 0;
    }

    synchronized void tick() {
        long now = System.nanoTime();
        if (now >= nextTick) {
            raise(0);
            nextTick = now + tickPeriodNanos;
        }
    }

    @Override
    public synchronized int acknowledgeInterrupt() {
        int irq = master.highestPending();
        if (irq < 0) return -1;
        master.irr &= ~(1 << irq);
        master.isr |= 1 << irq;
        if (irq == 2) {
            int s = slave.highestPending();
            if (s < 0) return master.base | 7;   // spurious
            slave.irr &= ~(1 << s);
            slave.isr |= 1 << s;
            if (slave.irr == 0) master.irr &= ~4;
            return slave.base | s;
        }
        return master.base | irq;
    }

    // ------------------------------------------------------------------ PIT

    private long ticksSince(int ch) { return (System.nanoTime() - loadedAt[ch]) * PIT_HZ / 1_000_000_000L; }

    private int count(int ch) {
        long t = ticksSince(ch);
        int r = reload[ch];
        if (mode[ch] == 0) return (int) Math.max(0, r - t) & 0xffff;
        return (int) (r - t % r) & 0xffff;
    }

    private void pitWrite(int offset, int v) {
        if (offset == 3) {
            int ch = v >>> 6;
            if (ch == 3) return;
            if ((v & 0x30) == 0) { latched[ch] = true; latchValue[ch] = count(ch); return; }
            mode[ch] = (v >>> 1) & 7;
            lowByteNext[ch] = true;
            readLowNext[ch] = true;
            return;
        }
        int ch = offset;
        if (lowByteNext[ch]) {
            reload[ch] = (reload[ch] & 0xff00) | v;
            lowByteNext[ch] = false;
        } else {
            reload[ch] = (reload[ch] & 0xff) | v << 8;
            if (reload[ch] == 0) reload[ch] = 0x10000;
            lowByteNext[ch] = true;
            loadedAt[ch] = System.nanoTime();
            if (ch == 0) {
                tickPeriodNanos = reload[0] * 1_000_000_000L / PIT_HZ;
                nextTick = loadedAt[0] + tickPeriodNanos;
            }
        }
    }

    private int pitRead(int offset) {
        if (offset == 3) return 0xff;
        int ch = offset;
        int c = latched[ch] ? latchValue[ch] : count(ch);
        int v;
        if (readLowNext[ch]) { v = c & 0xff; readLowNext[ch] = false; }
        else { v = c >>> 8; readLowNext[ch] = true; latched[ch] = false; }
        return v;
    }

    private int port61Read() {
        boolean out2 = (port61 & 1) != 0 && mode[2] == 0 && ticksSince(2) >= reload[2];
        return port61 | (out2 ? 0x20 : 0);
    }

    // ------------------------------------------------------------------ UART

    private void uartWrite(int offset, int v) {
        boolean dlab = (uart[3] & 0x80) != 0;
        switch (offset) {
            case 0 -> {
                if (dlab) { dll = v; return; }
                console.append((char) v);
                if ((uart[1] & 2) != 0) { thrInterrupt = true; raise(4); }
            }
            case 1 -> {
                if (dlab) { dlm = v; return; }
                boolean enableThr = (v & 2) != 0 && (uart[1] & 2) == 0;
                uart[1] = v & 0x0f;
                if (enableThr) { thrInterrupt = true; raise(4); }
            }
            default -> uart[offset] = v;
        }
    }

    private int uartRead(int offset) {
        boolean dlab = (uart[3] & 0x80) != 0;
        return switch (offset) {
            case 0 -> dlab ? dll : 0;
            case 1 -> dlab ? dlm : uart[1];
            case 2 -> {
                if (thrInterrupt && (uart[1] & 2) != 0) { thrInterrupt = false; yield 0xc2; }
                yield 0xc1;
            }
            case 5 -> 0x60;
            case 6 -> {
                int mcr = uart[4];
                if ((mcr & 0x10) != 0) {
                    yield ((mcr & 2) != 0 ? 0x10 : 0) | ((mcr & 1) != 0 ? 0x20 : 0) | ((mcr & 4) != 0 ? 0x40 : 0) | ((mcr & 8) != 0 ? 0x80 : 0);
                }
                yield 0xb0;
            }
            default -> uart[offset];
        };
    }

    synchronized String consoleText() { return console.toString(); }
}
