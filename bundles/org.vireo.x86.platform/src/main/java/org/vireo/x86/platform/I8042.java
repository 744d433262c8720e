package org.vireo.x86.platform;

import java.util.ArrayDeque;
import org.vireo.bus.InterruptLine;
import org.vireo.bus.IoBus;
import org.vireo.bus.IoHandler;
import org.vireo.bus.Registration;

/**
 * An i8042 keyboard controller with nothing plugged in: data port 0x60, status/command port 0x64. The controller
 * itself answers (command byte, self tests, AUX loopback, output port, A20), so Linux's probe finds it; bytes sent
 * to the keyboard or mouse come back as a timeout (0xFE with the timeout status bit), as from an empty socket.
 * Pulsing the reset line (command 0xFE, or an output-port write with bit 0 clear) calls {@code resetRequest}.
 */
public final class I8042 {
    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    public static final int KEYBOARD_IRQ = 1;
    public static final int AUX_IRQ = 12;

    private static final int STATUS_OUTPUT_FULL = 0x01, STATUS_SYSTEM = 0x04, STATUS_COMMAND = 0x08,
            STATUS_UNLOCKED = 0x10, STATUS_AUX_DATA = 0x20, STATUS_TIMEOUT = 0x40;
    private static final int CTR_KBD_INT = 0x01, CTR_AUX_INT = 0x02, CTR_SYSTEM = 0x04, CTR_KBD_DISABLE = 0x10,
            CTR_AUX_DISABLE = 0x20;
    private static final int NO_DEVICE = 0xfe;

    private record Output(int value, boolean aux, boolean timeout) {}

    private final InterruptLine keyboardIrq;
    private final InterruptLine auxIrq;
    private final Runnable resetRequest;
    private final ArrayDeque<Output> output = new ArrayDeque<>();
    private int ctr = CTR_KBD_INT | CTR_SYSTEM | 0x40;       // keyboard interrupt, POST passed, translation
    private int outputPort = 0x03;                            // not in reset, A20 enabled
    private int pendingCommand;
    private boolean lastWasCommand;
    private int lastRead;

    public I8042(InterruptLine keyboardIrq, InterruptLine auxIrq, Runnable resetRequest) {
        this.keyboardIrq = keyboardIrq;
        this.auxIrq = auxIrq;
        this.resetRequest = resetRequest;
    }

    public Registration register(IoBus pio) {
        Registration d = pio.register(DATA_PORT, 1, "i8042-data", new IoHandler() {
            @Override public long read(long offset, int size) { return readData(); }
            @Override public void write(long offset, int size, long value) { writeData((int) value & 0xff); }
        });
        Registration c = pio.register(COMMAND_PORT, 1, "i8042-command", new IoHandler() {
            @Override public long read(long offset, int size) { return status(); }
            @Override public void write(long offset, int size, long value) { command((int) value & 0xff); }
        });
        return () -> { d.close(); c.close(); };
    }

    /** The A20 gate as set through the output port. */
    public synchronized boolean a20() { return (outputPort & 2) != 0; }

    public synchronized int status() {
        Output head = output.peek();
        int s = STATUS_UNLOCKED | (ctr & CTR_SYSTEM) | (lastWasCommand ? STATUS_COMMAND : 0);
        if (head != null) {
            s |= STATUS_OUTPUT_FULL | (head.aux ? STATUS_AUX_DATA : 0) | (head.timeout ? STATUS_TIMEOUT : 0);
        }
        return s;
    }

    public int readData() {
        int v;
        synchronized (this) {
            Output head = output.poll();
            if (head != null) lastRead = head.value;
            v = lastRead;
        }
        // Lower first so the next byte, if any, is a fresh edge.
        keyboardIrq.lower();
        auxIrq.lower();
        updateIrqs();
        return v;
    }

    public void writeData(int v) {
        boolean reset = false;
        synchronized (this) {
            lastWasCommand = false;
            int command = pendingCommand;
            pendingCommand = 0;
            switch (command) {
                case 0x60 -> ctr = v;
                case 0xd1 -> {
                    outputPort = v;
                    reset = (v & 1) == 0;
                }
                case 0xd2 -> output.add(new Output(v, false, false));
                case 0xd3 -> output.add(new Output(v, true, false));
                case 0xd4 -> output.add(new Output(NO_DEVICE, true, true));      // no mouse
                case 0 -> {
                    ctr &= ~CTR_KBD_DISABLE;                                     // talking to the port enables it
                    output.add(new Output(NO_DEVICE, false, true));              // no keyboard
                }
                default -> { }                                                   // 0x61-0x7f: controller RAM
            }
        }
        updateIrqs();
        if (reset) resetRequest.run();
    }

    public void command(int c) {
        boolean reset = false;
        synchronized (this) {
            lastWasCommand = true;
            pendingCommand = 0;
            switch (c) {
                case 0x20 -> reply(ctr);
                case 0x60, 0xd1, 0xd2, 0xd3, 0xd4 -> pendingCommand = c;
                case 0xa7 -> ctr |= CTR_AUX_DISABLE;
                case 0xa8 -> ctr &= ~CTR_AUX_DISABLE;
                case 0xa9, 0xab -> reply(0x00);                  // interface tests pass
                case 0xaa -> reply(0x55);                        // self test passed
                case 0xad -> ctr |= CTR_KBD_DISABLE;
                case 0xae -> ctr &= ~CTR_KBD_DISABLE;
                case 0xc0 -> reply(0x00);                        // input port
                case 0xd0 -> reply(outputPort);
                case 0xdd -> outputPort &= ~2;
                case 0xdf -> outputPort |= 2;
                default -> {
                    if (c >= 0x21 && c <= 0x3f) reply(0x00);     // controller RAM
                    else if (c >= 0x61 && c <= 0x7f) pendingCommand = c;
                    else if (c >= 0xf0) reset = (c & 1) == 0;    // pulse output lines; bit 0 is reset
                }
            }
        }
        updateIrqs();
        if (reset) resetRequest.run();
    }

    private void reply(int v) { output.add(new Output(v, false, false)); }

    private void updateIrqs() {
        boolean kbd, aux;
        synchronized (this) {
            Output head = output.peek();
            kbd = head != null && !head.aux && (ctr & CTR_KBD_INT) != 0;
            aux = head != null && head.aux && (ctr & CTR_AUX_INT) != 0;
        }
        keyboardIrq.set(kbd);
        auxIrq.set(aux);
    }
}
