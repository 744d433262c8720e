package org.vireo.kvm;

/** Which address space an ioeventfd watches. */
public enum IoSpace { PIO, MMIO }
