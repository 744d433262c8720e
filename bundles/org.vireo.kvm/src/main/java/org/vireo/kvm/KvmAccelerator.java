package org.vireo.kvm;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The OSGi service saying whether KVM is usable here, and the way in to it. Registered whatever the answer, with
 * {@link #AVAILABLE_PROPERTY}, {@link #STATE_PROPERTY} and {@link #REASON_PROPERTY}, so a VMM can target
 * {@code (kvm.available=true)} or report the reason KVM was not chosen.
 */
@ProviderType
public interface KvmAccelerator {
    /** Boolean service property: KVM runs guests here (perhaps only small ones: see {@link #STATE_PROPERTY}). */
    String AVAILABLE_PROPERTY = "kvm.available";
    /** String service property: the {@link KvmStatus.State} name. */
    String STATE_PROPERTY = "kvm.state";
    /** String service property: the probe's reason text. */
    String REASON_PROPERTY = "kvm.reason";

    /** The result of probing the device when the service started. */
    KvmStatus status();

    default boolean usable() { return status().available(); }

    /**
     * Opens the KVM device for a new VMM.
     *
     * @throws KvmException when KVM is not usable (the message carries the probe's reason) or opening fails
     */
    Kvm open();
}
