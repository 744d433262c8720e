package org.vireo.api.http;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.vireo.machine.Machine;
import org.vireo.shell.api.ConflictException;
import org.vireo.shell.api.Management;
import org.vireo.shell.api.NotFoundException;
import org.vireo.virtio.VirtioTransportInfo;
import org.vireo.virtio.bus.VirtioBus;

/**
 * The management API, JSON over HTTP under {@code /api} on the Servlet Whiteboard. Every VM and device operation goes
 * through the shell's {@link Management} service, so the checks and messages are the shell's; this class only maps
 * resources to calls and outcomes to statuses (400 bad input, 404 no such VM or device, 409 a clash with what exists or
 * with the VM's state, 401/403 for the token and foreign origins). The resources are listed in {@code /api/openapi.json}.
 * <p>
 * Mutating calls (POST, DELETE, the console WebSocket) need {@code Authorization: Bearer TOKEN} when the server listens
 * on anything but loopback (the endpoints of the HttpServiceRuntime say where); a browser's WebSocket passes it as
 * {@code ?token=}. Requests from a page of another origin are refused whatever the address, so a web site open in the
 * user's browser cannot drive a loopback-only API.
 */
@Component(service = Servlet.class, configurationPid = ApiServlet.PID, property = {
        "osgi.http.whiteboard.servlet.pattern=/api/*",
        "osgi.http.whiteboard.servlet.name=vireo-api",
        "osgi.http.whiteboard.servlet.asyncSupported=true"})
@Designate(ocd = ApiConfig.class)
public final class ApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    static final String PID = "org.vireo.api.http";
    static final String RUNTIME_SERVICE = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    /** Request bodies are small JSON objects; anything larger is refused unread. */
    static final int MAX_BODY = 64 * 1024;
    private static final System.Logger LOG = System.getLogger(ApiServlet.class.getName());
    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();

    private final transient Management management;
    private final transient BundleContext context;
    private final transient ServiceListener runtimes;
    private transient volatile Token token;
    private final transient List<VirtioTransportInfo> plugged = new CopyOnWriteArrayList<>();
    private final transient List<VirtioBus> buses = new CopyOnWriteArrayList<>();
    private final transient Map<Machine, Boolean> machines = new ConcurrentHashMap<>();

    @Activate
    public ApiServlet(@Reference Management management, BundleContext context, ApiConfig config) {
        this.management = management;
        this.context = context;
        modified(config);
        // Say at once (and make the token then) when the server listens beyond loopback, not at the first call.
        this.runtimes = event -> listensBeyondLoopback();
        try {
            context.addServiceListener(runtimes, "(objectClass=" + RUNTIME_SERVICE + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        listensBeyondLoopback();
    }

    @Deactivate
    void deactivate() {
        try {
            context.removeServiceListener(runtimes);
        } catch (IllegalStateException stopping) {
            // the bundle is stopping: its listeners go with it
        }
    }

    /** A new token or token file applies to the next request; the servlet stays registered. */
    @Modified
    void modified(ApiConfig config) {
        this.token = new Token(config.token(), config.token_file().isBlank()
                ? Path.of(System.getProperty("user.home"), ".config", "vireo", "api-token") : Path.of(config.token_file()));
    }

    @Reference(service = VirtioTransportInfo.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeDevice")
    void addDevice(VirtioTransportInfo info) { plugged.add(info); }

    void removeDevice(VirtioTransportInfo info) { plugged.remove(info); }

    @Reference(service = VirtioBus.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeBus")
    void addBus(VirtioBus bus) { buses.add(bus); }

    void removeBus(VirtioBus bus) { buses.remove(bus); }

    @Reference(service = Machine.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "removeMachine")
    void addMachine(Machine machine) { machines.put(machine, machine.javaGuest().isPresent()); }

    void removeMachine(Machine machine) { machines.remove(machine); }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String method = req.getMethod();
        String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
        // Answers carry guest-made text (console output, device descriptions): never let a browser take it for a page.
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setHeader("Content-Security-Policy", "default-src 'none'; sandbox");
        try {
            boolean mutating = !method.equals("GET") && !method.equals("HEAD") && !method.equals("OPTIONS");
            boolean console = path.endsWith("/console") && "websocket".equalsIgnoreCase(req.getHeader("Upgrade"));
            if (mutating || console) guard(req, console);
            route(method, path, req, resp);
        } catch (ApiException e) {
            error(resp, e.status, e.getMessage());
        } catch (NotFoundException e) {
            error(resp, HttpServletResponse.SC_NOT_FOUND, e.getMessage());
        } catch (ConflictException | IllegalStateException e) {
            error(resp, HttpServletResponse.SC_CONFLICT, e.getMessage());
        } catch (IllegalArgumentException e) {
            error(resp, HttpServletResponse.SC_BAD_REQUEST, e.getMessage());
        } catch (UncheckedIOException e) {
            LOG.log(System.Logger.Level.WARNING, method + " /api" + path + ": " + e.getCause());
            error(resp, HttpServletResponse.SC_INTERNAL_SERVER_ERROR, "I/O error: " + e.getCause().getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, method + " /api" + path + " failed", e);
            error(resp, HttpServletResponse.SC_INTERNAL_SERVER_ERROR, "Internal error: " + e);
        }
    }

    private void route(String method, String path, HttpServletRequest req, HttpServletResponse resp) throws IOException {
        List<String> p = segments(path);
        int n = p.size();
        if (n == 1 && p.get(0).equals("openapi.json")) {
            allow(method, "GET");
            try (InputStream in = ApiServlet.class.getResourceAsStream("/openapi.json")) {
                if (in == null) throw new ApiException(500, "openapi.json is missing from the bundle");
                resp.setContentType("application/json");
                resp.setCharacterEncoding("UTF-8");
                in.transferTo(resp.getOutputStream());
            }
            return;
        }
        if (n == 1 && p.get(0).equals("devices")) {
            allow(method, "GET");
            json(resp, 200, virtioDevices());
            return;
        }
        if (n == 1 && p.get(0).equals("device-types")) {
            allow(method, "GET");
            json(resp, 200, management.deviceTypes());
            return;
        }
        if (n >= 1 && p.get(0).equals("vms")) {
            if (n == 1) {
                if (allow(method, "GET", "POST").equals("GET")) json(resp, 200, management.vms().stream().map(ApiServlet::vm).toList());
                else createVm(req, resp);
                return;
            }
            String name = p.get(1);
            if (n == 2) {
                if (allow(method, "GET", "DELETE").equals("GET")) json(resp, 200, vm(existingVm(name)));
                else message(resp, 200, management.deleteVm(name));
                return;
            }
            String what = p.get(2);
            if (n == 3 && what.equals("start")) {
                allow(method, "POST");
                String message = management.startVm(name);
                json(resp, 200, withMessage(message, "vm", vm(existingVm(name))));
                return;
            }
            if (n == 3 && what.equals("stop")) {
                allow(method, "POST");
                JsonObject body = body(req);
                boolean force = bool(body, "force", Boolean.parseBoolean(req.getParameter("force")));
                int timeout = integer(body, "timeout", req.getParameter("timeout") == null ? 30 : parseInt("timeout", req.getParameter("timeout")));
                String message = management.stopVm(name, force, timeout);
                json(resp, 200, withMessage(message, "vm", vm(existingVm(name))));
                return;
            }
            if (n == 3 && what.equals("console")) {
                allow(method, "GET");
                existingVm(name);
                if (ConsoleSocket.upgrade(req, resp, out -> management.attachConsole(name, out))) return;
                // Not a WebSocket: the recent output as text (curl .../console).
                resp.setStatus(200);
                resp.setContentType("text/plain; charset=utf-8");
                resp.getOutputStream().write(management.consoleOutput(name));
                return;
            }
            if (what.equals("devices")) {
                if (n == 3) {
                    if (allow(method, "GET", "POST").equals("GET")) {
                        requireMachine(name);
                        json(resp, 200, management.devices(name).stream().map(ApiServlet::device).toList());
                    } else {
                        addDevice(name, req, resp);
                    }
                    return;
                }
                if (n == 4) {
                    allow(method, "DELETE");
                    message(resp, 200, management.removeDevice(p.get(3), name));
                    return;
                }
            }
        }
        throw new ApiException(404, "No such resource: " + method + " /api" + path + " (GET /api/openapi.json lists them).");
    }

    private void createVm(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        JsonObject body = body(req);
        String name = string(body, "name");
        List<String> settings = settings(body, "settings", null);
        String message = management.createVm(name, settings);
        // The VM service follows its configuration asynchronously: give it a moment, so the answer shows the VM.
        Optional<Management.VmView> view = management.vm(name);
        for (int i = 0; i < 20 && view.isEmpty(); i++) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            view = management.vm(name);
        }
        Management.VmView created = view.orElse(new Management.VmView(name, "NEW", Map.of(), null));
        resp.setHeader("Location", "/api/vms/" + name);
        json(resp, 201, withMessage(message, "vm", vm(created)));
    }

    private void addDevice(String machine, HttpServletRequest req, HttpServletResponse resp) throws IOException {
        requireMachine(machine);
        JsonObject body = body(req);
        String type = string(body, "type");
        String name = string(body, "name");
        List<String> settings = new ArrayList<>(settings(body, "settings", machine));
        settings.add("machine.name=" + machine);
        String message = management.addDevice(type, name, settings);
        resp.setHeader("Location", "/api/vms/" + machine + "/devices/" + name);
        Object device = management.devices(machine).stream().filter(d -> d.name().equals(name)).findFirst().map(ApiServlet::device).orElse(null);
        json(resp, 201, withMessage(message, "device", device));
    }

    /** A VM, or a machine that is no VM (the hosted "java" one), may have devices; anything else is a 404. */
    private void requireMachine(String name) {
        if (management.vm(name).isPresent()) return;
        if (machines.keySet().stream().anyMatch(m -> name.equals(m.name()))) return;
        throw new NotFoundException("No VM or machine named " + name + ".");
    }

    private Management.VmView existingVm(String name) {
        return management.vm(name).orElseThrow(() -> new NotFoundException("No VM named " + name + "."));
    }

    private List<Map<String, Object>> virtioDevices() {
        List<VirtioBus.Binding> bindings = new ArrayList<>();
        for (VirtioBus bus : buses) bindings.addAll(bus.bindings());
        Map<String, Boolean> javaGuest = new LinkedHashMap<>();
        machines.forEach((m, hasJavaGuest) -> javaGuest.put(m.name(), hasJavaGuest));
        return VirtioView.devices(List.copyOf(plugged), bindings, javaGuest);
    }

    // ---- the token and the origin

    private void guard(HttpServletRequest req, boolean console) {
        String origin = req.getHeader("Origin");
        if (origin != null && !sameOrigin(origin, req.getHeader("Host"))) {
            throw new ApiException(403, "Cross-origin request refused (Origin " + origin + ").");
        }
        if (!listensBeyondLoopback()) return;
        String given = null;
        String authorization = req.getHeader("Authorization");
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) given = authorization.substring(7).strip();
        else if (console) given = req.getParameter("token");
        Token t = token;
        String expected = t.value();
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(401, "This API listens beyond loopback: mutating calls need the header Authorization: Bearer TOKEN"
                    + " (the token is in " + t.file() + " unless configured in " + PID + ").");
        }
    }

    static boolean sameOrigin(String origin, String host) {
        if (host == null) return false;
        try {
            URI o = URI.create(origin);
            if (o.getHost() == null) return false;
            String authority = o.getPort() < 0 ? o.getHost() : o.getHost() + ":" + o.getPort();
            String h = host.strip();
            return h.equalsIgnoreCase(authority) || (o.getPort() < 0 && h.equalsIgnoreCase(o.getHost() + (o.getScheme().equals("https") ? ":443" : ":80")));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** True when any endpoint of the HTTP runtime is not a loopback address (0.0.0.0 included). */
    boolean listensBeyondLoopback() {
        ServiceReference<?>[] refs;
        try {
            refs = context.getServiceReferences(RUNTIME_SERVICE, null);
        } catch (InvalidSyntaxException | IllegalStateException e) {
            return true;
        }
        if (refs == null) return false;
        for (ServiceReference<?> r : refs) {
            for (String endpoint : strings(r.getProperty("osgi.http.endpoint"))) {
                if (!loopback(endpoint)) {
                    token.announce(endpoint);
                    return true;
                }
            }
        }
        return false;
    }

    static boolean loopback(String endpoint) {
        try {
            String host = URI.create(endpoint).getHost();
            if (host == null) return false;
            if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IllegalArgumentException | UnknownHostException e) {
            return false;
        }
    }

    private static List<String> strings(Object property) {
        if (property == null) return List.of();
        if (property instanceof String s) return List.of(s);
        if (property instanceof String[] a) return Arrays.asList(a);
        if (property instanceof Collection<?> c) return c.stream().map(String::valueOf).toList();
        return List.of(String.valueOf(property));
    }

    // ---- JSON in and out

    private static List<String> segments(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) if (!s.isEmpty()) out.add(s);
        return out;
    }

    private static String allow(String method, String... allowed) {
        for (String a : allowed) if (a.equals(method)) return a;
        throw new ApiException(405, "Method " + method + " is not allowed here; use " + String.join(" or ", allowed) + ".");
    }

    static JsonObject body(HttpServletRequest req) throws IOException {
        byte[] bytes = req.getInputStream().readNBytes(MAX_BODY + 1);
        if (bytes.length > MAX_BODY) throw new ApiException(413, "The request body is larger than " + MAX_BODY + " bytes.");
        String text = new String(bytes, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) return new JsonObject();
        String type = req.getContentType();
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new ApiException(415, "The request body must be JSON (Content-Type: application/json).");
        }
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject()) throw new IllegalArgumentException("The request body must be a JSON object.");
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("The request body is not valid JSON: " + e.getMessage());
        }
    }

    private static String string(JsonObject body, String key) {
        JsonElement e = body.get(key);
        if (e == null || e.isJsonNull()) throw new IllegalArgumentException("The request needs \"" + key + "\".");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) throw new IllegalArgumentException("\"" + key + "\" must be a string.");
        return e.getAsString();
    }

    /** The object {@code key} of string, number or boolean values as the shell's key=value settings. */
    private static List<String> settings(JsonObject body, String key, String machine) {
        JsonElement e = body.get(key);
        if (e == null || e.isJsonNull()) return List.of();
        if (!e.isJsonObject()) throw new IllegalArgumentException("\"" + key + "\" must be an object of settings, e.g. {\"memory.mib\": 256}.");
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonElement> s : e.getAsJsonObject().entrySet()) {
            JsonElement v = s.getValue();
            if (!v.isJsonPrimitive()) throw new IllegalArgumentException("Setting \"" + s.getKey() + "\" must be a string, number or boolean.");
            if (machine != null && s.getKey().equals("machine.name")) {
                if (!v.getAsString().equals(machine)) {
                    throw new IllegalArgumentException("machine.name is " + machine + " for a device added under /api/vms/" + machine + ".");
                }
                continue;
            }
            out.add(s.getKey() + "=" + v.getAsString());
        }
        return out;
    }

    private static boolean bool(JsonObject body, String key, boolean fallback) {
        JsonElement e = body.get(key);
        if (e == null || e.isJsonNull()) return fallback;
        if (e.isJsonPrimitive() && ((JsonPrimitive) e).isBoolean()) return e.getAsBoolean();
        throw new IllegalArgumentException("\"" + key + "\" must be true or false.");
    }

    private static int integer(JsonObject body, String key, int fallback) {
        JsonElement e = body.get(key);
        if (e == null || e.isJsonNull()) return fallback;
        if (e.isJsonPrimitive() && ((JsonPrimitive) e).isNumber()) return parseInt(key, e.getAsString());
        throw new IllegalArgumentException("\"" + key + "\" must be a whole number.");
    }

    private static int parseInt(String key, String value) {
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not \"" + value + "\".");
        }
    }

    static Map<String, Object> vm(Management.VmView v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", v.name());
        m.put("state", v.state());
        m.put("settings", v.settings());
        m.put("description", v.description());
        return m;
    }

    static Map<String, Object> device(Management.DeviceView d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.name());
        m.put("type", d.type());
        m.put("machine", d.machine());
        m.put("transport", d.transport());
        m.put("plugged", d.pluggedAt() != null);
        m.put("address", d.pluggedAt());
        m.put("settings", d.settings());
        return m;
    }

    private static Map<String, Object> withMessage(String message, String key, Object value) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("message", message);
        m.put(key, value);
        return m;
    }

    private static void message(HttpServletResponse resp, int status, String message) throws IOException {
        json(resp, status, Map.of("message", message));
    }

    static void json(HttpServletResponse resp, int status, Object value) throws IOException {
        byte[] bytes = (GSON.toJson(value) + "\n").getBytes(StandardCharsets.UTF_8);
        resp.setStatus(status);
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setContentLength(bytes.length);
        try (OutputStream out = resp.getOutputStream()) {
            out.write(bytes);
        }
    }

    static void error(HttpServletResponse resp, int status, String message) throws IOException {
        if (resp.isCommitted()) return;
        resp.reset();
        resp.setHeader("X-Content-Type-Options", "nosniff");
        if (status == 401) resp.setHeader("WWW-Authenticate", "Bearer realm=\"vireo\"");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        m.put("status", status);
        json(resp, status, m);
    }

}
