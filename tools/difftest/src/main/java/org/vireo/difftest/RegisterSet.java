package org.vireo.difftest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A CPU's user-visible registers under canonical names, the common ground of both sides of a comparison:
 * rax..r15, rip, rflags, the six selectors, fs_base, gs_base, k_gs_base, cr0, cr2, cr3, cr4, cr8, efer, and
 * xmm0_lo..xmm15_hi, mxcsr. A side fills in what it knows; comparisons use the names both sides have.
 */
public final class RegisterSet {
    /** Register names in Intel encoding order (the order of ModRM register numbers). */
    public static final List<String> GPRS = List.of("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
    /** Segment registers in Intel encoding order. */
    public static final List<String> SEGMENTS = List.of("es", "cs", "ss", "ds", "fs", "gs");
    public static final List<String> SYSTEM = List.of("fs_base", "gs_base", "k_gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer");
    public static final List<String> VECTOR;

    static {
        List<String> v = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            v.add("xmm" + i + "_lo");
            v.add("xmm" + i + "_hi");
        }
        v.add("mxcsr");
        VECTOR = Collections.unmodifiableList(v);
    }

    /** All canonical names in display order. */
    public static final List<String> ALL;

    static {
        List<String> a = new ArrayList<>(GPRS);
        a.add("rip");
        a.add("rflags");
        a.addAll(SEGMENTS);
        a.addAll(SYSTEM);
        a.addAll(VECTOR);
        ALL = Collections.unmodifiableList(a);
    }

    private final Map<String, Long> values = new LinkedHashMap<>();

    public RegisterSet put(String name, long value) {
        values.put(name, value);
        return this;
    }

    public long get(String name) {
        Long v = values.get(name);
        if (v == null) throw new IllegalArgumentException("no register " + name);
        return v;
    }

    public boolean has(String name) { return values.containsKey(name); }

    public Set<String> names() { return Collections.unmodifiableSet(values.keySet()); }

    public long gpr(int index) { return get(GPRS.get(index)); }

    public long rip() { return get("rip"); }

    public long rflags() { return get("rflags"); }

    public RegisterSet copy() {
        RegisterSet c = new RegisterSet();
        c.values.putAll(values);
        return c;
    }

    static int width(String name) {
        if (SEGMENTS.contains(name)) return 4;
        if (name.equals("rflags") || name.equals("mxcsr")) return 8;
        return 16;
    }

    static String format(String name, long value) {
        return String.format("%0" + width(name) + "x", value);
    }

    /** Names of flags set in {@code rflags}, e.g. "CF ZF IF". */
    public static String flagNames(long rflags) {
        String[] names = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF"};
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < names.length; i++) {
            if (!names[i].isEmpty() && (rflags & (1L << i)) != 0) b.append(b.isEmpty() ? "" : " ").append(names[i]);
        }
        return b.toString();
    }

    /** A multi-line dump: GPRs four to a line, then rip/rflags, selectors, system registers (vectors only if nonzero). */
    public String dump() {
        StringBuilder b = new StringBuilder();
        int col = 0;
        for (String n : ALL) {
            if (!has(n)) continue;
            long v = get(n);
            if (VECTOR.contains(n) && v == 0 && !n.equals("mxcsr")) continue;
            b.append(String.format("%-9s=%s", n, format(n, v)));
            if (n.equals("rflags")) b.append(" [").append(flagNames(v)).append(']');
            b.append(++col % 4 == 0 ? "\n" : "  ");
        }
        return b.toString().stripTrailing();
    }

    @Override
    public String toString() { return dump(); }
}
