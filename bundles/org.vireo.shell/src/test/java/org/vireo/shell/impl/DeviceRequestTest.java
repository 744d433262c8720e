package org.vireo.shell.impl;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;

public class DeviceRequestTest {
    /** The device kinds on the test class path (the five device bundles, test dependencies). */
    static final DeviceTypes TYPES = DeviceTypes.fromClassPath();

    private static String error(String type, String name, String... settings) {
        return assertThrows(IllegalArgumentException.class, () -> DeviceRequest.parse(TYPES, type, name, List.of(settings))).getMessage();
    }

    @Test
    public void rejectsBadInputWithAMessage() {
        assertEquals("Unknown device type 'gpu': use one of blk|net|console|rng|fs.", error("gpu", "g0"));
        assertEquals("Expected key=value, got 'source'.", error("rng", "r", "source"));
        assertEquals("Expected key=value, got '=x'.", error("rng", "r", "=x"));
        assertEquals("Unknown setting 'path' for a rng device: use machine.name, source, virtio.ring, virtio.transport.", error("rng", "r", "path=/x"));
        assertEquals("Invalid virtio.transport 'usb': use mmio or pci.", error("rng", "r", "virtio.transport=usb"));
        assertEquals("A blk device needs path=...", error("blk", "d"));
        assertEquals("readonly must be true or false, not 'yes'.", error("blk", "d", "path=/x", "readonly=yes"));
        assertEquals("Setting 'source' is given twice.", error("rng", "r", "source=/a", "source=/b"));
        assertEquals("Setting 'source' has no value.", error("rng", "r", "source="));
        assertEquals("Invalid device name 'a b': use letters, digits, '.', '_' or '-'.", error("rng", "a b"));
        assertEquals("The device name is the second argument; do not set virtio.device.name.", error("rng", "r", "virtio.device.name=x"));
    }

    @Test
    public void takesTheRingLayout() {
        assertEquals("Invalid virtio.ring 'twisted': use split or packed.", error("rng", "r", "virtio.ring=twisted"));
        assertEquals("Unknown setting 'path' for a rng device: use machine.name, source, virtio.ring, virtio.transport.", error("rng", "r", "path=/x"));
        assertEquals("packed", DeviceRequest.parse(TYPES, "blk", "d", List.of("path=/x", "virtio.ring=packed")).properties().get("virtio.ring"));
        assertEquals(null, DeviceRequest.parse(TYPES, "blk", "d", List.of("path=/x")).properties().get("virtio.ring"));
    }

    @Test
    public void keepsEqualsSignsInValues() {
        DeviceRequest r = DeviceRequest.parse(TYPES, "console", "c", List.of("backend=file:/tmp/a=b"));
        assertEquals("file:/tmp/a=b", r.properties().get("backend"));
    }
}
