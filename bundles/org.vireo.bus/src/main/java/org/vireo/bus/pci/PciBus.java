package org.vireo.bus.pci;

import java.util.concurrent.CopyOnWriteArrayList;

/**
 * PCI bus 0 with 32 device slots, function 0 each. Configuration accesses to an empty slot read all ones,
 * which is how a guest's bus scan learns that nothing is there. Slot 0 is left to the host bridge.
 * Accesses for other bus numbers are routed through the {@link PciBridge} functions on this bus whose bus number
 * range holds them; with no bridge they read all ones, as before.
 */
public final class PciBus {
    public static final int SLOTS = 32;

    /** Told when a function arrives or leaves, e.g. by a hot-plug controller. */
    public interface Listener {
        void attached(int slot, PciFunction function);

        void detached(int slot, PciFunction function);
    }

    private final PciFunction[] slots = new PciFunction[SLOTS];
    private final CopyOnWriteArrayList<Listener> listeners = new CopyOnWriteArrayList<>();

    /** Attaches to the lowest free slot from 1 up and returns the slot. */
    public int attach(PciFunction function) {
        int slot;
        synchronized (this) {
            slot = -1;
            for (int i = 1; i < SLOTS; i++) {
                if (slots[i] == null) { slot = i; break; }
            }
            if (slot < 0) throw new IllegalStateException("PCI bus full: all " + (SLOTS - 1) + " slots are taken");
            slots[slot] = function;
        }
        for (Listener l : listeners) l.attached(slot, function);
        return slot;
    }

    public void attach(int slot, PciFunction function) {
        synchronized (this) {
            if (slot < 0 || slot >= SLOTS) throw new IllegalArgumentException("slot out of range: " + slot);
            if (slots[slot] != null) throw new IllegalStateException("PCI slot " + slot + " is taken");
            slots[slot] = function;
        }
        for (Listener l : listeners) l.attached(slot, function);
    }

    public void detach(int slot) {
        PciFunction f;
        synchronized (this) {
            f = slots[slot];
            slots[slot] = null;
        }
        if (f != null) {
            f.detached();
            for (Listener l : listeners) l.detached(slot, f);
        }
    }

    public synchronized PciFunction function(int slot) {
        return slot >= 0 && slot < SLOTS ? slots[slot] : null;
    }

    private PciFunction target(int bus, int device, int function) {
        if (function != 0) return null;
        return bus == 0 ? function(device) : behindBridges(bus, device);
    }

    /** The function at {@code device} of bus number {@code bus} behind one of this bus's bridges, or null. */
    private PciFunction behindBridges(int bus, int device) {
        if (bus <= 0 || bus > 0xff) return null;
        for (int slot = 0; slot < SLOTS; slot++) {
            if (!(function(slot) instanceof PciBridge bridge)) continue;
            int secondary = bridge.secondaryBusNumber();
            // Bus 0 is this bus: a bridge whose secondary number is unassigned (0) routes nothing.
            if (secondary <= 0 || bus < secondary || bus > bridge.subordinateBusNumber()) continue;
            PciBus behind = bridge.secondaryBus();
            if (behind == null || behind == this) return null;
            return bus == secondary ? behind.function(device) : behind.behindBridges(bus, device);
        }
        return null;
    }

    public int configRead(int bus, int device, int function, int offset, int size) {
        PciFunction f = target(bus, device, function);
        if (f == null || offset < 0 || offset + size > 256) return size == 4 ? -1 : (1 << (size * 8)) - 1;
        return f.configRead(offset, size);
    }

    public void configWrite(int bus, int device, int function, int offset, int size, int value) {
        PciFunction f = target(bus, device, function);
        if (f == null || offset < 0 || offset + size > 256) return;
        f.configWrite(offset, size, value);
    }

    public void addListener(Listener listener) { listeners.add(listener); }

    public void removeListener(Listener listener) { listeners.remove(listener); }
}
