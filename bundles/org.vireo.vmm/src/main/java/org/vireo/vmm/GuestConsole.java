package org.vireo.vmm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The guest's serial output on its way to the host: passes every byte on and watches the lines Linux prints when
 * it reboots, powers off or panics, so the runner can tell a reboot's triple fault from a crash.
 */
final class GuestConsole extends OutputStream {
    enum Event { RESTARTING, POWER_OFF, PANIC_END }

    interface Listener {
        void seen(Event event);
    }

    private static final byte[][] MARKERS = {
        "reboot: Restarting system".getBytes(StandardCharsets.US_ASCII),
        "reboot: Power down".getBytes(StandardCharsets.US_ASCII),
        "---[ end Kernel panic".getBytes(StandardCharsets.US_ASCII),
    };
    private static final Event[] EVENTS = {Event.RESTARTING, Event.POWER_OFF, Event.PANIC_END};
    private static final byte[] HALTED = "reboot: System halted".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final Listener listener;
    private final byte[] line = new byte[256];
    private int length;

    GuestConsole(OutputStream out, Listener listener) {
        this.out = out;
        this.listener = listener;
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        if (b == '\n' || b == '\r') {
            length = 0;
            return;
        }
        if (length < line.length) line[length++] = (byte) b;
        for (int i = 0; i < MARKERS.length; i++) {
            if (endsWith(MARKERS[i])) listener.seen(EVENTS[i]);
        }
        if (endsWith(HALTED)) listener.seen(Event.POWER_OFF);
    }

    private boolean endsWith(byte[] marker) {
        if (length < marker.length || line[length - 1] != marker[marker.length - 1]) return false;
        for (int i = 0; i < marker.length; i++) {
            if (line[length - marker.length + i] != marker[i]) return false;
        }
        return true;
    }

    @Override
    public void flush() throws IOException { out.flush(); }
}
