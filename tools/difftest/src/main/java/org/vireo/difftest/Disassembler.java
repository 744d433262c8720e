package org.vireo.difftest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns instruction bytes into text for divergence reports with binutils' objdump when it is installed; without it
 * reports show bytes only. Used only when printing, never while stepping.
 */
public final class Disassembler {
    private static final Pattern LINE = Pattern.compile("^\\s*[0-9a-f]+:\\s+(?:[0-9a-f]{2} )+\\s*(.*)$", Pattern.MULTILINE);
    private final String objdump;
    private Boolean works;

    public Disassembler(String objdump) { this.objdump = objdump; }

    public static Disassembler system() { return new Disassembler("objdump"); }

    /** The first instruction in {@code code} at {@code address}, Intel syntax, or null if objdump is not usable. */
    public String disassemble(byte[] code, long address, int bits) {
        if (Boolean.FALSE.equals(works) || code.length == 0) return null;
        Path tmp = null;
        try {
            tmp = Files.createTempFile("difftest-insn", ".bin");
            Files.write(tmp, code);
            String machine = bits == 64 ? "i386:x86-64" : bits == 32 ? "i386" : "i8086";
            Process p = new ProcessBuilder(objdump, "-D", "-b", "binary", "-m", machine, "-M", "intel",
                    "--adjust-vma=0x" + Long.toHexString(address), tmp.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                works = false;
                return null;
            }
            works = true;
            Matcher m = LINE.matcher(out);
            return m.find() ? m.group(1).trim().replaceAll("\\s+", " ") : null;
        } catch (IOException e) {
            works = false;
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // A leftover temp file is harmless.
                }
            }
        }
    }
}
