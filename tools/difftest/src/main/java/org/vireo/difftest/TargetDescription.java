package org.vireo.difftest;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The register layout a GDB stub describes in its target.xml (with {@code xi:include}d feature files): each
 * register's name, width and number, and from those its byte offset in the 'g' packet (registers in number order).
 */
public final class TargetDescription {
    /** One register: {@code offset} and {@code bytes} locate it in the 'g' packet. */
    public record Register(String name, int regnum, int bits, int offset) {
        public int bytes() { return (bits + 7) / 8; }
    }

    private final String architecture;
    private final List<Register> registers;
    private final Map<String, Register> byName = new LinkedHashMap<>();

    private TargetDescription(String architecture, List<Register> registers) {
        this.architecture = architecture;
        this.registers = List.copyOf(registers);
        for (Register r : registers) byName.put(r.name(), r);
    }

    public String architecture() { return architecture; }

    public List<Register> registers() { return registers; }

    public Register register(String name) { return byName.get(name); }

    public boolean has(String name) { return byName.containsKey(name); }

    /**
     * Parses {@code target.xml}; {@code fetch} returns the text of an included file (e.g. "i386-64bit.xml").
     * Comments are ignored by the XML parser, which matters: QEMU's file has registers commented out.
     */
    public static TargetDescription parse(String targetXml, Function<String, String> fetch) {
        List<Element> regs = new ArrayList<>();
        String[] arch = {""};
        collect(targetXml, fetch, regs, arch, 0);
        List<Register> out = new ArrayList<>();
        int next = 0;
        List<int[]> numbered = new ArrayList<>();
        for (Element e : regs) {
            String n = e.getAttribute("regnum");
            int num = n.isEmpty() ? next : Integer.decode(n);
            next = num + 1;
            numbered.add(new int[] {num, Integer.parseInt(e.getAttribute("bitsize"))});
        }
        // Offsets follow register numbers, not document order.
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < regs.size(); i++) order.add(i);
        order.sort(Comparator.comparingInt(i -> numbered.get(i)[0]));
        int offset = 0;
        for (int i : order) {
            int bits = numbered.get(i)[1];
            out.add(new Register(regs.get(i).getAttribute("name"), numbered.get(i)[0], bits, offset));
            offset += (bits + 7) / 8;
        }
        return new TargetDescription(arch[0], Collections.unmodifiableList(out));
    }

    private static void collect(String xml, Function<String, String> fetch, List<Element> regs, String[] arch, int depth) {
        if (depth > 8) throw new IllegalArgumentException("xi:include nesting too deep");
        Element root = parseXml(xml).getDocumentElement();
        walk(root, fetch, regs, arch, depth);
    }

    private static void walk(Element e, Function<String, String> fetch, List<Element> regs, String[] arch, int depth) {
        switch (e.getTagName()) {
            case "reg" -> regs.add(e);
            case "architecture" -> arch[0] = e.getTextContent().trim();
            case "xi:include", "include" -> collect(fetch.apply(e.getAttribute("href")), fetch, regs, arch, depth + 1);
            default -> {
                NodeList kids = e.getChildNodes();
                for (int i = 0; i < kids.getLength(); i++) {
                    if (kids.item(i).getNodeType() == Node.ELEMENT_NODE) walk((Element) kids.item(i), fetch, regs, arch, depth);
                }
            }
        }
    }

    private static org.w3c.dom.Document parseXml(String xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(false);
            f.setValidating(false);
            f.setExpandEntityReferences(false);
            f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            f.setFeature("http://xml.org/sax/features/external-general-entities", false);
            f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b.parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalArgumentException("bad target description: " + e.getMessage(), e);
        }
    }

    /** Splits a 'g' packet into registers; those the packet is too short for are left out. */
    public Map<String, byte[]> split(byte[] g) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (Register r : registers) {
            if (r.offset() + r.bytes() > g.length) continue;
            byte[] v = new byte[r.bytes()];
            System.arraycopy(g, r.offset(), v, 0, v.length);
            m.put(r.name(), v);
        }
        return m;
    }

    /** Little-endian value of the low 64 bits of a raw register. */
    public static long le64(byte[] v, int from) {
        long x = 0;
        for (int i = Math.min(7, v.length - 1 - from); i >= 0; i--) x = (x << 8) | (v[from + i] & 0xff);
        return x;
    }

    public static byte[] toLe(long value, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes && i < 8; i++) b[i] = (byte) (value >>> (8 * i));
        return b;
    }
}
