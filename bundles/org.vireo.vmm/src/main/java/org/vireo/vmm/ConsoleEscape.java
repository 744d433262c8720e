package org.vireo.vmm;

import java.io.ByteArrayOutputStream;

/**
 * QEMU-style console escapes on the host's keyboard input: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A
 * sends one Ctrl-A; everything else passes to the guest.
 */
final class ConsoleEscape {
    static final int CTRL_A = 0x01;
    static final String HELP = "\nC-a x    exit Vireo\nC-a C-a  send C-a to the guest\nC-a h    this help\n";

    interface Actions {
        void quit();

        void help();
    }

    private final Actions actions;
    private boolean escaped;

    ConsoleEscape(Actions actions) { this.actions = actions; }

    /** Feeds one byte from the keyboard; returns the bytes for the guest (possibly none). */
    byte[] feed(int b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(2);
        if (escaped) {
            escaped = false;
            switch (b) {
                case 'x', 'X' -> actions.quit();
                case 'h', 'H', '?' -> actions.help();
                case CTRL_A -> out.write(CTRL_A);
                default -> {
                    out.write(CTRL_A);
                    out.write(b);
                }
            }
        } else if (b == CTRL_A) {
            escaped = true;
        } else {
            out.write(b);
        }
        return out.toByteArray();
    }
}
