package org.vireo.api.http;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The HTTP API's settings (configuration PID {@code org.vireo.api.http}); where it listens is Felix HTTP's business. */
@ObjectClassDefinition(name = "Vireo HTTP API",
        description = "The management API and web console. A token guards every mutating call when the server listens beyond loopback")
@interface ApiConfig {
    @AttributeDefinition(name = "Token", description = "The bearer token mutating calls need when the API listens beyond loopback;"
            + " empty: one is generated on first start and kept in the token file", required = false)
    String token() default "";

    @AttributeDefinition(name = "Token file", description = "Where a generated token is kept (created with mode 0600);"
            + " empty: ~/.config/vireo/api-token", required = false)
    String token_file() default "";
}
