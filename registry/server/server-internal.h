/* Shared between the server's plumbing (server.c) and its endpoint
 * handlers (handlers*.c).  Not a public API. */
#ifndef REGISTRY_SERVER_SERVER_INTERNAL_H
#define REGISTRY_SERVER_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "digest/digest.h"
#include "registry/server/route.h"
#include "registry/server/server.h"
#include "registry/server/storage.h"

#define REG_N_STATUS 18

/* What this process keeps of an upload session while requests use it:
 * that one does (the bytes and their running hash are the driver's, with
 * the session, so any process can continue it). */
struct reg_session {
        struct reg_session *next;
        char name[LIMIT_REF_NAME + 1];
        char uuid[REG_UUID_LEN + 1];
        bool busy;               /* a request is using it */
        /* The last PATCH was shorter than the server's chunk minimum, so it
         * must have been the final chunk: more data is refused.  Memory
         * only (a restart forgets it and is lenient). */
        bool short_chunk;
        time_t last;
};

/* --- blob bodies sent with sendfile (sender.c) --- */
struct reg_sender;

/* One body to send: bytes [off, end) of FD to connection CONN, whose
 * response headers are already sent.  Owned by the caller (the response);
 * the sender uses it only while the connection is suspended. */
struct reg_send_job {
        struct reg_send_job *next;
        struct MHD_Connection *conn;
        int fd;
        off_t off, end;
        int sock;
        time_t last;       /* last progress */
        atomic_int result; /* 0 sending, 1 sent, -1 failed */
};

/* THREADS sender threads (at least one); a transfer that makes no progress
 * for IDLE_TIMEOUT seconds fails. */
struct reg_sender *reg_sender_start(unsigned threads, unsigned idle_timeout, struct err **err);
/* Fails the transfers still running (their connections are resumed and
 * then dropped by MHD) and joins the threads.  S stays valid: MHD may go on
 * serving until it is stopped, and reg_sender_queue then returns -1.  NULL
 * is a no-op. */
void reg_sender_stop(struct reg_sender *s);
/* Stops S if needed and frees it: only once MHD is stopped.  NULL is a
 * no-op. */
void reg_sender_free(struct reg_sender *s);
/* From the response's read callback, on its first call: suspends J's
 * connection and sends the body; the connection is resumed with
 * J->result set.  -1 (nothing done, connection not suspended) when the
 * sender is stopping or the socket can't be used: send the usual way. */
int reg_sender_queue(struct reg_sender *s, struct reg_send_job *j);

/* --- connections (conn.c) --- */
#define REG_IP_MAX 64 /* an IPv6 address as text, with room */

/* What the server keeps of one TCP connection (MHD's socket context). */
struct reg_conn {
        char ip[REG_IP_MAX];
        bool over_limit; /* past --max-conns or --max-conns-per-ip: answer 503 */
        bool bad_escape; /* this request's target escaped a control byte */
};

/* Open connections, in total and per client address. */
struct reg_conns;
/* Limits of 0 mean none. */
struct reg_conns *reg_conns_new(unsigned max_total, unsigned max_per_ip);
void reg_conns_free(struct reg_conns *c);
/* MHD_OPTION_NOTIFY_CONNECTION callback (CLS is the server): counts the
 * connection and gives it a struct reg_conn. */
void reg_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* CONN's struct reg_conn, or NULL. */
struct reg_conn *reg_conn_of(struct MHD_Connection *conn);
/* MHD_OPTION_UNESCAPE_CALLBACK: reg_target_unescape, noting a control
 * byte in the connection's bad_escape. */
size_t reg_unescape_cb(void *cls, struct MHD_Connection *conn, char *s);
/* CONN's peer address as text ("-" when unknown). */
void reg_client_address(struct MHD_Connection *conn, char *buf, size_t len);

struct reg_server {
        struct MHD_Daemon *mhd;
        struct reg_conns *conns;
        struct reg_sender *sender; /* NULL with TLS */
        struct reg_store *store;
        struct reg_auth *auth;
        struct reg_policy *policy; /* NULL: none (the caller's) */
        FILE *log;
        bool access_log;
        bool tls;
        bool client_certs;
        uint16_t port;
        unsigned max_conns, max_conns_per_ip;
        unsigned upload_max_age;
        uint64_t chunk_min_length;
        char *cert_pem, *key_pem, *ca_pem;

        pthread_mutex_t sess_lock;
        struct reg_session *sessions;
        size_t n_sessions;

        atomic_int inflight;
        /* metrics */
        atomic_ulong requests[REG_ROUTE__COUNT][REG_N_STATUS];
        atomic_ulong bytes_in, bytes_out;
        atomic_long uploads_open;
        pthread_mutex_t usage_lock;
        uint64_t usage_bytes;
        time_t usage_time;
};

enum reg_body_mode {
        REG_BODY_NONE,    /* discard anything sent */
        REG_BODY_BUFFER,  /* keep in memory (manifests), capped */
        REG_BODY_UPLOAD,  /* stream into an upload session's writer */
};

enum reg_method { M_GET, M_HEAD, M_PUT, M_POST, M_PATCH, M_DELETE, M_OTHER };

/* Per-request state (MHD's con_cls). */
struct reg_req {
        struct reg_server *srv;
        struct MHD_Connection *conn;
        struct reg_route route;
        bool route_invalid; /* the path names an endpoint but a part is malformed */
        enum reg_method method;
        const char *method_str;
        char *path;
        char remote[REG_IP_MAX];
        char user[256];
        char cert_subject[512]; /* verified TLS client certificate DN, or "" */
        struct timespec t0;
        int status;
        uint64_t bytes_in, bytes_out;
        bool responded;
        bool deferred; /* no body: routed once the request is complete */

        enum reg_body_mode body;
        char *buf;
        size_t len, cap, buf_alloc;
        bool too_large;

        struct reg_session *sess;
        struct reg_upload_writer *writer; /* NULL: no body (yet) */
        uint64_t upload_start;            /* the session's size before this request */
        bool have_range_end;
        uint64_t range_end;
        struct err *body_err;
        bool monolithic;        /* POST ?digest= */
        char digest_q[DIGEST_STR_MAX + 8];
};

/* --- responses (server.c) --- */
enum MHD_Result reg_respond(struct reg_req *r, int status, struct MHD_Response *resp);
/* A JSON/text body response with Content-Type CT. */
enum MHD_Result reg_respond_body(struct reg_req *r, int status, const char *ct, const char *body,
                                 size_t len, const char *const *headers);
/* The spec error body for ERR's code (status chosen from the code). */
enum MHD_Result reg_respond_err(struct reg_req *r, struct err **err);
/* The spec error body for an explicit status and code name. */
enum MHD_Result reg_respond_error(struct reg_req *r, int status, const char *code,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with extra headers HEADERS (NAME, VALUE, ..., NULL; at most
 * four pairs), e.g. WWW-Authenticate. */
enum MHD_Result reg_respond_error_hdrs(struct reg_req *r, int status, const char *code,
                                       const char *const *headers, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* An empty response with headers (NAME, VALUE, ..., NULL). */
enum MHD_Result reg_respond_empty(struct reg_req *r, int status, const char *const *headers);
struct MHD_Response *reg_response_add_std(struct MHD_Response *resp);
const char *reg_header(struct reg_req *r, const char *name);
const char *reg_query(struct reg_req *r, const char *name);
void reg_audit(struct reg_req *r, const char *action, const char *what);

/* Prometheus text exposition of the server's counters (newly allocated). */
char *reg_server_metrics_text(struct reg_server *s);

/* --- sessions (server.c) --- */
/* Take session NAME/UUID for exclusive use (creating the entry); -EBUSY
 * when another request holds it. */
int reg_session_acquire(struct reg_server *s, const char *name, const char *uuid,
                        struct reg_session **ret);
void reg_session_release(struct reg_server *s, struct reg_session *sess, bool drop);

/* --- handlers (handlers.c, the rest in handlers-internal.h) --- */
/* First call: headers known.  Either queues a response (r->responded) or
 * prepares r->body for the request body. */
enum MHD_Result reg_handle_begin(struct reg_req *r);
/* A piece of the request body. */
void reg_handle_body(struct reg_req *r, const char *data, size_t len);
/* The whole request is in: respond. */
enum MHD_Result reg_handle_finish(struct reg_req *r);
/* Auth decision for the request's route; queues a 401/403 and returns
 * false when denied. */
bool reg_authorize(struct reg_req *r, const char *repo, unsigned actions, bool *ret_responded);

#endif
