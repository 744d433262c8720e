/** The management API and web console (private: nothing is exported; the API is HTTP). */
package org.vireo.api.http;
