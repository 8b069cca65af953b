/* Internals of the registry client shared by its files: the per-registry
 * state (endpoint, auth, tokens, TLS material) and the HTTP transport. */
#ifndef REGISTRY_CLIENT_CLIENT_INTERNAL_H
#define REGISTRY_CLIENT_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "registry/client/blobinfo-internal.h"
#include "registry/client/client.h"
#include "registry/common/challenge.h"
#include "registry/common/creds.h"

struct reg_token_entry {
        char *scope;  /* the space-separated scope list it was issued for */
        char *token;  /* a secret */
        time_t expires;
        struct reg_token_entry *next;
};

struct reg_host {
        char *host;                /* host[:port] of URLs */
        char *cred_host;           /* name for the credentials lookup ("docker.io") */
        char *base;                /* "https://host" once pinged */
        bool pinged;
        bool basic;                /* the registry asked for Basic */
        struct reg_challenges *challenges; /* the last Bearer challenge seen */
        bool creds_done;
        struct reg_creds *creds;   /* or NULL: anonymous */
        struct err *creds_err;     /* why the lookup failed, reported when auth is needed */
        char *creds_note;          /* the lookup's first warning, for a later 401 */
        char *ca_blob;             /* PEM: system bundle + cert dir *.crt, or NULL */
        size_t ca_len;
        char *client_cert, *client_key;
        struct reg_token_entry *tokens;
        pthread_mutex_t lock;
        struct reg_host *next;
};

struct reg_client {
        char *creds;
        char *authfile;
        bool tls_verify_disable;
        char *cert_dir;
        bool plain_http;
        int jobs;
        int retries;
        bool all_platforms;
        struct oci_platform *platform;
        reg_client_log_fn log;
        void *log_data;
        reg_client_log_fn warn;
        void *warn_data;
        CURL *curl;                /* the calling thread's handle */
        pthread_mutex_t lock;      /* hosts list, known, seen */
        struct reg_host *hosts;
        struct reg_blobinfo *known; /* where blobs are: the store's record, and what this client saw */
        struct reg_blobinfo *seen; /* what this client saw, to add to the store's record */
        unsigned backoff_ms;       /* first retry delay (tests lower it) */
        uint64_t chunk_threshold;  /* blobs above this are uploaded in chunks */
        uint64_t chunk_size;
};

/* The body of a request: a buffer, or SIZE bytes of FD from OFFSET. */
struct reg_body {
        const void *data;
        size_t len;
        int fd;                    /* -1: use data/len */
        off_t offset;
        uint64_t size;
};

/* Called with each piece of a 2xx response body; return false (with *err
 * set) to abort the transfer. */
typedef bool (*reg_sink_fn)(const void *data, size_t len, long status, void *userdata, struct err **err);
/* Called before each attempt (first and retries), e.g. to set a Range. */
typedef int (*reg_prepare_fn)(void *userdata, struct err **err);

struct reg_req {
        const char *method;        /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
        const char *url;           /* absolute URL */
        const char *scope;         /* token scope(s), space-separated, or NULL */
        const char *headers[8];    /* extra "Name: value" lines, NULL-terminated */
        const char *range;         /* "bytes=N-" or NULL (set by prepare) */
        const struct reg_body *body; /* or NULL */
        const char *content_type;  /* of the body */
        size_t cap;                /* buffered 2xx body cap (0: LIMIT_HTTP_ERROR_BODY) */
        reg_sink_fn sink;          /* stream 2xx bodies here instead of buffering */
        reg_prepare_fn prepare;
        void *userdata;
        bool follow;               /* follow 3xx (GET/HEAD of blobs and manifests) */
        bool no_auth;              /* token endpoint requests */
        bool once;                 /* no retries (the caller resumes itself) */
        const char *authorization; /* explicit Authorization (token endpoint) */
};

struct reg_resp {
        long status;
        char *body;                /* buffered body (NUL-terminated) or NULL */
        size_t body_len;
        char *content_type;
        char *location;
        char *docker_digest;
        char *range;
        char *content_range;
        char *link;
        char *retry_after;
        char *www_authenticate;
        char *oci_subject;
        int64_t chunk_min;         /* OCI-Chunk-Min-Length, 0 when absent or malformed */
        int64_t content_length;    /* -1 when absent or malformed */
        char *url;                 /* the URL that answered (after redirects) */
        char *request;             /* "GET URL" for messages */
        int curl_code;             /* CURLcode of a failed transfer, else 0 */
        size_t header_bytes;
};

void reg_resp_clear(struct reg_resp *r);

/* Record one raw response header LINE (LEN bytes, "Name: value\r\n" as
 * curl hands it over, not NUL-terminated) in R if it is one the client
 * reads: the value is kept trimmed (a repeated header replaces the
 * earlier one, except WWW-Authenticate, which is comma-joined); numeric
 * ones are parsed strictly.  Other lines are ignored.  The caller caps
 * LEN and the total (LIMIT_HTTP_HEADER, LIMIT_HTTP_HEADERS). */
void reg_resp_add_header(struct reg_resp *r, const char *line, size_t len);

/* The state of HOST ("localhost:5000"), created on first use; CRED_HOST is
 * the name to look credentials up under. */
struct reg_host *reg_client_host(struct reg_client *c, const char *host, const char *cred_host);

/* Load HOST's TLS material from the client's cert dir (or the default
 * certs.d dirs): *.crt CAs added to the system bundle, a *.cert and *.key pair. */
void reg_host_load_certs(struct reg_client *c, struct reg_host *host);

/* GET /v2/ once per host: pick https or http, learn the auth challenge. */
int reg_host_ping(struct reg_client *c, CURL *h, struct reg_host *host, struct err **err);

/* Do REQ against HOST with the handle H: authentication from the host's
 * challenge (tokens for REQ->scope), manual redirects (Authorization only
 * to the registry itself), retries with backoff on connection errors, 408,
 * 429 (Retry-After) and 5xx.  Any HTTP status is a success here: the caller
 * checks RESP->status, and calls reg_http_fail for unexpected ones. */
int reg_http_do(struct reg_client *c, CURL *h, struct reg_host *host, struct reg_req *req, struct reg_resp *resp,
                struct err **err);

/* A batch of requests run concurrently (up to the client's jobs) on one
 * curl multi handle, each with reg_http_do's behaviour (authentication,
 * redirects, retries with backoff, re-authentication on 401), all on the
 * calling thread.  START(i) is called for each item i in [0, N) in order
 * when a slot is free: it returns 1 with *ret_req and *ret_resp (owned by
 * the caller, kept in place until FINISH) to run a request, 0 to skip the
 * item, or negative to stop.  FINISH(i, r) is called when item i's request
 * is over: r == 0 with its response (any status), or r < 0 with *err set
 * (cleared by FINISH when it carries on).  It returns 1 with *ret_req and
 * *ret_resp to run another request for the item (a protocol step), 0 when
 * the item is done, or negative to stop the batch (the requests still
 * running are abandoned; the items' state is the caller's to clean up).
 * Returns 0 when every item finished without a stop. */
struct reg_batch_ops {
        int (*start)(size_t i, void *userdata, struct reg_req **ret_req, struct reg_resp **ret_resp,
                     struct err **err);
        int (*finish)(size_t i, void *userdata, int r, struct reg_req **ret_req, struct reg_resp **ret_resp,
                      struct err **err);
};
int reg_http_batch(struct reg_client *c, struct reg_host *host, size_t n, const struct reg_batch_ops *ops,
                   void *userdata, struct err **err);

/* An error for an unexpected response: the registry, request, status and
 * the registry's error codes and messages from the body. */
int reg_http_fail(struct reg_host *host, const struct reg_resp *resp, struct err **err);

/* Resolve LOCATION (maybe relative) against BASE_URL; newly allocated or NULL. */
char *reg_url_resolve(const char *base_url, const char *location);

/* Milliseconds a Retry-After value asks for (delta seconds or an HTTP
 * date; capped at 120 s), or -1 when V is NULL or unparsable. */
long reg_retry_after_ms(const char *v);

/* The target of a Link header's rel="next" (newly allocated) or NULL. */
char *reg_link_next(const char *link);

/* Log a progress line through the client's callback. */
void reg_client_logf(struct reg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning through the client's warn callback (else its log, prefixed
 * "warning: "). */
void reg_client_warnf(struct reg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Look HOST's credentials up once (host lock taken): a failure is kept in
 * host->creds_err, the first warning in host->creds_note (and passed on to
 * reg_client_warnf). */
void reg_host_lookup_creds(struct reg_client *c, struct reg_host *host);

/* Blob locations, for cross-repository mounts.  Note that blob DIGEST is
 * in HOST/REPO now: the registry said so (HEAD, mount, upload, download);
 * it goes to the store's record at the end of a store push or pull.
 * Hint: DIGEST was there once (an image's source annotation); used, not
 * recorded.  Find: the newest repository of HOST other than NOT_REPO
 * known to hold DIGEST (newly allocated or NULL). */
void reg_client_note_source(struct reg_client *c, const char *host, const char *repo, const char *digest);
void reg_client_hint_source(struct reg_client *c, const char *host, const char *repo, const char *digest);
char *reg_client_find_source(struct reg_client *c, const char *host, const char *not_repo, const char *digest);
/* Take in STORE's blob-location record; a garbled or unreadable one is a
 * warning, never a failure. */
void reg_client_blobinfo_load(struct reg_client *c, struct oci_store *store);
/* Add what the client noted since to STORE's record (a warning when it
 * cannot be written). */
void reg_client_blobinfo_save(struct reg_client *c, struct oci_store *store);

/* A registry repository to talk to. */
struct reg_target {
        struct oci_ref *ref;
        struct reg_host *host;
        const char *repo;          /* borrowed from ref */
        char *scope;               /* "repository:REPO:pull" or ":pull,push" */
};

/* Parse REF (Docker normalisation), find its host and ping it; PUSH asks
 * for push scope.  Clear with reg_target_clear. */
int reg_target_open(struct reg_client *c, CURL *h, const char *ref, bool push, struct reg_target *ret,
                    struct err **err);
void reg_target_clear(struct reg_target *t);

/* "BASE/v2/REPO/" followed by FMT for T. */
char *reg_target_url(const struct reg_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GET manifest REFERENCE (tag or digest) of T: body (capped at
 * LIMIT_MANIFEST_SIZE), its media type (Content-Type, else detected) and
 * its digest (verified when REFERENCE is a digest). */
int reg_fetch_manifest(struct reg_client *c, CURL *h, struct reg_target *t, const char *reference, char **ret_body,
                       size_t *ret_len, char **ret_media_type, char **ret_digest, struct err **err);

/* Resumable blob downloads into a layout (partial.c): the bytes go to
 * blobs/.tmp-pull-<alg>-<hex>, flock'ed while in use and kept when a
 * transfer fails, so a later pull re-hashes that prefix and asks for the
 * rest with Range.  Only a file whose digest and size match is renamed
 * into blobs/<alg>/<hex>. */
#define REG_PARTIAL_PREFIX OCI_LAYOUT_TMP_PREFIX "pull-"
/* A partial download untouched this long is dropped by the sweep. */
#define REG_PARTIAL_MAX_AGE (24 * 3600)
/* Other blob temp files (a writer killed mid-way) older than this too. */
#define REG_TEMP_MAX_AGE 3600

struct reg_partial {
        struct oci_layout *layout; /* borrowed */
        struct digest d;
        int64_t size;              /* expected size, -1: unknown */
        int fd;
        char *name;                /* relative to the layout dir */
        bool private_name;         /* another pull holds the shared name: ours is
                                      removed when closed */
        struct digest_ctx *ctx;    /* hash of the bytes so far */
        uint64_t got;              /* bytes so far: resume from here */
        /* With reg_partial_async: a thread of its own hashes what the
         * writes put in the file, reading it back (so that the network
         * loop does not wait for the hash, and concurrent blobs use every
         * core). */
        bool async;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        uint64_t written;          /* bytes in the file */
        uint64_t hashed;           /* bytes the thread has hashed */
        bool idle;                 /* the thread waits for more */
        bool stop;
        struct err *async_err;     /* the thread's first failure */
};

/* Open (create) the partial download of blob D (SIZE bytes, -1: unknown)
 * in LAYOUT.  A prefix left by an earlier run is re-hashed and kept in
 * ret->got (0 when there is none, or it is longer than SIZE or unreadable).
 * Close with reg_partial_close. */
int reg_partial_open(struct oci_layout *layout, const struct digest *d, int64_t size, struct reg_partial *ret,
                     struct err **err);
/* From now on hash on a thread of PA's own, which reads back what the
 * writes put in the file (PA must stay in place until reg_partial_close);
 * its failure shows on a later call.  Stays synchronous when no thread
 * can be started. */
void reg_partial_async(struct reg_partial *pa);
/* Forget the bytes so far (the server sent the whole blob again). */
int reg_partial_restart(struct reg_partial *pa, struct err **err);
/* Append LEN bytes at ret->got, hashing them; ERR_SIZE_INVALID past SIZE. */
int reg_partial_write(struct reg_partial *pa, const void *data, size_t len, struct err **err);
/* Verify digest and size (ERR_DIGEST_INVALID / ERR_SIZE_INVALID, and the
 * file is emptied), fsync and rename into blobs/<alg>/<hex>. */
int reg_partial_commit(struct reg_partial *pa, struct err **err);
/* Close; KEEP leaves a non-empty file (of the shared name) for a resume,
 * else it is removed.  Safe on a closed or zeroed-with-fd=-1 partial. */
void reg_partial_close(struct reg_partial *pa, bool keep);
/* Remove stale temp files in LAYOUT's blobs/: partial downloads not in use
 * (flock) whose blob is present or older than REG_PARTIAL_MAX_AGE, and
 * other .tmp-* files older than REG_TEMP_MAX_AGE.  *ret_removed (may be
 * NULL) counts them. */
int reg_partials_sweep(struct oci_layout *layout, time_t now, size_t *ret_removed, struct err **err);

#define REG_MANIFEST_ACCEPT                                                                                    \
        "Accept: " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_MANIFEST_LIST

#endif
