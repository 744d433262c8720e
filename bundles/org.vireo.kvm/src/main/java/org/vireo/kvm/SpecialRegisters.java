package org.vireo.kvm;

import java.util.Arrays;

/**
 * Segment, descriptor-table and control registers of an x86-64 vCPU ({@code struct kvm_sregs}).
 * {@code interruptBitmap} is KVM's pending external interrupt (at most one bit set; 4 longs); leave it as read.
 */
public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                               Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                               long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase,
                               long[] interruptBitmap) {
    public static final long CR0_PE = 1L;
    public static final long CR0_MP = 1L << 1;
    public static final long CR0_ET = 1L << 4;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_WP = 1L << 16;
    public static final long CR0_PG = 1L << 31;
    public static final long CR4_PAE = 1L << 5;
    public static final long CR4_OSFXSR = 1L << 9;
    public static final long EFER_SCE = 1L;
    public static final long EFER_LME = 1L << 8;
    public static final long EFER_LMA = 1L << 10;
    public static final long EFER_NXE = 1L << 11;

    public SpecialRegisters {
        if (interruptBitmap.length != 4) throw new IllegalArgumentException("interrupt bitmap has 4 longs");
        interruptBitmap = interruptBitmap.clone();
    }

    @Override
    public long[] interruptBitmap() { return interruptBitmap.clone(); }

    /** All segments flat with {@code code}/{@code data}, for protected or long mode set up from the host. */
    public SpecialRegisters withFlatSegments(Segment code, Segment data) {
        return new SpecialRegisters(code, data, data, data, data, data, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, interruptBitmap);
    }

    public SpecialRegisters withSegments(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss) {
        return new SpecialRegisters(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }

    public SpecialRegisters withTables(Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt) {
        return new SpecialRegisters(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }

    public SpecialRegisters withControl(long cr0, long cr3, long cr4, long efer) {
        return new SpecialRegisters(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase,
                interruptBitmap);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpecialRegisters r && cs.equals(r.cs) && ds.equals(r.ds) && es.equals(r.es) && fs.equals(r.fs)
                && gs.equals(r.gs) && ss.equals(r.ss) && tr.equals(r.tr) && ldt.equals(r.ldt) && gdt.equals(r.gdt)
                && idt.equals(r.idt) && cr0 == r.cr0 && cr2 == r.cr2 && cr3 == r.cr3 && cr4 == r.cr4 && cr8 == r.cr8
                && efer == r.efer && apicBase == r.apicBase && Arrays.equals(interruptBitmap, r.interruptBitmap);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Objects.hash(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer, apicBase)
                + Arrays.hashCode(interruptBitmap);
    }

    @Override
    public String toString() {
        return String.format("SpecialRegisters[cs=%s ds=%s ss=%s tr=%s gdt=%s idt=%s cr0=0x%x cr3=0x%x cr4=0x%x efer=0x%x apic=0x%x]",
                cs, ds, ss, tr, gdt, idt, cr0, cr3, cr4, efer, apicBase);
    }
}
