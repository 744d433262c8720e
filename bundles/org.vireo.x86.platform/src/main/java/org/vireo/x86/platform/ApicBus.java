package org.vireo.x86.platform;

import java.util.List;
import org.vireo.bus.InterruptController;
import org.vireo.bus.InterruptLine;
import org.vireo.virtio.device.RateLimitedLog;

/**
 * The interrupt wiring of a PC with APICs: each GSI line goes to the IOAPIC pin of the same number and, for the
 * ISA lines 0-15, to the 8259 pair as well (so a guest may use either controller); ISA IRQ 0, the PIT, is IOAPIC
 * pin 2 (the interrupt source override the MADT declares), as on every PC since the IOAPIC. MSIs, IOAPIC messages
 * and IPIs are delivered to the local APICs they address.
 *
 * <p>Thread-safe: the local APICs and the IOAPIC synchronise themselves.
 */
public final class ApicBus implements InterruptController {
    /** The MSI address window: 0xFEEx_xxxx. */
    static final long MSI_BASE = 0xFEE0_0000L;
    /** ISA IRQ 0 arrives at this IOAPIC pin. */
    public static final int PIT_PIN = 2;
    /** The lines: ISA 0-15 and the PCI GSIs 16-23. */
    public static final int GSIS = IoApic.PINS;

    private static final RateLimitedLog LOG = new RateLimitedLog(System.getLogger(ApicBus.class.getName()));

    private final DualPic pic;
    private final IoApic ioApic;
    private final List<LocalApic> localApics;
    private final InterruptLine[] lines = new InterruptLine[GSIS];

    /** @param localApics the vCPUs' local APICs, created with this bus's {@link #pic()} as their LINT0 */
    public ApicBus(DualPic pic, List<LocalApic> localApics) {
        this.pic = pic;
        this.localApics = List.copyOf(localApics);
        this.ioApic = new IoApic(this::deliver);
        for (LocalApic apic : this.localApics) {
            apic.setLevelEoiListener(ioApic::endOfInterrupt);
            apic.setIpiSender(this::deliver);
        }
        for (int gsi = 0; gsi < GSIS; gsi++) {
            if (gsi == DualPic.CASCADE_IRQ) continue;
            InterruptLine isa = gsi < 16 ? pic.line(gsi) : null;
            int pin = gsi == 0 ? PIT_PIN : gsi;
            String name = "GSI" + gsi;
            lines[gsi] = new InterruptLine() {
                @Override
                public void set(boolean level) {
                    if (isa != null) isa.set(level);
                    ioApic.setLevel(pin, level);
                }

                @Override
                public String toString() { return name; }
            };
        }
    }

    public DualPic pic() { return pic; }

    public IoApic ioApic() { return ioApic; }

    public List<LocalApic> localApics() { return localApics; }

    @Override
    public InterruptLine line(int gsi) {
        if (gsi < 0 || gsi >= GSIS) throw new IllegalArgumentException("this machine has GSIs 0-" + (GSIS - 1) + ", not " + gsi);
        if (gsi == DualPic.CASCADE_IRQ) throw new IllegalArgumentException("GSI 2 is the PIT's IOAPIC pin and the 8259 cascade, not a device line");
        return lines[gsi];
    }

    /**
     * An MSI (PCI 3.0 6.8, SDM 11.11): address 0xFEE[dest][..] with the destination mode in bit 2; data with the vector,
     * the delivery mode and the trigger mode. A write outside the APIC window is dropped.
     */
    @Override
    public void sendMsi(long address, int data) {
        if ((address & 0xffff_ffff_fff0_0000L) != MSI_BASE) {
            LOG.warn("msi address", () -> String.format("MSI to 0x%x (data 0x%x) is outside the APIC window; dropped", address, data));
            return;
        }
        ApicMessage m = ApicMessage.fromDevice((int) (address >>> 12) & 0xff, (address & 4) != 0, data >>> 8 & 7, data & 0xff,
                (data & 1 << 15) != 0);
        if (!deliver(m)) {
            LOG.warn("msi destination", () -> String.format("MSI 0x%x/0x%x addresses no local APIC; dropped", address, data));
        }
    }

    /** Delivers a message to the local APICs it addresses; lowest priority to one of them. False if none took it. */
    public boolean deliver(ApicMessage m) {
        LocalApic lowest = null;
        boolean any = false;
        for (LocalApic apic : localApics) {
            boolean addressed = switch (m.shorthand()) {
                case 1 -> apic.apicId() == m.sourceApic();
                case 2 -> true;
                case 3 -> apic.apicId() != m.sourceApic();
                default -> apic.addressedBy(m.destination(), m.logical());
            };
            if (!addressed) continue;
            if (m.deliveryMode() == LocalApic.LOWEST_PRIORITY) {
                if (lowest == null || apic.taskPriority() < lowest.taskPriority()) lowest = apic;
            } else {
                apic.accept(m.deliveryMode(), m.vector(), m.level());
                any = true;
            }
        }
        if (lowest != null) {
            lowest.accept(m.deliveryMode(), m.vector(), m.level());
            any = true;
        }
        return any;
    }
}
