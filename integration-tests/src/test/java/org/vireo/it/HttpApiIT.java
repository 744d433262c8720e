package org.vireo.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.vireo.vmm.api.VirtualMachine;

/**
 * The HTTP API (org.vireo.api.http on Felix HTTP / Jetty 12) on a real Felix with every Vireo bundle: VMs created and
 * deleted, a device added to a hosted machine (its Java driver binds, as the device view shows) and removed, the
 * console WebSocket, the shell's messages for bad input with the HTTP status that says what went wrong, and the token
 * once the server (says it) listens beyond loopback. The server listens on a free port of 127.0.0.1.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class HttpApiIT extends VireoTestSupport {
    static final String[] HTTP_BUNDLES = {
            "org.apache.felix:org.apache.felix.http.servlet-api",
            "org.apache.felix:org.apache.felix.http.jetty12",
            "org.eclipse.jetty.websocket:jetty-websocket-core-common",
            "org.eclipse.jetty.websocket:jetty-websocket-core-server",
            "org.eclipse.jetty:jetty-unixdomain-server",
            "com.google.code.gson:gson",
    };
    private static final String RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    private static final String TOKEN = "it-secret-token-0123456789";

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Configuration
    @Override
    public Option[] config() throws IOException {
        List<Option> options = new ArrayList<>(Arrays.asList(super.config()));
        options.add(frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"));
        options.add(frameworkProperty("org.osgi.service.http.port").value("0"));
        options.add(frameworkProperty("org.apache.felix.https.enable").value("false"));
        // The API's configuration from the start (FileInstall reads the deploy folder): the token the last test
        // uses, and where a generated one would go (under target/, never the user's home).
        Files.writeString(deployDir().resolve("org.vireo.api.http.cfg"),
                "token=" + TOKEN + "\ntoken.file=" + workDir().resolve("api-token") + "\n");
        for (String ga : HTTP_BUNDLES) {
            String[] parts = ga.split(":");
            options.add(mavenBundle(parts[0], parts[1]).versionAsInProject());
        }
        String http = System.getProperty("vireo.http.bundles");
        if (http == null || http.isBlank()) throw new IllegalStateException("system property vireo.http.bundles is not set (run through mvn verify)");
        for (String jar : http.split(",")) {
            if (jar.isBlank()) continue;
            Path p = Path.of(jar.strip());
            if (!Files.isRegularFile(p)) throw new IllegalStateException("bundle not built: " + p);
            options.add(bundle(p.toUri().toString()));
        }
        return options.toArray(Option[]::new);
    }

    /** The base URL from the HTTP runtime's endpoint (Jetty picked the port), e.g. http://127.0.0.1:41234 */
    private String base() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (System.nanoTime() < deadline) {
            ServiceReference<?>[] refs = context.getServiceReferences(RUNTIME, null);
            if (refs != null) {
                for (ServiceReference<?> r : refs) {
                    Object e = r.getProperty("osgi.http.endpoint");
                    String endpoint = e instanceof String[] a && a.length > 0 ? a[0] : e instanceof String s ? s : null;
                    if (endpoint != null && endpoint.startsWith("http://127.0.0.1:") && !endpoint.contains(":0/")) {
                        String url = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
                        // the API servlet is registered once its references are satisfied
                        if (send("GET", url + "/api/openapi.json", null, null).statusCode() == 200) return url;
                    }
                }
            }
            Thread.sleep(100);
        }
        fail("the HTTP API did not come up within " + TIMEOUT_SECONDS + " s");
        return null;
    }

    private HttpResponse<String> send(String method, String url, String json, String token, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) b.header("Content-Type", "application/json");
        if (token != null) b.header("Authorization", "Bearer " + token);
        if (headers.length > 0) b.headers(headers);
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> call(String method, String path, String json) throws Exception {
        return send(method, base() + path, json, null);
    }

    private static JsonElement json(HttpResponse<String> r) {
        assertTrue("not JSON: " + r.headers().firstValue("Content-Type") + "\n" + r.body(),
                r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        return JsonParser.parseString(r.body());
    }

    /** Asserts the status and that the body is {"error": message containing {@code text}, "status": status}. */
    private static void assertError(HttpResponse<String> r, int status, String text) {
        assertEquals(r.body(), status, r.statusCode());
        JsonObject o = json(r).getAsJsonObject();
        assertEquals(status, o.get("status").getAsInt());
        assertTrue(o.get("error").getAsString() + " should contain " + text, o.get("error").getAsString().contains(text));
    }

    private JsonObject findDevice(String name, String machine) throws Exception {
        for (JsonElement e : json(call("GET", "/api/devices", null)).getAsJsonArray()) {
            JsonObject d = e.getAsJsonObject();
            if (name.equals(d.get("name").getAsString()) && machine.equals(d.get("machine").getAsString())) return d;
        }
        return null;
    }

    private JsonObject awaitDevice(String name, String machine, Predicate<JsonObject> until) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        JsonObject d;
        while ((d = findDevice(name, machine)) == null || !until.test(d)) {
            if (System.nanoTime() > deadline) fail("device " + name + " on " + machine + " not as expected within " + TIMEOUT_SECONDS + " s: " + d);
            Thread.sleep(50);
        }
        return d;
    }

    @Test
    public void theOpenApiDocumentListsEveryResource() throws Exception {
        HttpResponse<String> r = call("GET", "/api/openapi.json", null);
        assertEquals(200, r.statusCode());
        JsonObject doc = json(r).getAsJsonObject();
        assertTrue(doc.get("openapi").getAsString().startsWith("3."));
        JsonObject paths = doc.getAsJsonObject("paths");
        for (String p : List.of("/api/vms", "/api/vms/{name}", "/api/vms/{name}/start", "/api/vms/{name}/stop", "/api/vms/{name}/devices",
                "/api/vms/{name}/devices/{dev}", "/api/vms/{name}/console", "/api/devices")) {
            assertTrue("openapi.json lacks " + p, paths.has(p));
        }
        // the web console's page and its packaged xterm.js come from the same bundle
        HttpResponse<String> page = call("GET", "/", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<title>Vireo</title>"));
        assertEquals(200, call("GET", "/xterm/xterm.mjs", null).statusCode());
        int outside = call("GET", "/xterm/%2e%2e/%2e%2e/OSGI-INF/org.vireo.api.http.ApiServlet.xml", null).statusCode();
        assertTrue("a path out of /web answered " + outside, outside == 400 || outside == 404);
    }

    @Test
    public void vmsAreCreatedListedAndDeletedWithTheShellsChecks() throws Exception {
        String name = uniqueName("httpvm");
        HttpResponse<String> created = call("POST", "/api/vms", "{\"name\":\"" + name + "\",\"settings\":{\"memory.mib\":64,\"initrd\":\"none\"}}");
        assertEquals(created.body(), 201, created.statusCode());
        JsonObject body = json(created).getAsJsonObject();
        assertTrue(body.get("message").getAsString(), body.get("message").getAsString().startsWith("Created VM " + name));
        await(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");

        JsonObject vm = json(call("GET", "/api/vms/" + name, null)).getAsJsonObject();
        assertEquals("NEW", vm.get("state").getAsString());
        assertEquals(64, vm.getAsJsonObject("settings").get("memory.mib").getAsInt());
        boolean listed = false;
        for (JsonElement e : json(call("GET", "/api/vms", null)).getAsJsonArray()) listed |= e.getAsJsonObject().get("name").getAsString().equals(name);
        assertTrue(listed);

        // the shell's messages, with a status that says what went wrong
        assertError(call("POST", "/api/vms", "{\"name\":\"" + name + "\"}"), 409, "A VM named " + name + " already exists.");
        assertError(call("POST", "/api/vms", "{\"name\":\"x" + name + "\",\"settings\":{\"vcpus\":2}}"), 400, "vcpus=2 is not supported");
        assertError(call("POST", "/api/vms", "{\"name\":\"x" + name + "\",\"settings\":{\"colour\":\"red\"}}"), 400, "Unknown setting colour");
        assertError(call("POST", "/api/vms", "{\"name\":\"bad name\"}"), 400, "Bad VM name");
        assertError(call("POST", "/api/vms", "{\"settings\":{}}"), 400, "needs \"name\"");
        assertError(call("POST", "/api/vms", "{\"name\": "), 400, "not valid JSON");
        assertError(send("POST", base() + "/api/vms", null, null, "Content-Type", "text/plain"), 400, "needs \"name\"");
        HttpResponse<String> plain = client.send(HttpRequest.newBuilder(URI.create(base() + "/api/vms"))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("name=x")).build(), HttpResponse.BodyHandlers.ofString());
        assertError(plain, 415, "must be JSON");
        assertError(call("GET", "/api/vms/no-such-vm", null), 404, "No VM named no-such-vm.");
        assertError(call("POST", "/api/vms/no-such-vm/start", null), 404, "No VM named no-such-vm");
        assertError(call("PUT", "/api/vms/" + name, "{}"), 405, "use GET or DELETE");
        assertError(call("GET", "/api/nothing/here", null), 404, "No such resource");
        assertError(call("POST", "/api/vms/" + name + "/stop", "{\"timeout\":-1}"), 400, "--timeout must be 0 or more seconds");
        JsonObject notRunning = json(call("POST", "/api/vms/" + name + "/stop", null)).getAsJsonObject();
        assertEquals("VM " + name + " is not running (NEW).", notRunning.get("message").getAsString());

        HttpResponse<String> deleted = call("DELETE", "/api/vms/" + name, null);
        assertEquals(deleted.body(), 200, deleted.statusCode());
        assertEquals("Deleted VM " + name + ".", json(deleted).getAsJsonObject().get("message").getAsString());
        awaitAbsent(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
        assertError(call("GET", "/api/vms/" + name, null), 404, "No VM named");
        assertError(call("DELETE", "/api/vms/" + name, null), 404, "No VM named " + name + ".");
    }

    @Test
    public void aDeviceAddedToAHostedMachineBindsItsDriverAndGoesAway() throws Exception {
        String machine = uniqueName("httpm");
        machine(machine);
        await(org.vireo.machine.Machine.class, machineFilter(machine));
        HttpResponse<String> added = call("POST", "/api/vms/" + machine + "/devices",
                "{\"type\":\"rng\",\"name\":\"rng7\",\"settings\":{\"virtio.transport\":\"mmio\",\"source\":\"securerandom\"}}");
        assertEquals(added.body(), 201, added.statusCode());
        assertEquals("Added rng device rng7 on machine " + machine + ".", json(added).getAsJsonObject().get("message").getAsString());

        // the virtio:devices view: the Java driver bound, DRIVER_OK, a ready queue
        JsonObject d = awaitDevice("rng7", machine, x -> !x.get("driver").getAsString().equals("-") && x.get("statusText").getAsString().contains("DRIVER_OK"));
        assertEquals("rng", d.get("type").getAsString());
        assertEquals("mmio", d.get("transport").getAsString());
        JsonArray queues = d.getAsJsonArray("queues");
        assertFalse(queues.isEmpty());
        assertTrue(queues.get(0).getAsJsonObject().get("ready").getAsBoolean());

        JsonArray configured = json(call("GET", "/api/vms/" + machine + "/devices", null)).getAsJsonArray();
        assertEquals(1, configured.size());
        JsonObject c = configured.get(0).getAsJsonObject();
        assertEquals("rng7", c.get("name").getAsString());
        assertTrue(c.get("plugged").getAsBoolean());
        assertEquals("securerandom", c.getAsJsonObject("settings").get("source").getAsString());

        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"rng\",\"name\":\"rng7\"}"), 409, "already has a device named rng7");
        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"toaster\",\"name\":\"t0\"}"), 400, "Unknown device type 'toaster'");
        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"blk\",\"name\":\"d0\"}"), 400, "needs path=");
        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"rng\",\"name\":\"r1\",\"settings\":{\"virtio.transport\":\"usb\"}}"), 400, "Invalid virtio.transport 'usb'");
        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"rng\",\"name\":\"r1\",\"settings\":{\"machine.name\":\"other\"}}"), 400, "machine.name is " + machine);
        assertError(call("POST", "/api/vms/" + machine + "/devices", "{\"type\":\"rng\",\"name\":\"r1\",\"settings\":{\"source\":{\"a\":1}}}"), 400, "must be a string, number or boolean");
        assertError(call("POST", "/api/vms/no-such-machine/devices", "{\"type\":\"rng\",\"name\":\"r1\"}"), 404, "No VM or machine named no-such-machine");
        assertError(call("GET", "/api/vms/no-such-machine/devices", null), 404, "No VM or machine named no-such-machine");

        HttpResponse<String> removed = call("DELETE", "/api/vms/" + machine + "/devices/rng7", null);
        assertEquals(removed.body(), 200, removed.statusCode());
        assertEquals("Removed rng device rng7 from machine " + machine + ".", json(removed).getAsJsonObject().get("message").getAsString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
        while (findDevice("rng7", machine) != null) {
            if (System.nanoTime() > deadline) fail("rng7 still plugged " + TIMEOUT_SECONDS + " s after its removal");
            Thread.sleep(50);
        }
        assertEquals(0, json(call("GET", "/api/vms/" + machine + "/devices", null)).getAsJsonArray().size());
        assertError(call("DELETE", "/api/vms/" + machine + "/devices/rng7", null), 404, "No device named rng7 on machine " + machine + ".");
    }

    @Test
    public void theConsoleIsAWebSocket() throws Exception {
        String name = uniqueName("httpcon");
        assertEquals(201, call("POST", "/api/vms", "{\"name\":\"" + name + "\",\"settings\":{\"memory.mib\":64,\"initrd\":\"none\"}}").statusCode());
        await(VirtualMachine.class, "(" + VirtualMachine.NAME_PROPERTY + "=" + name + ")");
        String ws = base().replaceFirst("^http", "ws") + "/api/vms/" + name + "/console";
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        WebSocket socket = client.newWebSocketBuilder().buildAsync(URI.create(ws), new WebSocket.Listener() {
            @Override
            public java.util.concurrent.CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }

            @Override
            public java.util.concurrent.CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
                webSocket.request(1);
                return null;
            }
        }).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        // keys typed while the VM is not running are dropped, not an error
        socket.sendText("echo hi\r", true).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertEquals(WebSocket.NORMAL_CLOSURE, (int) closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        // plain GET: the recent output as text
        HttpResponse<String> text = call("GET", "/api/vms/" + name + "/console", null);
        assertEquals(200, text.statusCode());
        assertTrue(text.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        // guest-made text is never taken for a page
        assertEquals("nosniff", text.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertTrue(text.headers().firstValue("Content-Security-Policy").orElse("").contains("sandbox"));
        // no such VM: the handshake is refused with 404
        try {
            client.newWebSocketBuilder().buildAsync(URI.create(base().replaceFirst("^http", "ws") + "/api/vms/no-such-vm/console"),
                    new WebSocket.Listener() {}).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            fail("a console WebSocket to a missing VM was accepted");
        } catch (ExecutionException | CompletionException e) {
            assertTrue(String.valueOf(e.getCause()), e.getCause() instanceof java.net.http.WebSocketHandshakeException h && h.getResponse().statusCode() == 404);
        }
        assertEquals(200, call("DELETE", "/api/vms/" + name, null).statusCode());
    }

    @Test
    public void aForeignOriginIsRefusedAndBeyondLoopbackMutatingCallsNeedTheToken() throws Exception {
        String url = base();
        assertError(send("POST", url + "/api/vms", "{\"name\":\"evil\"}", null, "Origin", "http://evil.example"), 403, "Cross-origin request refused");
        // Tell the API the server also listens beyond loopback: another HttpServiceRuntime with such an endpoint.
        Hashtable<String, Object> endpoint = new Hashtable<>();
        endpoint.put("osgi.http.endpoint", new String[] {"http://192.0.2.1:8080/"});
        // (a do-nothing HttpServiceRuntime: only its endpoint property is read)
        Class<?> type = context.getServiceReference(RUNTIME).getBundle().loadClass(RUNTIME);
        Object runtime = java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> null);
        ServiceRegistration<?> beyond = context.registerService(RUNTIME, runtime, endpoint);
        try {
            String name = uniqueName("httptok");
            HttpResponse<String> r = send("POST", url + "/api/vms", "{\"name\":\"" + name + "\"}", "wrong-token");
            assertError(r, 401, "need the header Authorization: Bearer TOKEN");
            assertEquals("Bearer realm=\"vireo\"", r.headers().firstValue("WWW-Authenticate").orElse(null));
            assertError(send("POST", url + "/api/vms", "{\"name\":\"" + name + "\"}", null), 401, "Bearer TOKEN");
            assertEquals(200, send("GET", url + "/api/vms", null, null).statusCode()); // reading needs none
            HttpResponse<String> ok = send("POST", url + "/api/vms", "{\"name\":\"" + name + "\",\"settings\":{\"memory.mib\":64,\"initrd\":\"none\"}}", TOKEN);
            assertEquals(ok.body(), 201, ok.statusCode());
            assertError(send("DELETE", url + "/api/vms/" + name, null, null), 401, "Bearer TOKEN");
            assertEquals(200, send("DELETE", url + "/api/vms/" + name, null, TOKEN).statusCode());
            // the console WebSocket is guarded too (a browser passes the token as ?token=)
            try {
                client.newWebSocketBuilder().buildAsync(URI.create(url.replaceFirst("^http", "ws") + "/api/vms/" + name + "/console"),
                        new WebSocket.Listener() {}).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                fail("a console WebSocket without the token was accepted");
            } catch (ExecutionException e) {
                assertTrue(String.valueOf(e.getCause()), e.getCause() instanceof java.net.http.WebSocketHandshakeException h && h.getResponse().statusCode() == 401);
            }
        } finally {
            beyond.unregister();
        }
    }

}
