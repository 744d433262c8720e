package org.vireo.x86.platform;

/**
 * One 8259A chip's registers and priority logic. Not thread-safe: {@link DualPic} owns two and locks around them.
 * Offsets are the chip's A0 input: 0 for ICW1/OCW2/OCW3 and IRR/ISR/poll reads, 1 for ICW2-4 and the mask.
 */
final class Pic8259 {
    private final boolean master;
    /** ELCR bits the chip lets software set: IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge triggered. */
    private final int elcrWritable;

    int irr;
    int isr;
    int imr;
    int elcr;
    /** The current level of each input line, for edge detection. */
    int lineLevels;
    int vectorBase;
    /** Rotation: the IRQ with priority 0 is {@code priorityAdd}. */
    int priorityAdd;
    private int initStep;            // 0: initialised; 2, 3, 4: the ICW expected next
    private boolean icw4Needed;
    boolean singleMode;
    private boolean levelTriggeredAll;   // ICW1 LTIM
    boolean autoEoi;
    private boolean rotateOnAutoEoi;
    boolean specialFullyNested;
    private boolean readIsr;
    private boolean poll;
    boolean specialMask;

    Pic8259(boolean master) {
        this.master = master;
        this.elcrWritable = master ? 0xf8 : 0xde;
    }

    private int levelMask() { return levelTriggeredAll ? 0xff : elcr; }

    void setLine(int irq, boolean level) {
        int mask = 1 << irq;
        if ((levelMask() & mask) != 0) {
            if (level) irr |= mask; else irr &= ~mask;
        } else if (level && (lineLevels & mask) == 0) {
            irr |= mask;    // rising edge: latched until acknowledged
        }
        if (level) lineLevels |= mask; else lineLevels &= ~mask;
    }

    /** Priority (0 highest) of the highest-priority bit in {@code bits}, or 8 if none is set. */
    private int priority(int bits) {
        if (bits == 0) return 8;
        for (int p = 0; p < 8; p++) {
            if ((bits & (1 << ((p + priorityAdd) & 7))) != 0) return p;
        }
        return 8;
    }

    /** The IRQ this chip would present on its INT output now, or -1. */
    int pendingIrq() {
        int p = priority(irr & ~imr);
        if (p == 8) return -1;
        int inService = isr;
        if (specialMask) inService &= ~imr;
        // Special fully nested: the cascade input stays open so the slave can nest higher-priority requests.
        if (master && specialFullyNested) inService &= ~(1 << 2);
        return p < priority(inService) ? (p + priorityAdd) & 7 : -1;
    }

    /** The INTA cycle for {@code irq}: moves the request into service. */
    void acknowledge(int irq) {
        int mask = 1 << irq;
        if (autoEoi) {
            if (rotateOnAutoEoi) priorityAdd = (irq + 1) & 7;
        } else {
            isr |= mask;
        }
        // An edge request is consumed; a level request stays in IRR while its line is high.
        if ((levelMask() & mask) == 0) irr &= ~mask;
    }

    int readElcr() { return elcr; }

    void writeElcr(int value) {
        elcr = value & elcrWritable;
        // Lines switched to level now mirror their current level; edge lines keep what they latched.
        irr = (irr & ~elcr) | (lineLevels & elcr);
    }

    int read(int a0) {
        if (a0 == 1) return imr;
        if (poll) {
            poll = false;
            int irq = pendingIrq();
            if (irq < 0) return 0;
            acknowledge(irq);
            return 0x80 | irq;
        }
        return readIsr ? isr : irr;
    }

    void write(int a0, int value) {
        value &= 0xff;
        if (a0 == 0) {
            if ((value & 0x10) != 0) initialise(value);
            else if ((value & 0x08) != 0) operationCommand3(value);
            else operationCommand2(value);
            return;
        }
        switch (initStep) {
            case 2 -> {
                vectorBase = value & 0xf8;
                initStep = singleMode ? (icw4Needed ? 4 : 0) : 3;
            }
            case 3 -> initStep = icw4Needed ? 4 : 0;    // cascade wiring is fixed: slave on master IRQ2
            case 4 -> {
                autoEoi = (value & 0x02) != 0;
                specialFullyNested = (value & 0x10) != 0;
                initStep = 0;
            }
            default -> imr = value;
        }
    }

    private void initialise(int icw1) {
        // ICW1 clears the mask and in-service registers, drops latched edges and restarts the ICW sequence.
        isr = 0;
        imr = 0;
        priorityAdd = 0;
        readIsr = false;
        poll = false;
        specialMask = false;
        autoEoi = false;
        rotateOnAutoEoi = false;
        specialFullyNested = false;
        icw4Needed = (icw1 & 0x01) != 0;
        singleMode = (icw1 & 0x02) != 0;
        levelTriggeredAll = (icw1 & 0x08) != 0;
        irr = lineLevels & levelMask();
        initStep = 2;
    }

    private void operationCommand3(int ocw3) {
        if ((ocw3 & 0x04) != 0) poll = true;
        if ((ocw3 & 0x02) != 0) readIsr = (ocw3 & 0x01) != 0;
        if ((ocw3 & 0x40) != 0) specialMask = (ocw3 & 0x20) != 0;
    }

    private void operationCommand2(int ocw2) {
        int level = ocw2 & 7;
        switch (ocw2 >>> 5) {
            case 0 -> rotateOnAutoEoi = false;
            case 4 -> rotateOnAutoEoi = true;
            case 1, 5 -> {   // non-specific EOI (5: and rotate)
                int p = priority(isr);
                if (p != 8) {
                    int irq = (p + priorityAdd) & 7;
                    isr &= ~(1 << irq);
                    if (ocw2 >>> 5 == 5) priorityAdd = (irq + 1) & 7;
                }
            }
            case 3 -> isr &= ~(1 << level);                 // specific EOI
            case 7 -> {                                      // rotate on specific EOI
                isr &= ~(1 << level);
                priorityAdd = (level + 1) & 7;
            }
            case 6 -> priorityAdd = (level + 1) & 7;         // set priority: level becomes the lowest
            default -> { }                                   // 2: no operation
        }
    }
}
