package org.vireo.shell.impl;

import static org.junit.Assert.assertEquals;

import java.util.List;
import org.junit.Test;

public class ShellFormatterTest {
    private final MachineView java = new MachineView("java", "hosted", 64L << 20, List.of("0x0 +64 MiB"),
            List.of("[0xd0000000, +0x200) virtio-mmio rng0"), List.of(), List.of("00:01.0 vendor 1af4 device 1044"),
            List.of(new DeviceManager.Plugged("java", "rng0", "mmio 0xd0000000 irq 16")));

    @Test
    public void sizesUseTheLargestExactUnit() {
        assertEquals("64 MiB", ShellFormatter.size(64L << 20));
        assertEquals("1 GiB", ShellFormatter.size(1L << 30));
        assertEquals("1536 KiB", ShellFormatter.size(1536L << 10));
        assertEquals("100 B", ShellFormatter.size(100));
        assertEquals("0 B", ShellFormatter.size(0));
    }

    @Test
    public void machineListIsATable() {
        assertEquals("NAME  KIND    MEMORY  DEVICES\njava  hosted  64 MiB  1", ShellFormatter.machines(List.of(java)));
        assertEquals("No machines.", ShellFormatter.machines(List.of()));
    }

    @Test
    public void machineInfoHasEverySection() {
        assertEquals("""
                Machine java (hosted)
                memory: 64 MiB
                memory regions:
                  0x0 +64 MiB
                mmio:
                  [0xd0000000, +0x200) virtio-mmio rng0
                pio: none
                pci slots in use:
                  00:01.0 vendor 1af4 device 1044
                virtio devices:
                  rng0 at mmio 0xd0000000 irq 16""", ShellFormatter.machine(java));
    }
}
