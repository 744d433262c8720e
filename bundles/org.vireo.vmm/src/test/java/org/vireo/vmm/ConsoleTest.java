package org.vireo.vmm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class ConsoleTest {
    private final List<String> actions = new ArrayList<>();
    private final ConsoleEscape escape = new ConsoleEscape(new ConsoleEscape.Actions() {
        @Override public void quit() { actions.add("quit"); }
        @Override public void help() { actions.add("help"); }
    });

    private byte[] feed(int... bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int b : bytes) out.writeBytes(escape.feed(b));
        return out.toByteArray();
    }

    @Test
    public void ctrlAEscapes() {
        assertArrayEquals(new byte[] {'l', 's', '\r'}, feed('l', 's', '\r'));
        assertArrayEquals(new byte[0], feed(1, 'x'));
        assertEquals(List.of("quit"), actions);
        assertArrayEquals(new byte[] {1}, feed(1, 1));
        assertArrayEquals(new byte[0], feed(1, 'h'));
        assertEquals(List.of("quit", "help"), actions);
        assertArrayEquals("unknown escapes pass through", new byte[] {1, 'c', 'd'}, feed(1, 'c', 'd'));
        assertArrayEquals("Ctrl-C goes to the guest", new byte[] {3}, feed(3));
    }

    @Test
    public void watchesLinuxShutdownLines() throws Exception {
        List<GuestConsole.Event> events = new ArrayList<>();
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        GuestConsole c = new GuestConsole(sink, events::add);
        String text = "[    1.503967] reboot: Restarting system\r\nreboot: Power down\n"
                + "Kernel panic - not syncing: oops\n---[ end Kernel panic - not syncing: oops ]---\nreboot: System halted\n";
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) c.write(b);
        assertEquals(List.of(GuestConsole.Event.RESTARTING, GuestConsole.Event.POWER_OFF, GuestConsole.Event.PANIC_END,
                GuestConsole.Event.POWER_OFF), events);
        assertEquals("everything passes through", text, sink.toString(StandardCharsets.US_ASCII));
    }
}
