package org.vireo.launch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.Test;

/** Runs the packaged distribution through the launch/vireo script, as a user would. */
public class LauncherIT {
    private static final Path HOME = Path.of(System.getProperty("vireo.home", "target/vireo"));
    private static final Path WORK = Path.of(System.getProperty("vireo.it.dir", "target/launcher-it"));
    private static final Path SCRIPT = Path.of("vireo").toAbsolutePath();
    private static final AtomicInteger RUNS = new AtomicInteger();

    static {
        VireoFramework.deleteRecursively(WORK);
    }

    record Result(int exitCode, String out, String err) {}

    private static Result vireo(String... args) throws IOException, InterruptedException {
        return vireo(java.util.Map.of(), args);
    }

    private static Result vireo(java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path dir = WORK.resolve("run" + RUNS.incrementAndGet());
        Files.createDirectories(dir);
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(dir.resolve("out.txt").toFile())
                .redirectError(dir.resolve("err.txt").toFile());
        builder.environment().put("VIREO_JAVA_OPTS", "-Dvireo.run.claim.seconds=1");
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("vireo " + String.join(" ", args) + " did not finish within 120 s");
        }
        return new Result(process.exitValue(), Files.readString(dir.resolve("out.txt"), StandardCharsets.UTF_8),
                Files.readString(dir.resolve("err.txt"), StandardCharsets.UTF_8));
    }

    private static List<String> bundleJars() throws IOException {
        try (Stream<Path> files = Files.list(HOME.resolve("bundle"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).sorted().toList();
        }
    }

    @Test
    public void theDistributionHasTheLauncherFelixAndEveryFeatureBundle() throws IOException {
        try (JarFile jar = new JarFile(HOME.resolve("vireo.jar").toFile())) {
            Attributes main = jar.getManifest().getMainAttributes();
            assertEquals("org.vireo.launch.Main", main.getValue("Main-Class"));
            assertEquals("lib/org.apache.felix.framework-7.0.5.jar", main.getValue("Class-Path"));
            assertEquals("ALL-UNNAMED", main.getValue("Enable-Native-Access"));
        }
        assertTrue(Files.isRegularFile(HOME.resolve("lib/org.apache.felix.framework-7.0.5.jar")));
        // Exactly the bundles the features name, and nothing else (no transitive leftovers).
        assertEquals(featureBundleJars(), new java.util.TreeSet<>(bundleJars()));
        assertTrue(bundleJars().contains("org.apache.felix.scr-2.2.18.jar"));
    }

    /** The optional vireo-http feature sits in bundle/http/ and is installed (and resolves, every bundle active) only with --http. */
    @Test
    public void theHttpFeatureIsInstalledOnlyWithHttp() throws Exception {
        java.util.SortedSet<String> http;
        try (Stream<Path> files = Files.list(HOME.resolve("bundle").resolve("http"))) {
            http = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jar")).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
        }
        assertEquals(featureBundleJars(List.of("vireo-http")), http);
        Result with = vireo("--http", "127.0.0.1:0", "--deploy", "deploy", "-c", "lb -s");
        assertEquals(with.err, 0, with.exitCode);
        assertTrue(with.err, with.err.matches("vireo: HTTP API and web console at http://127\\.0\\.0\\.1:\\d+/\\R"));
        Result without = vireo("--deploy", "deploy", "-c", "lb -s");
        assertEquals(without.err, 0, without.exitCode);
        assertEquals("nothing on stderr", "", without.err);
        long activeWith = with.out.lines().filter(l -> l.contains("|Active")).count();
        long activeWithout = without.out.lines().filter(l -> l.contains("|Active")).count();
        assertEquals("every bundle of bundle/http active with --http:\n" + with.out, http.size(), activeWith - activeWithout);
        assertTrue(with.out, with.out.lines().anyMatch(l -> l.contains("|Active") && l.contains("|org.vireo.api.http (")));
        assertTrue(without.out, without.out.lines().noneMatch(l -> l.contains("org.vireo.api.http") || l.contains("jetty")));
    }

    @Test
    public void shellCommandListsEveryBundleActiveOnACleanConsole() throws Exception {
        Result r = vireo("shell", "--deploy", "deploy", "-c", "lb -s");
        assertEquals(r.err, 0, r.exitCode);
        assertEquals("nothing on stderr", "", r.err);
        for (String jar : bundleJars()) {
            String symbolicName = jar.replaceFirst("-\\d.*$", "");
            assertTrue(symbolicName + " is not listed active:\n" + r.out,
                    r.out.lines().anyMatch(l -> l.contains("|Active") && l.contains("|" + symbolicName + " (")));
        }
        assertFalse(r.out.contains("Installed") || r.out.contains("Resolved"));
    }

    /** KVM's state is said where asked for (issue 9): kvm:status answers on every host, and nothing else mentions it. */
    @Test
    public void kvmStatusSaysWhatThisHostHasAndTheLauncherStaysQuiet() throws Exception {
        Result r = vireo("--deploy", "deploy", "-c", "kvm:status");
        assertEquals(r.err, 0, r.exitCode);
        assertEquals("nothing on stderr", "", r.err);
        assertTrue(r.out, r.out.matches("(?s)KVM {5}(AVAILABLE|LIMITED|UNAVAILABLE)\\R.*device  .*reason  .*guests  .*"));
        if (!java.nio.file.Files.exists(Path.of("/dev/kvm"))) assertTrue(r.out, r.out.startsWith("KVM     UNAVAILABLE"));
    }

    @Test
    public void aNewDeployDirectoryIsSeededWithTheDemoConfiguration() throws Exception {
        Result r = vireo("--deploy", "fresh", "-c", "echo ok");
        assertEquals(r.err, 0, r.exitCode);
        Path deploy = WORK.resolve("run" + RUNS.get()).resolve("fresh");
        assertTrue(Files.isRegularFile(deploy.resolve("org.vireo.machine.hosted-java.cfg")));
        assertTrue(Files.readString(deploy.resolve("org.vireo.virtio.blk-disk0.cfg")).contains("path=" + deploy.toAbsolutePath().normalize() + "/disk0.img"));
        assertEquals(16L << 20, Files.size(deploy.resolve("disk0.img")));
        assertEquals(16L << 20, Files.size(deploy.resolve("disk1.img")));
    }

    @Test
    public void theLauncherNeverRewritesTheDeployDirectory() throws Exception {
        Path dir = WORK.resolve("stable");
        Result first = vireo("--deploy", dir.toAbsolutePath().toString(), "-c", "echo seeded");
        assertEquals(first.err, 0, first.exitCode);
        java.util.Map<Path, String> before = contents(dir);
        for (int i = 0; i < 2; i++) {
            Result again = vireo("--deploy", dir.toAbsolutePath().toString(), "-c", "lb");
            assertEquals(again.err, 0, again.exitCode);
            assertEquals("deploy directory changed by run " + (i + 2), before, contents(dir));
        }
    }

    private static java.util.Map<Path, String> contents(Path dir) throws IOException {
        java.util.Map<Path, String> files = new java.util.TreeMap<>();
        try (Stream<Path> list = Files.list(dir)) {
            for (Path f : list.filter(f -> f.toString().endsWith(".cfg")).toList()) files.put(f.getFileName(), Files.readString(f));
        }
        assertEquals(6, files.size());
        return files;
    }

    @Test
    public void eachCommandOfRepeatedDashCPrintsItsResultAndAFailureStopsTheRest() throws Exception {
        Result r = vireo("--deploy", "deploy", "-c", "echo one", "-c", "($.context bundle 0) symbolicname", "-c", "nosuch", "-c", "echo never");
        assertEquals(1, r.exitCode);
        assertEquals("one\norg.apache.felix.framework\n", r.out);
        assertTrue(r.err, r.err.endsWith("vireo: Command not found: nosuch\n"));
    }

    @Test
    public void aFailingCommandExitsNonZeroWithItsMessageAndNoStackTrace() throws Exception {
        Result r = vireo("shell", "--deploy", "deploy", "-c", "nosuchcommand");
        assertEquals(1, r.exitCode);
        assertTrue(r.err, r.err.contains("vireo: Command not found: nosuchcommand"));
        assertFalse(r.err, r.err.contains("\tat "));
    }

    @Test
    public void aBundleChoosesTheExitCodeThroughTheSystemProperty() throws Exception {
        Result r = vireo("--deploy", "deploy", "-c", "(($.context bundle 0) loadclass java.lang.System) setProperty vireo.exit.code 7");
        assertEquals(r.err, 7, r.exitCode);
    }

    @Test
    public void runWithAMissingKernelSaysSoAndExits2() throws Exception {
        // The VMM bundle claims `run` and answers a bad option with a message and the usage, never a stack trace.
        Result r = vireo("--deploy", "deploy", "run", "--kernel", "nothing");
        assertEquals(2, r.exitCode);
        assertTrue(r.err, r.err.startsWith("vireo: no kernel at nothing\nusage: vireo run"));
        assertFalse(r.err, r.err.contains("Exception"));
    }

    /**
     * VIREO_TIMING follows a run to its guest's first instruction (the VMM's machine service says machine.running),
     * and the bundles a run does not need start only then. The guest is a PVH ELF whose first instructions are
     * cli; hlt, so the run ends at once: the vCPU halted with interrupts disabled.
     */
    @Test
    public void runTimesTheGuestsFirstInstructionAndStartsTheOtherBundlesAfterIt() throws Exception {
        Path kernel = WORK.resolve("halt.elf");
        Files.createDirectories(WORK);
        Files.write(kernel, pvhElf(new byte[] {(byte) 0xfa, (byte) 0xf4}));
        Result r = vireo(java.util.Map.of("VIREO_TIMING", "1"), "--deploy", "deploy", "run", "--kernel", kernel.toAbsolutePath().toString(), "--initrd", "none");
        assertEquals(r.err, 1, r.exitCode);
        assertTrue(r.err, r.err.contains("the vCPU halted with interrupts disabled"));
        List<String> phases = r.err.lines().filter(l -> l.startsWith("vireo: timing ")).map(l -> l.replaceFirst("^.*\\)  ", "")).toList();
        int vmm = phases.indexOf("started the run command's bundle");
        int guest = phases.indexOf("first guest instruction (vCPU started)");
        int others = phases.indexOf("the guest runs: starting the other bundles");
        assertTrue(r.err, vmm >= 0 && vmm < guest && guest < others);
    }

    /** An ELF64 vmlinux with one segment at 16 MiB holding {@code code}, entered through its PVH note at its start. */
    private static byte[] pvhElf(byte[] code) {
        byte[] image = new byte[0x1000 + code.length];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(image).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});   // ELF64, little-endian, version 1
        b.putShort(16, (short) 2).putShort(18, (short) 62);      // executable, x86-64
        b.putLong(32, 64).putShort(54, (short) 56).putShort(56, (short) 2);   // two program headers at 64
        b.putInt(64, 1).putLong(64 + 8, 0x1000).putLong(64 + 24, 0x100_0000)   // PT_LOAD: the code at 16 MiB
                .putLong(64 + 32, code.length).putLong(64 + 40, code.length);
        int note = 0x800;
        b.putInt(120, 4).putLong(120 + 8, note).putLong(120 + 32, 20);   // PT_NOTE
        b.putInt(note, 4).putInt(note + 4, 4).putInt(note + 8, 18)      // "Xen", XEN_ELFNOTE_PHYS32_ENTRY
                .put(note + 12, new byte[] {'X', 'e', 'n', 0}).putInt(note + 16, 0x100_0000);
        System.arraycopy(code, 0, image, 0x1000, code.length);
        return image;
    }

    @Test
    public void usageErrorsAndHelp() throws Exception {
        Result help = vireo("--help");
        assertEquals(0, help.exitCode);
        assertTrue(help.out.startsWith("Usage: vireo [shell]"));
        Result bad = vireo("--frobnicate");
        assertEquals(2, bad.exitCode);
        assertTrue(bad.err.startsWith("vireo: unknown option: --frobnicate\nUsage:"));
    }

    /** "artifact-version.jar" for every bundle id ("group:artifact:version") in both feature.json files. */
    private static java.util.SortedSet<String> featureBundleJars() throws IOException {
        return featureBundleJars(List.of("vireo-runtime", "vireo-virtio", "vireo-x86"));
    }

    private static java.util.SortedSet<String> featureBundleJars(List<String> features) throws IOException {
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        java.util.regex.Pattern id = java.util.regex.Pattern.compile("\"id\"\\s*:\\s*\"([^\":]+):([^\":]+):([^\":]+)\"");
        for (String feature : features) {
            String json = Files.readString(Path.of("..", "features", feature, "feature.json"), StandardCharsets.UTF_8);
            java.util.regex.Matcher m = id.matcher(json);
            boolean first = true;
            while (m.find()) {
                if (first) { first = false; continue; }   // the feature's own id comes first
                names.add(m.group(2) + "-" + m.group(3) + ".jar");
            }
        }
        return names;
    }
}
