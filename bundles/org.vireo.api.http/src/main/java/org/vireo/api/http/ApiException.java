package org.vireo.api.http;

/** A request the API answers with an error status and this message (as JSON: {"error": ..., "status": ...}). */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    ApiException(int status, String message) {
        super(message);
        this.status = status;
    }
}
