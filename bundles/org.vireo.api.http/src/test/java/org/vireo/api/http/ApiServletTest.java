package org.vireo.api.http;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.Test;

public class ApiServletTest {
    @Test
    public void onlyLoopbackEndpointsCountAsLoopback() {
        assertTrue(ApiServlet.loopback("http://127.0.0.1:8080/"));
        assertTrue(ApiServlet.loopback("http://127.1.2.3:80/"));
        assertTrue(ApiServlet.loopback("http://[::1]:8080/"));
        assertTrue(ApiServlet.loopback("http://localhost:8080/"));
        assertFalse(ApiServlet.loopback("http://0.0.0.0:8080/"));
        assertFalse(ApiServlet.loopback("http://[::]:8080/"));
        assertFalse(ApiServlet.loopback("http://192.0.2.1:8080/"));
        assertFalse(ApiServlet.loopback("not a url"));
    }

    @Test
    public void anOriginMustBeThePagesOwn() {
        assertTrue(ApiServlet.sameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assertTrue(ApiServlet.sameOrigin("http://vireo.example", "vireo.example"));
        assertTrue(ApiServlet.sameOrigin("http://vireo.example", "vireo.example:80"));
        assertFalse(ApiServlet.sameOrigin("http://evil.example", "127.0.0.1:8080"));
        assertFalse(ApiServlet.sameOrigin("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assertFalse(ApiServlet.sameOrigin("null", "127.0.0.1:8080"));
        assertFalse(ApiServlet.sameOrigin("http://127.0.0.1:8080", null));
    }

    @Test
    public void aGeneratedTokenIsKeptPrivatelyAndReused() throws Exception {
        Path dir = Files.createTempDirectory("vireo-token");
        Path file = dir.resolve("sub").resolve("api-token");
        String first = new Token("", file).value();
        assertEquals(64, first.length());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(first, new Token("", file).value());
        assertEquals("configured-token", new Token(" configured-token ", dir.resolve("unused")).value());
        assertFalse(Files.exists(dir.resolve("unused")));
    }
}
