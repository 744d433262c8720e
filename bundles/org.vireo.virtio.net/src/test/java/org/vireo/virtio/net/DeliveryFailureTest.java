package org.vireo.virtio.net;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.vireo.memory.GuestMemory;
import org.vireo.virtio.device.DeviceQueue;
import org.vireo.virtio.device.VirtioDeviceContext;

/**
 * Issue 18: a device that throws into a backend's reader thread must not end that thread for good (receive would die
 * without NEEDS_RESET); and virtio-net itself turns a failure on the backend's thread into NEEDS_RESET.
 */
public class DeliveryFailureTest {
    @Test
    public void theTapReaderSurvivesAReceiverThatThrows() {
        ArrayDeque<byte[]> frames = new ArrayDeque<>(List.of(new byte[] {1}, new byte[] {2}, new byte[] {3}));
        List<Byte> delivered = new ArrayList<>();
        TapBackend.pump("TAP test", frames::poll, frame -> {
            if (frame[0] != 3) throw new IllegalStateException("device bug (expected by the test)");
            delivered.add(frame[0]);
        }, () -> false);
        assertEquals("the frame after the failures still arrives", List.of((byte) 3), delivered);
    }

    @Test
    public void theTapReaderStopsWhenClosedOrWhenTheSourceFails() {
        List<byte[]> delivered = new ArrayList<>();
        TapBackend.pump("TAP test", () -> new byte[1], delivered::add, () -> !delivered.isEmpty());
        assertEquals(1, delivered.size());
        TapBackend.pump("TAP test", () -> { throw new java.io.IOException("gone (expected by the test)"); }, delivered::add, () -> false);
        assertEquals(1, delivered.size());
    }

    @Test
    public void aFailureOnTheBackendThreadSetsNeedsResetInsteadOfEscaping() {
        LinkBackend link = new LinkBackend("lan");
        NetDevice device = new NetDevice(new byte[] {0x52, 0x54, 0, 1, 2, 3}, link, "net0");
        List<String> resets = new ArrayList<>();
        device.activate(new VirtioDeviceContext() {
            @Override public long negotiatedFeatures() { return 0; }
            @Override public GuestMemory memory() { return null; }
            @Override public DeviceQueue queue(int index) { throw new IllegalStateException("transport bug (expected by the test)"); }
            @Override public void signalUsed(int index) { }
            @Override public void signalConfigChange() { }
            @Override public void needsReset(String reason) { resets.add(reason); }
        });
        try {
            resets.clear();   // activate may already have tried to deliver (nothing was pending)
            link.sendToGuest(new byte[60]);   // on this thread, as a backend's reader would
            assertEquals(1, resets.size());
            assertTrue(resets.get(0), resets.get(0).contains("internal error"));
            link.sendToGuest(new byte[60]);   // stopped: nothing more is attempted, nothing thrown
            assertEquals(1, resets.size());
        } finally {
            device.reset();
            device.close();
        }
    }
}
