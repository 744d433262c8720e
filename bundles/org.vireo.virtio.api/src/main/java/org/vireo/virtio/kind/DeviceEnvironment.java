package org.vireo.virtio.kind;

import java.io.OutputStream;
import java.util.Optional;

/**
 * What a device may need from where it is made, beyond its configuration. In the framework a device bundle's
 * component builds one from services; a run without a framework passes its own.
 */
public interface DeviceEnvironment {
    /**
     * The service property that marks a machine's terminal: {@code vireo run} registers its terminal as a
     * {@link OutputStream} service with this property {@code true} and {@code machine.name}, for devices (a console)
     * configured to write there.
     */
    String TERMINAL_PROPERTY = "vireo.terminal";

    /** The terminal of the machine the device joins (where {@code vireo run} shows the guest), when it has one. */
    Optional<OutputStream> terminal();

    /** An environment with nothing in it. */
    static DeviceEnvironment none() { return Optional::empty; }

    /** An environment whose terminal is {@code terminal}. */
    static DeviceEnvironment withTerminal(OutputStream terminal) { return () -> Optional.of(terminal); }
}
