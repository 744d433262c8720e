package org.vireo.shell.impl;

import java.util.List;

/** What vm:list and vm:info show of one machine, gathered from its service so formatting is plain Java. */
record MachineView(String name, String kind, long memoryBytes, List<String> memoryRegions, List<String> mmio,
                   List<String> pio, List<String> pciSlots, List<DeviceManager.Plugged> devices) {}
