package org.vireo.api.http;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.felix.http.jetty.ConnectorFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Serves HTTP (the API and the web console) on a Unix domain socket as well, as Firecracker's API does, when the
 * framework property {@value #PROPERTY} names its path ({@code launch/vireo --http PATH}): a Felix HTTP
 * {@link ConnectorFactory} that gives the Jetty server a {@link UnixDomainServerConnector} (jetty-unixdomain-server).
 * The socket file is created with the process's umask; a stale one from an earlier run is replaced. Only local
 * processes that may open the file can connect, so no token is asked for on it.
 */
@Component(immediate = true, service = {})
public final class UnixSocketConnector {
    static final String PROPERTY = "vireo.http.unix";
    private final ServiceRegistration<ConnectorFactory> registration;

    @Activate
    public UnixSocketConnector(BundleContext context) {
        String p = context.getProperty(PROPERTY);
        registration = p == null || p.isBlank() ? null
                : context.registerService(ConnectorFactory.class, server -> connector(server, Path.of(p.strip())), null);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
        }
    }

    private static Connector connector(Server server, Path path) {
        Path socket = path.toAbsolutePath();
        try {
            if (Files.exists(socket) && !Files.isDirectory(socket)) Files.delete(socket);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot replace " + socket + ": " + e.getMessage(), e);
        }
        UnixDomainServerConnector connector = new UnixDomainServerConnector(server);
        connector.setUnixDomainPath(socket);
        return connector;
    }
}
