package org.vireo.vmm.api;

/** Where a virtual machine is in its life: NEW until first started; STOPPED or FAILED after a run; startable again. */
public enum VmState { NEW, RUNNING, STOPPED, FAILED }
