package org.vireo.x86.platform;

import java.util.function.IntConsumer;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;

/**
 * The PC/AT pair of 8259A interrupt controllers: the master on ports 0x20-0x21 with the slave cascaded on its
 * IRQ2, the slave on 0xa0-0xa1, and the edge/level control registers (ELCR) on 0x4d0-0x4d1. Lines 0-15 are the
 * GSIs of this machine (line 2 is the cascade and cannot be used by a device). MSIs have nowhere to go without
 * a local APIC and are dropped.
 *
 * <p>Thread-safe: devices raise lines from their own threads while the vCPU acknowledges; {@code wake} runs
 * (outside the lock) whenever a line or register change leaves INTR asserted, so a halted CPU can resume.
 */
public final class DualPic implements InterruptController, InterruptOutput {
    public static final int MASTER_PORT = 0x20;
    public static final int SLAVE_PORT = 0xa0;
    public static final int ELCR_PORT = 0x4d0;
    public static final int CASCADE_IRQ = 2;

    private static final System.Logger LOG = System.getLogger(DualPic.class.getName());

    private final Pic8259 master = new Pic8259(true);
    private final Pic8259 slave = new Pic8259(false);
    private final Line[] lines = new Line[16];
    private volatile Runnable wake = () -> { };
    private volatile IntConsumer acknowledged = irq -> { };
    private volatile boolean intr;

    public DualPic() {
        for (int i = 0; i < 16; i++) lines[i] = new Line(i);
    }

    /** {@code wake} runs when INTR is asserted after a line change: typically the CPU's wake-up from HLT. */
    public void setWake(Runnable wake) { this.wake = wake; }

    /**
     * {@code listener} runs (on the acknowledging thread, outside the PIC's lock) after each INTA cycle that
     * delivered a real request, with its line number 0-15: the PIT uses it to hand over ticks it still owes.
     */
    public void setAcknowledgeListener(IntConsumer listener) { this.acknowledged = listener; }

    @Override
    public InterruptLine line(int gsi) {
        if (gsi < 0 || gsi >= 16) throw new IllegalArgumentException("the 8259 PIC has lines 0-15, not " + gsi);
        if (gsi == CASCADE_IRQ) throw new IllegalArgumentException("IRQ2 is the 8259 cascade, not a device line");
        return lines[gsi];
    }

    @Override
    public void sendMsi(long address, int data) {
        LOG.log(System.Logger.Level.DEBUG, () -> String.format("MSI 0x%x/0x%x dropped: no local APIC", address, data));
    }

    @Override
    public boolean interruptPending() { return intr; }

    @Override
    public int acknowledgeInterrupt() {
        int vector, irq = -1;
        synchronized (this) {
            int m = master.pendingIrq();
            if (m < 0) {
                vector = master.vectorBase + 7;           // the request went away: spurious IRQ7
            } else {
                master.acknowledge(m);
                if (m == CASCADE_IRQ && !master.singleMode) {
                    int s = slave.pendingIrq();
                    if (s < 0) {
                        vector = slave.vectorBase + 7;    // spurious IRQ15
                    } else {
                        slave.acknowledge(s);
                        vector = slave.vectorBase + s;
                        irq = 8 + s;
                    }
                    // The slave's INT drops during INTA, so a request still pending there makes a fresh edge.
                    master.setLine(CASCADE_IRQ, false);
                } else {
                    vector = master.vectorBase + m;
                    irq = m;
                }
            }
            update();
        }
        if (irq >= 0) acknowledged.accept(irq);
        return vector;
    }

    /** Registers the master, slave and ELCR ports. */
    public Registration register(IoBus pio) {
        Registration m = pio.register(MASTER_PORT, 2, "pic-master", handler(master));
        Registration s = pio.register(SLAVE_PORT, 2, "pic-slave", handler(slave));
        Registration e = pio.register(ELCR_PORT, 2, "pic-elcr", new IoHandler() {
            @Override
            public long read(long offset, int size) {
                synchronized (DualPic.this) {
                    long v = 0;
                    for (int i = 0; i < size && offset + i < 2; i++) v |= (long) chip((int) offset + i).readElcr() << (8 * i);
                    return v;
                }
            }

            @Override
            public void write(long offset, int size, long value) {
                changing(() -> {
                    for (int i = 0; i < size && offset + i < 2; i++) chip((int) offset + i).writeElcr((int) (value >>> (8 * i)) & 0xff);
                });
            }
        });
        return () -> { m.close(); s.close(); e.close(); };
    }

    /** Sets the trigger mode of {@code irq} as firmware would (true: level, for PCI INTx). */
    public void setLevelTriggered(int irq, boolean level) {
        changing(() -> {
            Pic8259 c = chip(irq >> 3);
            int mask = 1 << (irq & 7);
            c.writeElcr(level ? c.readElcr() | mask : c.readElcr() & ~mask);
        });
    }

    /** The in-service register of both chips (slave in bits 8-15), for tests and diagnostics. */
    public synchronized int inService() { return master.isr | slave.isr << 8; }

    /** The request register of both chips (slave in bits 8-15). */
    public synchronized int requested() { return master.irr | slave.irr << 8; }

    /** Whether line {@code irq}'s request is latched and not yet acknowledged (its IRR bit). */
    public synchronized boolean requestPending(int irq) {
        return ((irq < 8 ? master.irr : slave.irr) & 1 << (irq & 7)) != 0;
    }

    /** The mask register of both chips (slave in bits 8-15). */
    public synchronized int masked() { return master.imr | slave.imr << 8; }

    private Pic8259 chip(int index) { return index == 0 ? master : slave; }

    private IoHandler handler(Pic8259 chip) {
        return new IoHandler() {
            @Override
            public long read(long offset, int size) {
                // A poll read acknowledges, so it may change the outputs.
                synchronized (DualPic.this) {
                    int v = chip.read((int) offset & 1);
                    update();
                    return v;
                }
            }

            @Override
            public void write(long offset, int size, long value) {
                changing(() -> chip.write((int) offset & 1, (int) value));
            }
        };
    }

    private void changing(Runnable change) {
        boolean asserted;
        synchronized (this) {
            change.run();
            asserted = update();
        }
        if (asserted) wake.run();
    }

    /** Recomputes the cascade and INTR; caller holds the lock. Returns INTR. */
    private boolean update() {
        master.setLine(CASCADE_IRQ, slave.pendingIrq() >= 0);
        boolean out = master.pendingIrq() >= 0;
        intr = out;
        return out;
    }

    private final class Line implements InterruptLine {
        private final int irq;

        Line(int irq) { this.irq = irq; }

        @Override
        public void set(boolean level) {
            changing(() -> chip(irq >> 3).setLine(irq & 7, level));
        }

        @Override
        public String toString() { return "IRQ" + irq; }
    }
}
