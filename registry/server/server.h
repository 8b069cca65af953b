/* ireg's HTTP server: the OCI distribution-spec v1.1 over libmicrohttpd,
 * backed by a storage driver (storage.h).
 *
 *     struct reg_server_config cfg = { .addr = "127.0.0.1:5000", .root = dir };
 *     struct reg_server *s = reg_server_start(&cfg, &err);
 *     ... wait for SIGTERM ...
 *     reg_server_stop(s, 30);
 */
#ifndef REGISTRY_SERVER_SERVER_H
#define REGISTRY_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

struct reg_auth;
struct reg_policy;
struct reg_store;

struct reg_server_config {
        const char *addr;           /* "HOST:PORT", ":PORT", "[v6]:PORT"; port 0 = any free */
        const char *root;           /* storage root directory (created if missing) */
        /* A store to serve instead of the filesystem one at ROOT (a driver
         * built from configuration, storage.h); the server owns it from
         * the call on, and frees it even when starting fails. */
        struct reg_store *store;
        unsigned threads;           /* worker threads; 0 = default (2 per CPU, at least 4) */
        /* TLS: PEM text (not paths); both NULL = plain HTTP. */
        const char *tls_cert_pem;
        const char *tls_key_pem;
        const char *tls_client_ca_pem; /* require client certificates signed by these CAs */
        struct reg_auth *auth;      /* NULL = no authentication (owned by the caller) */
        struct reg_policy *policy;  /* NULL = no policy (policy.h; owned by the caller) */
        FILE *log;                  /* request/audit log; NULL = stderr */
        bool no_access_log;         /* only audit lines and errors */
        unsigned upload_max_age;    /* seconds an idle upload session stays in memory (default 600) */
        /* OCI-Chunk-Min-Length: the smallest PATCH chunk accepted except the
         * last one of an upload (announced on POST/PATCH/GET upload
         * responses); 0 = none, header not sent. */
        uint64_t chunk_min_length;
        /* Seconds a connection may go without progress (a request not
         * arriving, a client not reading a download) before it is
         * dropped; 0 = 300. */
        unsigned idle_timeout;
        /* Connections served at once, in total and from one client address;
         * past either, a new connection's requests get 503 with Retry-After
         * and it is closed.  0 = the defaults below (the total is lowered to
         * what the open-file limit allows; a value given is checked
         * against it instead). */
        unsigned max_conns;
        unsigned max_conns_per_ip;
};

#define REG_DEFAULT_MAX_CONNS 1024
#define REG_DEFAULT_MAX_CONNS_PER_IP 256

struct reg_server;

/* Open the storage, bind ADDR and start serving in background threads.
 * Returns NULL with ERR naming the address or root on failure. */
struct reg_server *reg_server_start(const struct reg_server_config *cfg, struct err **err);

/* The TCP port actually bound (useful with port 0). */
uint16_t reg_server_port(const struct reg_server *s);

/* Stop accepting connections, wait up to DRAIN_SECONDS for requests in
 * flight to finish, then close everything and free S (NULL is a no-op). */
void reg_server_stop(struct reg_server *s, unsigned drain_seconds);

#endif
