package org.vireo.shell.impl;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class CommandOverviewTest {
    @Test
    public void listsEveryCommandOfTheScopeWithItsOwnHelpOnce() {
        String vm = CommandOverview.of("vm", MachineCommands.class, VmCommands.class);
        for (String c : new String[] {"list", "info", "create", "start", "stop", "delete", "console"}) {
            assertTrue(vm, vm.contains("vm:" + c + " "));
        }
        assertTrue(vm, vm.contains("Boot a VM's guest"));
        assertFalse("the overview does not list itself", vm.contains("vm:vm "));
        String dev = CommandOverview.of("dev", DeviceCommands.class);
        assertTrue(dev, dev.contains("dev:add ") && dev.contains("dev:remove ") && dev.contains("dev:list "));
        assertTrue("overloads appear once", dev.indexOf("dev:list ") == dev.lastIndexOf("dev:list "));
    }
}
