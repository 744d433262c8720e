package org.vireo.guest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The web console in a real browser: the packaged launcher with {@code --http 127.0.0.1:0} (which listens on loopback
 * only, as the test checks), a VM created through the API, and headless Chromium (Debian's {@code chromium}, driven
 * through its DevTools protocol with the JDK's WebSocket client) that opens the page, sees the VM in the list, adds an
 * rng device with the page's form, presses Start, reads {@code VIREO-INIT-READY} from the xterm.js console widget,
 * types a command into it (the guest's shell answers through the same WebSocket), hot-plugs a disk through the API
 * (the guest's console shows virtio_blk's vda) and removes it with the page's button while the guest runs, pulls the
 * plug and removes the rng. The page's screenshot (taken once the guest is ready) is kept as
 * {@code target/guest-tests/web-console.png}. Skips, saying why, without the guest kit or Chromium.
 */
public class WebConsoleIT {
    private static final long START_SECONDS = 120;
    private static final long BOOT_SECONDS = 300;
    private static final Pattern URL = Pattern.compile("vireo: HTTP API and web console at (http://127\\.0\\.0\\.1:\\d+)/");

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    static Path chromium() {
        for (String p : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (Files.isExecutable(Path.of(p))) return Path.of(p);
        }
        GuestKit.assumeAvailable("Chromium is not installed (apt-get install chromium; scripts/test installs it)", false);
        return null;
    }

    @Test
    public void thePageStartsTheGuestAndShowsItsConsole() throws Exception {
        GuestKit.assumePresent();
        Path browser = chromium();
        Path home = LauncherProcess.home();
        Path dir = folder.getRoot().toPath();
        Path deploy = dir.resolve("deploy");
        Path log = GuestKit.logFile("WebConsoleIT-vireo");
        try (LauncherProcess vireo = LauncherProcess.start(home, deploy, log, "--http", "127.0.0.1:0")) {
            String line = vireo.await(l -> URL.matcher(l).find() || l.contains("--http:"), START_SECONDS);
            assertNotNull("the HTTP API did not start within " + START_SECONDS + " s" + GuestKit.tail(vireo.output(), 40), line);
            Matcher m = URL.matcher(line);
            assertTrue(line, m.find());
            String base = m.group(1);
            int port = Integer.parseInt(base.substring(base.lastIndexOf(':') + 1));

            // Asked for loopback, it listens on loopback only: that one port.
            List<LoopbackOnlyIT.HostSocket> listening = LoopbackOnlyIT.listening(vireo.process().pid());
            assertEquals("listening sockets: " + listening, 1, listening.size());
            assertEquals("127.0.0.1", listening.getFirst().address().getHostAddress());
            assertEquals(port, listening.getFirst().port());

            // A VM of the guest kit whose init, once ready, starts an interactive shell on the serial console.
            HttpResponse<String> created = post(base + "/api/vms",
                    "{\"name\":\"web\",\"settings\":{\"memory.mib\":256,\"hotplug.slot\":true,\"cmdline\":\"console=ttyS0 vireo.shell=1\"}}");
            assertEquals(created.body(), 201, created.statusCode());

            Path profile = Files.createDirectories(dir.resolve("chromium"));
            Process chrome = new ProcessBuilder(browser.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--window-size=1280,860",
                    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank")
                    .redirectErrorStream(true).start();
            Path chromeLog = GuestKit.logFile("WebConsoleIT-chromium");
            try (DevTools page = DevTools.connect(chrome, chromeLog)) {
                page.call("Page.enable", Map.of());
                page.call("Page.navigate", Map.of("url", base + "/"));
                // The VM list shows the VM (the page selects the first one and attaches its console).
                page.await("document.querySelector('#vms tbody tr[data-name=\"web\"]') !== null"
                        + " && document.querySelector('#vm-name').textContent === 'web' && !document.querySelector('#start').disabled", 30);
                // A device through the page's form (an rng on PCI bus 0, plugged when the VM starts).
                page.eval("(() => { const f = document.querySelector('#add-device'); f.type.value = 'rng'; f.name.value = 'rng0';"
                        + " f.transport.value = 'pci'; f.requestSubmit(); })()");
                page.await("[...document.querySelectorAll('#devices tbody tr')].some(r => r.cells[0].textContent === 'rng0')", 30);
                page.eval("document.querySelector('#start').click()");
                page.await("document.querySelector('#vm-state').textContent === 'RUNNING'", 30);
                long began = System.nanoTime();
                boolean ready = page.poll("window.vireoConsoleText().includes('VIREO-INIT-READY')", BOOT_SECONDS);
                boolean typed = false;
                // Once the shell's prompt is there, keys typed into the widget go through the WebSocket to it.
                if (ready && page.poll("(window.vireoConsoleText().split('interactive shell')[1] || '').includes('# ')", 60)) {
                    page.eval("document.querySelector('#terminal textarea').focus()");
                    page.call("Input.insertText", Map.of("text", "echo WEB-$((6*7))"));
                    page.call("Input.dispatchKeyEvent", Map.of("type", "keyDown", "key", "Enter", "code", "Enter",
                            "windowsVirtualKeyCode", 13, "text", "\r"));
                    page.call("Input.dispatchKeyEvent", Map.of("type", "keyUp", "key", "Enter", "code", "Enter", "windowsVirtualKeyCode", 13));
                    typed = page.poll("window.vireoConsoleText().includes('WEB-42')", 60);
                }
                // Hot-plug through the API while the guest runs: its pciehp finds the disk and virtio_blk names it.
                boolean hotplugged = false;
                if (typed) {
                    Path disk = dir.resolve("disk1.img");
                    try (var f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
                        f.setLength(16 << 20);
                    }
                    HttpResponse<String> added = post(base + "/api/vms/web/devices",
                            "{\"type\":\"blk\",\"name\":\"disk1\",\"settings\":{\"virtio.transport\":\"pci\",\"path\":\"" + disk + "\"}}");
                    assertEquals(added.body(), 201, added.statusCode());
                    hotplugged = page.poll("window.vireoConsoleText().includes('[vda]')", 90);
                }
                // The page lists it where the transport plugged it: behind the hot-plug port, bus 1.
                boolean listed = hotplugged && page.poll("[...document.querySelectorAll('#devices tbody tr')].some(r => r.cells[0].textContent === 'disk1'"
                        + " && r.cells[3].textContent.startsWith('pci 01:'))", 30);
                String text = page.eval("window.vireoConsoleText()").get("value").getAsString();
                Files.writeString(GuestKit.logFile("WebConsoleIT-console"), text);
                byte[] png = page.screenshot();
                Path shot = Path.of(System.getProperty("vireo.guest.tests.dir", "target/guest-tests")).resolve("web-console.png");
                Files.createDirectories(shot.getParent());
                Files.write(shot, png);
                assertTrue("the console widget did not show VIREO-INIT-READY within " + BOOT_SECONDS + " s; it shows:"
                        + GuestKit.tail(text, 30) + "\nlauncher:" + GuestKit.tail(vireo.output(), 20), ready);
                System.out.printf("WebConsoleIT: VIREO-INIT-READY in the browser %.1f s after Start; screenshot %s (%d bytes)%n",
                        (System.nanoTime() - began) / 1e9, shot, png.length);
                assertTrue("a PNG", png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
                assertTrue("the guest's shell did not answer 'echo WEB-$((6*7))' typed into the widget with WEB-42; it shows:"
                        + GuestKit.tail(text, 15), typed);
                assertTrue("the guest did not find the disk hot-plugged through the API (no [vda] on its console):"
                        + GuestKit.tail(text, 15), hotplugged);
                assertTrue("the page does not list disk1 as plugged on bus 1", listed);
                // Removed with the page's button while the guest runs: it releases the slot, then the row goes.
                page.eval("[...document.querySelectorAll('#devices tbody tr')].find(r => r.cells[0].textContent === 'disk1').querySelector('button').click()");
                page.await("![...document.querySelectorAll('#devices tbody tr')].some(r => r.cells[0].textContent === 'disk1')", 60);
                // the device row says where the transport plugged it
                page.await("[...document.querySelectorAll('#devices tbody tr')].some(r => r.cells[0].textContent === 'rng0'"
                        + " && r.cells[3].textContent.startsWith('pci 00:'))", 30);
                // Stop (pull the plug), then remove the device from the page.
                page.eval("document.querySelector('#force-stop').click()");
                page.await("document.querySelector('#vm-state').textContent === 'STOPPED'", 60);
                page.eval("[...document.querySelectorAll('#devices tbody tr')].find(r => r.cells[0].textContent === 'rng0').querySelector('button').click()");
                page.await("document.querySelectorAll('#devices tbody tr').length === 0", 30);
            } finally {
                chrome.destroyForcibly();
                chrome.waitFor(10, TimeUnit.SECONDS);
            }
            HttpResponse<String> vm = http.send(HttpRequest.newBuilder(URI.create(base + "/api/vms/web")).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(vm.body(), vm.body().contains("\"state\": \"STOPPED\""));
        }
    }

    /**
     * {@code --http PATH}: the API answers on the Unix domain socket (Jetty's UnixDomainServerConnector through Felix
     * HTTP's ConnectorFactory), and the TCP port Felix HTTP needs besides is on loopback. Needs neither the guest kit nor
     * Chromium.
     */
    @Test
    public void aUnixSocketServesTheApiAndTheTcpPortStaysOnLoopback() throws Exception {
        Path home = LauncherProcess.home();
        Path dir = folder.getRoot().toPath();
        Path socket = dir.resolve("vireo.sock");
        try (LauncherProcess vireo = LauncherProcess.start(home, dir.resolve("deploy"), GuestKit.logFile("WebConsoleIT-unix"), "--http", socket.toString())) {
            String line = vireo.await(l -> l.contains("HTTP API and web console at") || l.contains("--http:"), START_SECONDS);
            assertNotNull("the HTTP API did not start within " + START_SECONDS + " s" + GuestKit.tail(vireo.output(), 40), line);
            assertTrue(line, line.endsWith(" and unix:" + socket));
            String response;
            try (java.nio.channels.SocketChannel channel = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
                channel.write(StandardCharsets.US_ASCII.encode("GET /api/device-types HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
                java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(8192);
                while (channel.read(buffer) >= 0) {
                    bytes.write(buffer.array(), 0, buffer.position());
                    buffer.clear();
                }
                response = bytes.toString(StandardCharsets.UTF_8);
            }
            assertTrue(response, response.startsWith("HTTP/1.1 200 "));
            assertTrue(response, response.contains("\"rng\""));
            List<LoopbackOnlyIT.HostSocket> listening = LoopbackOnlyIT.listening(vireo.process().pid());
            assertEquals("listening sockets: " + listening, 1, listening.size());
            assertTrue("listening sockets: " + listening, listening.getFirst().address().isLoopbackAddress());
            vireo.process().destroy();   // SIGTERM: the framework stops, Jetty closes its connectors
            assertTrue("Vireo did not stop within 60 s of SIGTERM", vireo.waitFor(60));
        }
        assertTrue("the socket file is removed when Vireo stops", !Files.exists(socket));
    }

    private HttpResponse<String> post(String url, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** One page of a headless Chromium, through the DevTools protocol (JSON messages over a WebSocket). */
    static final class DevTools implements AutoCloseable {
        private final WebSocket socket;
        private final AtomicInteger ids = new AtomicInteger();
        private final Map<Integer, CompletableFuture<JsonObject>> pending = new ConcurrentHashMap<>();

        private DevTools(WebSocket socket) { this.socket = socket; }

        /** Reads "DevTools listening on ws://..." from Chromium's output, finds its page, and connects to it. */
        static DevTools connect(Process chrome, Path log) throws Exception {
            BufferedReader out = new BufferedReader(new InputStreamReader(chrome.getInputStream(), StandardCharsets.UTF_8));
            CompletableFuture<String> endpoint = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("chromium-output").start(() -> {
                try (var file = Files.newBufferedWriter(log)) {
                    for (String l; (l = out.readLine()) != null; ) {
                        file.write(l);
                        file.newLine();
                        file.flush();
                        Matcher m = Pattern.compile("DevTools listening on ws://([^/]+)/").matcher(l);
                        if (m.find()) endpoint.complete(m.group(1));
                    }
                } catch (IOException e) {
                    // Chromium ended
                }
                endpoint.complete(null);
            });
            String hostPort = endpoint.get(60, TimeUnit.SECONDS);
            assertNotNull("Chromium did not start its DevTools endpoint (see " + log + ")", hostPort);
            HttpClient client = HttpClient.newHttpClient();
            String pageUrl = null;
            for (int i = 0; i < 100 && pageUrl == null; i++) {
                String list = client.send(HttpRequest.newBuilder(URI.create("http://" + hostPort + "/json/list")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                for (var e : JsonParser.parseString(list).getAsJsonArray()) {
                    JsonObject t = e.getAsJsonObject();
                    if (pageUrl == null && "page".equals(t.get("type").getAsString())) pageUrl = t.get("webSocketDebuggerUrl").getAsString();
                }
                if (pageUrl == null) Thread.sleep(100);
            }
            assertNotNull("Chromium has no page", pageUrl);
            DevTools[] self = new DevTools[1];
            StringBuilder partial = new StringBuilder();
            WebSocket ws = client.newWebSocketBuilder().buildAsync(URI.create(pageUrl), new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    partial.append(data);
                    if (last) {
                        JsonObject message = JsonParser.parseString(partial.toString()).getAsJsonObject();
                        partial.setLength(0);
                        if (message.has("id")) {
                            CompletableFuture<JsonObject> f = self[0].pending.remove(message.get("id").getAsInt());
                            if (f != null) f.complete(message);
                        }
                    }
                    webSocket.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            self[0] = new DevTools(ws);
            return self[0];
        }

        JsonObject call(String method, Map<String, Object> params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonObject> f = new CompletableFuture<>();
            pending.put(id, f);
            JsonObject message = new JsonObject();
            message.addProperty("id", id);
            message.addProperty("method", method);
            message.add("params", new com.google.gson.Gson().toJsonTree(params));
            socket.sendText(message.toString(), true).get(30, TimeUnit.SECONDS);
            JsonObject reply = f.get(60, TimeUnit.SECONDS);
            if (reply.has("error")) fail(method + ": " + reply.get("error"));
            return reply.getAsJsonObject("result");
        }

        /** The value of a JavaScript expression in the page: {"type": ..., "value": ...}. */
        JsonObject eval(String expression) throws Exception {
            JsonObject result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
            if (result.has("exceptionDetails")) fail(expression + ": " + result.get("exceptionDetails"));
            return result.getAsJsonObject("result");
        }

        /** Polls a boolean expression every 200 ms until true or {@code seconds} pass; says which. */
        boolean poll(String expression, long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                JsonObject r = eval(expression);
                if (r.has("value") && r.get("value").isJsonPrimitive() && r.get("value").getAsBoolean()) return true;
                Thread.sleep(200);
            }
            return false;
        }

        void await(String expression, long seconds) throws Exception {
            if (!poll(expression, seconds)) {
                fail("the page did not reach " + expression + " within " + seconds + " s; status line: "
                        + eval("document.querySelector('#status').textContent").get("value") + "; page: "
                        + eval("document.body.innerText.slice(0, 2000)").get("value"));
            }
        }

        byte[] screenshot() throws Exception {
            return Base64.getDecoder().decode(call("Page.captureScreenshot", Map.of("format", "png")).get("data").getAsString());
        }

        @Override
        public void close() {
            socket.abort();
        }
    }
}
