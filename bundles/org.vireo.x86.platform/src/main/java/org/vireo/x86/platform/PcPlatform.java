package org.vireo.x86.platform;

import java.io.OutputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.vireo.bus.InterruptController;
import org.vireo.bus.IoBus;
import org.vireo.bus.Registration;
import org.vireo.bus.pci.PciBus;

/**
 * The legacy devices of a PC, created and registered on a port bus in one go: PIC pair, PIT with port B, COM1,
 * CMOS RTC, i8042, port 0x92, POST port, the PCI host bridge (mechanism #1 with the 0xcf9 reset register,
 * plus function 00:00.0), and the ACPI PM1a event and control blocks and PM timer at 0x600 (SCI on line 9), which
 * a guest uses only when the machine gives it ACPI tables saying so.
 * With {@link Config#apic()}, a local APIC and an IOAPIC join them on the MMIO bus and every line reaches both the
 * PIC and the IOAPIC ({@link ApicBus}). The PIT (and the APIC timers) are driven by {@link #startTimer()} in real
 * runs; tests drive them with a {@link ManualClock}.
 */
public final class PcPlatform implements AutoCloseable {
    /**
     * What the platform needs from the machine.
     *
     * @param serialOut    where COM1 transmits
     * @param clock        monotonic time for the PIT and port B
     * @param wallClock    date and time for the RTC
     * @param ramBelow4G   RAM bytes below 4 GiB, for the CMOS memory-size bytes
     * @param ramAbove4G   RAM bytes from 4 GiB up
     * @param resetRequest called (from a vCPU or device thread) when the guest resets the machine
     * @param powerOffRequest called (from a vCPU thread, once) when the guest powers off through ACPI S5
     * @param apic         whether the machine has a local APIC (one, ID 0) and an IOAPIC on the MMIO bus
     */
    public record Config(OutputStream serialOut, NanoClock clock, Clock wallClock, long ramBelow4G, long ramAbove4G,
                         Runnable resetRequest, Runnable powerOffRequest, boolean apic) {
        /** A platform without APICs. */
        public Config(OutputStream serialOut, NanoClock clock, Clock wallClock, long ramBelow4G, long ramAbove4G,
                      Runnable resetRequest, Runnable powerOffRequest) {
            this(serialOut, clock, wallClock, ramBelow4G, ramAbove4G, resetRequest, powerOffRequest, false);
        }

        /** A platform without APICs whose ACPI power-off does nothing (the guest then halts, as without ACPI). */
        public Config(OutputStream serialOut, NanoClock clock, Clock wallClock, long ramBelow4G, long ramAbove4G,
                      Runnable resetRequest) {
            this(serialOut, clock, wallClock, ramBelow4G, ramAbove4G, resetRequest, () -> { });
        }
    }

    private final Config config;
    private final DualPic pic = new DualPic();
    private final ApicBus apicBus;
    private final Pit8254 pit;
    private final SystemControlPortB portB;
    private final Uart16550 com1;
    private final CmosRtc rtc;
    private final I8042 i8042;
    private final SystemControlPortA portA;
    private final PostPort post = new PostPort();
    private final PciHostBridge hostBridge;
    private final AcpiPm acpiPm;
    private final List<Registration> registrations = new ArrayList<>();
    private HostTimer timer;
    private final List<HostTimer> apicTimers = new ArrayList<>();

    /** A platform without APICs ({@code config.apic()} must be false). */
    public PcPlatform(IoBus pio, PciBus pci, Config config) {
        this(pio, null, pci, config);
    }

    /** @param mmio where the local APIC and IOAPIC registers go when {@code config.apic()}; may be null otherwise */
    public PcPlatform(IoBus pio, IoBus mmio, PciBus pci, Config config) {
        if (config.apic() && mmio == null) throw new IllegalArgumentException("a platform with APICs needs the MMIO bus");
        this.config = config;
        apicBus = config.apic() ? new ApicBus(pic, List.of(new LocalApic(0, config.clock(), pic))) : null;
        InterruptController irqs = interrupts();
        pit = new Pit8254(config.clock(), irqs.line(0));
        if (apicBus == null) {
            // Ticks the guest missed while the host had its vCPU descheduled are re-delivered, so guest time keeps
            // up with the host clock (which the CPU's TSC follows too). With APICs the PIC's request register says
            // nothing about whether the IOAPIC's tick was taken, and the guest keeps time with its APIC timer anyway.
            pit.reinjectLostTicks(() -> pic.requestPending(0));
            pic.setAcknowledgeListener(irq -> {
                if (irq == 0) pit.irq0Acknowledged();
            });
        }
        portB = new SystemControlPortB(pit, config.clock());
        com1 = new Uart16550(irqs.line(Uart16550.COM1_IRQ), config.serialOut());
        rtc = new CmosRtc(config.wallClock(), config.ramBelow4G(), config.ramAbove4G());
        i8042 = new I8042(irqs.line(I8042.KEYBOARD_IRQ), irqs.line(I8042.AUX_IRQ), config.resetRequest());
        portA = new SystemControlPortA(config.resetRequest());
        hostBridge = new PciHostBridge(pci, config.resetRequest());
        acpiPm = new AcpiPm(config.clock(), irqs.line(AcpiPm.SCI_IRQ), config.powerOffRequest());

        if (apicBus != null) {
            registrations.add(mmio.register(IoApic.DEFAULT_BASE, IoApic.SIZE, "ioapic", apicBus.ioApic()));
            registrations.add(mmio.register(LocalApic.DEFAULT_BASE, LocalApic.SIZE, "lapic", apicBus.localApics().getFirst()));
        }
        registrations.add(pic.register(pio));
        registrations.add(pio.register(Pit8254.PORT, 4, "pit", pit));
        registrations.add(pio.register(SystemControlPortB.PORT, 1, "port-b", portB));
        registrations.add(pio.register(Uart16550.COM1_PORT, 8, "com1", com1));
        registrations.add(pio.register(CmosRtc.PORT, 2, "cmos", rtc));
        registrations.add(i8042.register(pio));
        registrations.add(pio.register(SystemControlPortA.PORT, 1, "port-a", portA));
        registrations.add(pio.register(PostPort.PORT, 1, "post", post));
        registrations.add(hostBridge.register(pio));
        registrations.add(acpiPm.register(pio));
        pci.attach(0, new HostBridgeFunction());
        registrations.add(() -> pci.detach(0));
    }

    /** Starts the host-time thread that raises the PIT's IRQ0. */
    public synchronized void startTimer() {
        if (timer == null) {
            timer = new HostTimer(pit, config.clock(), "vireo-pit").start();
            if (apicBus != null) {
                for (LocalApic apic : apicBus.localApics()) {
                    apicTimers.add(new HostTimer(apic, config.clock(), "vireo-apic-timer" + apic.apicId()).start());
                }
            }
        }
    }

    public DualPic pic() { return pic; }

    /** Where devices send interrupts: the APIC bus (IOAPIC, PIC and MSIs) on a platform with APICs, else the PIC. */
    public InterruptController interrupts() { return apicBus != null ? apicBus : pic; }

    /** The APIC bus, on a platform with APICs. */
    public java.util.Optional<ApicBus> apicBus() { return java.util.Optional.ofNullable(apicBus); }

    public Pit8254 pit() { return pit; }

    public SystemControlPortB portB() { return portB; }

    public Uart16550 com1() { return com1; }

    public CmosRtc rtc() { return rtc; }

    public I8042 i8042() { return i8042; }

    public SystemControlPortA portA() { return portA; }

    public PostPort post() { return post; }

    public PciHostBridge hostBridge() { return hostBridge; }

    public AcpiPm acpiPm() { return acpiPm; }

    @Override
    public synchronized void close() {
        if (timer != null) timer.close();
        timer = null;
        for (HostTimer t : apicTimers) t.close();
        apicTimers.clear();
        for (Registration r : registrations.reversed()) r.close();
        registrations.clear();
    }
}
