/* libmicrohttpd plumbing: daemon setup, per-request state, responses,
 * logging, metrics, upload-session table, graceful stop. */
#include "registry/server/server-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "common/utf8.h"
#include "registry/server/request.h"

static const int status_list[REG_N_STATUS - 1] = { 200, 201, 202, 204, 206, 307, 400, 401, 403,
                                                   404, 405, 413, 416, 500, 501, 503, 507 };

static int
status_slot(int status)
{
        int i;

        for (i = 0; i < REG_N_STATUS - 1; i++)
                if (status_list[i] == status)
                        return i;
        return REG_N_STATUS - 1;
}

/* ---------- responses ---------- */

struct MHD_Response *
reg_response_add_std(struct MHD_Response *resp)
{
        MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
        return resp;
}

enum MHD_Result
reg_respond(struct reg_req *r, int status, struct MHD_Response *resp)
{
        enum MHD_Result ret;

        if (!resp)
                abort();
        reg_response_add_std(resp);
        ret = MHD_queue_response(r->conn, (unsigned) status, resp);
        MHD_destroy_response(resp);
        r->status = status;
        r->responded = true;
        return ret;
}

static void
add_headers(struct MHD_Response *resp, const char *const *headers)
{
        size_t i;

        for (i = 0; headers && headers[i] && headers[i + 1]; i += 2)
                MHD_add_response_header(resp, headers[i], headers[i + 1]);
}

enum MHD_Result
reg_respond_body(struct reg_req *r, int status, const char *ct, const char *body, size_t len,
                 const char *const *headers)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, (void *) body, MHD_RESPMEM_MUST_COPY);

        if (!resp)
                abort();
        if (ct)
                MHD_add_response_header(resp, "Content-Type", ct);
        add_headers(resp, headers);
        if (r->method != M_HEAD)
                r->bytes_out += len;
        return reg_respond(r, status, resp);
}

enum MHD_Result
reg_respond_empty(struct reg_req *r, int status, const char *const *headers)
{
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);

        if (!resp)
                abort();
        add_headers(resp, headers);
        return reg_respond(r, status, resp);
}

static enum MHD_Result
respond_error_msg(struct reg_req *r, int status, const char *code, const char *msg,
                  const char *const *extra)
{
        json_t *root = json_object(), *arr = json_array(), *e = json_object(), *detail = json_object();
        char *body;
        enum MHD_Result ret;
        const char *hdrs[11] = { NULL };
        size_t nh = 0;

        json_object_set_new(e, "code", json_string(code));
        /* jansson rejects invalid UTF-8, and messages quote client input. */
        {
                _cleanup_free_ char *clean = utf8_sanitize(msg, SIZE_MAX);
                json_object_set_new(e, "message", json_string(clean));
        }
        if (r->route.name[0])
                json_object_set_new(detail, "name", json_string(r->route.name));
        if (r->route.ref[0])
                json_object_set_new(detail, "reference", json_string(r->route.ref));
        json_object_set_new(e, "detail", detail);
        json_array_append_new(arr, e);
        json_object_set_new(root, "errors", arr);
        body = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        if (!body)
                abort();
        if (status == 405) {
                hdrs[nh++] = "Allow";
                hdrs[nh++] = "GET, HEAD, PUT, POST, PATCH, DELETE";
        }
        for (size_t i = 0; extra && extra[i] && extra[i + 1] && nh + 2 < 11; i += 2) {
                hdrs[nh++] = extra[i];
                hdrs[nh++] = extra[i + 1];
        }
        ret = reg_respond_body(r, status, "application/json", body, strlen(body), hdrs);
        free(body);
        return ret;
}

enum MHD_Result
reg_respond_error(struct reg_req *r, int status, const char *code, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return respond_error_msg(r, status, code, msg, NULL);
}

enum MHD_Result
reg_respond_error_hdrs(struct reg_req *r, int status, const char *code, const char *const *headers,
                       const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return respond_error_msg(r, status, code, msg, headers);
}

static void fmt_time(char *buf, size_t len);

static int
code_status(int code)
{
        switch (code) {
        case ERR_BLOB_UNKNOWN:
        case ERR_BLOB_UPLOAD_UNKNOWN:
        case ERR_MANIFEST_UNKNOWN:
        case ERR_NAME_UNKNOWN:
        case ENOENT:
                return 404;
        case ERR_UNAUTHORIZED:
                return 401;
        case ERR_DENIED:
                return 403;
        case ERR_UNSUPPORTED:
                return 405;
        case ERR_RANGE_INVALID:
                return 416;
        case ERR_TOOMANYREQUESTS:
                return 429;
        case ERR_BLOB_UPLOAD_INVALID:
        case ERR_DIGEST_INVALID:
        case ERR_MANIFEST_BLOB_UNKNOWN:
        case ERR_MANIFEST_INVALID:
        case ERR_NAME_INVALID:
        case ERR_SIZE_INVALID:
        case ERR_TAG_INVALID:
        case ERR_REFERENCE_INVALID:
                return 400;
        case ENOSPC:
        case EDQUOT:
                return 507;
        case EMFILE:
        case ENFILE:
        case ENOMEM:
        case EAGAIN: /* the object store unreachable or failing (storage-s3.c) */
                return 503; /* out of a resource for now: worth a retry */
        default:
                return 500;
        }
}

enum MHD_Result
reg_respond_err(struct reg_req *r, struct err **err)
{
        int code = err_code(err);
        const char *name = err_code_name(code);
        int status = code_status(code);

        if (code == ERR_REFERENCE_INVALID)
                name = "MANIFEST_INVALID";
        else if (code == ERR_RANGE_INVALID)
                name = "BLOB_UPLOAD_INVALID";
        if (!name)
                name = status == 503 ? "UNAVAILABLE" : "UNKNOWN";
        if (code > 0 && code < ERR_BASE) {
                /* A system error: its message names server paths (the
                 * storage root, an upload's file), which are nobody's
                 * business but the operator's.  The log gets it all, the
                 * client the errno's text. */
                char t[80], msg[256], detail[1024];
                size_t i;

                for (i = 0; err_msg(err)[i] && i + 1 < sizeof(detail); i++) {
                        unsigned char c = (unsigned char) err_msg(err)[i];
                        detail[i] = (c < ' ' || c == 0x7f || c == '"' || c == '\\') ? '?' : (char) c;
                }
                detail[i] = '\0';
                fmt_time(t, sizeof(t));
                fprintf(r->srv->log, "time=%s error=%s remote=%s method=%s status=%d detail=\"%s\"\n",
                        t, name, r->remote, r->method_str, status, detail);
                snprintf(msg, sizeof(msg), "%s: %s",
                         status == 507 ? "registry storage is full" : "registry storage error",
                         strerror(code));
                return respond_error_msg(r, status, name, msg, NULL);
        }
        return respond_error_msg(r, status, name, err_msg(err)[0] ? err_msg(err) : name, NULL);
}

const char *
reg_header(struct reg_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
reg_query(struct reg_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---------- logging ---------- */

static void
fmt_time(char *buf, size_t len)
{
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts.tv_nsec / 1000000) % 1000);
}

/* S made safe for a key=value log line: no blanks, quotes, control or
 * non-ASCII bytes (a decoded URL may hold any of them: log injection). */
static const char *
log_safe(const char *s, char *buf, size_t len)
{
        size_t i;

        if (!s || !*s)
                return "-";
        for (i = 0; s[i] && i + 1 < len; i++) {
                unsigned char c = (unsigned char) s[i];
                buf[i] = (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char) c;
        }
        buf[i] = '\0';
        return buf;
}

void
reg_audit(struct reg_req *r, const char *action, const char *what)
{
        char t[80];

        fmt_time(t, sizeof(t));
        char user[256], obj[512];

        fprintf(r->srv->log, "time=%s audit=%s remote=%s user=%s repo=%s object=%s\n", t, action,
                r->remote, log_safe(r->user, user, sizeof(user)),
                r->route.name[0] ? r->route.name : "-", log_safe(what, obj, sizeof(obj)));
}

static void
log_request(struct reg_req *r)
{
        struct timespec t1;
        char t[80];
        double ms;

        if (!r->srv->access_log)
                return;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double) (t1.tv_sec - r->t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - r->t0.tv_nsec) / 1e6;
        char user[256], path[1100];

        fmt_time(t, sizeof(t));
        /* The path only: query strings may carry tokens. */
        fprintf(r->srv->log,
                "time=%s remote=%s user=%s method=%s path=%s route=%s status=%d bytes_in=%llu "
                "bytes_out=%llu duration_ms=%.3f\n",
                t, r->remote, log_safe(r->user, user, sizeof(user)), r->method_str,
                log_safe(r->path, path, sizeof(path)),
                reg_route_kind_name(r->route.kind), r->status, (unsigned long long) r->bytes_in,
                (unsigned long long) r->bytes_out, ms);
}

/* ---------- sessions ---------- */

int
reg_session_acquire(struct reg_server *s, const char *name, const char *uuid,
                    struct reg_session **ret)
{
        struct reg_session *e, **pp;
        time_t now = time(NULL);

        pthread_mutex_lock(&s->sess_lock);
        for (e = s->sessions; e; e = e->next)
                if (strcmp(e->uuid, uuid) == 0 && strcmp(e->name, name) == 0)
                        break;
        if (e && e->busy) {
                pthread_mutex_unlock(&s->sess_lock);
                return -EBUSY;
        }
        if (!e) {
                /* Forget idle sessions beyond a bound: they are only
                 * locks and a flag, the rest is in storage. */
                if (s->n_sessions >= 1024) {
                        for (pp = &s->sessions; *pp;) {
                                struct reg_session *x = *pp;
                                if (!x->busy && now - x->last > (time_t) s->upload_max_age) {
                                        *pp = x->next;
                                        free(x);
                                        s->n_sessions--;
                                } else {
                                        pp = &x->next;
                                }
                        }
                }
                e = xcalloc(1, sizeof(*e));
                snprintf(e->name, sizeof(e->name), "%s", name);
                snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
                e->next = s->sessions;
                s->sessions = e;
                s->n_sessions++;
        }
        e->busy = true;
        e->last = now;
        pthread_mutex_unlock(&s->sess_lock);
        *ret = e;
        return 0;
}

void
reg_session_release(struct reg_server *s, struct reg_session *sess, bool drop)
{
        struct reg_session **pp;

        if (!sess)
                return;
        pthread_mutex_lock(&s->sess_lock);
        sess->busy = false;
        sess->last = time(NULL);
        if (drop) {
                for (pp = &s->sessions; *pp; pp = &(*pp)->next)
                        if (*pp == sess) {
                                *pp = sess->next;
                                s->n_sessions--;
                                free(sess);
                                break;
                        }
        }
        pthread_mutex_unlock(&s->sess_lock);
}

/* ---------- MHD callbacks ---------- */

static enum reg_method
parse_method(const char *m)
{
        static const char *const names[] = { "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" };
        size_t i;

        for (i = 0; i < 6; i++)
                if (strcmp(m, names[i]) == 0)
                        return (enum reg_method) i;
        return M_OTHER;
}

/* With --tls-client-ca: verify the peer's certificate chain against the
 * configured CAs (MHD only asks for it) and put its subject DN in
 * r->cert_subject.  Returns false when there is no valid certificate. */
static bool
verify_client_cert(struct reg_req *r)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        gnutls_session_t sess = ci ? (gnutls_session_t) ci->tls_session : NULL;
        const gnutls_datum_t *certs;
        gnutls_x509_crt_t crt;
        unsigned status = 0, n = 0;
        size_t len = sizeof(r->cert_subject);
        bool ok = false;

        if (!sess || gnutls_certificate_verify_peers2(sess, &status) < 0 || status != 0)
                return false;
        certs = gnutls_certificate_get_peers(sess, &n);
        if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
                return false;
        if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
            gnutls_x509_crt_get_dn(crt, r->cert_subject, &len) >= 0)
                ok = true;
        gnutls_x509_crt_deinit(crt);
        if (!ok)
                r->cert_subject[0] = '\0';
        return ok;
}

/* Collects a request's header fields for reg_framing_check. */
struct header_list {
        struct reg_header_field h[LIMIT_HTTP_HEADER_FIELDS];
        size_t n;
        bool too_many;
};

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        struct header_list *l = cls;

        (void) kind;
        if (l->n == LIMIT_HTTP_HEADER_FIELDS) {
                l->too_many = true;
                return MHD_NO;
        }
        l->h[l->n++] = (struct reg_header_field){ key, value };
        return MHD_YES;
}

static const char *const CLOSE_HEADERS[] = { "Connection", "close", NULL };

/* What is checked of a request before it is routed: the connection's
 * limits, the target's escapes, the framing.  Answers (and closes) when
 * the request can't be served; false then. */
static bool
admit_request(struct reg_req *r, const char *version)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_conn *rc = reg_conn_of(r->conn);
        struct header_list hl = { .n = 0 };
        bool bad_escape = rc && rc->bad_escape;
        int status;

        if (rc)
                rc->bad_escape = false; /* per request; the next one is parsed after this */
        if (rc && rc->over_limit) {
                const char *h[] = { "Retry-After", "5", "Connection", "close", NULL };
                reg_respond_error_hdrs(r, 503, "TOOMANYREQUESTS", h,
                                       "too many connections (at most %u in all, %u from one address)",
                                       r->srv->max_conns, r->srv->max_conns_per_ip);
                return false;
        }
        if (bad_escape) {
                reg_respond_error_hdrs(r, 400, "UNSUPPORTED", CLOSE_HEADERS,
                                       "request target has an escaped control character (%%00-%%1F or %%7F)");
                return false;
        }
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, &hl);
        if (hl.too_many) {
                reg_respond_error_hdrs(r, 400, "UNSUPPORTED", CLOSE_HEADERS, "more than %d header fields",
                                       LIMIT_HTTP_HEADER_FIELDS);
                return false;
        }
        status = reg_framing_check(hl.h, hl.n, version && strcmp(version, "HTTP/1.0") == 0, &e);
        if (status != REG_FRAMING_OK) {
                reg_respond_error_hdrs(r, status, "UNSUPPORTED", CLOSE_HEADERS, "%s", err_msg(&e));
                return false;
        }
        return true;
}

/* Does the request carry a body?  (Framing is checked by then.) */
static bool
request_has_body(struct reg_req *r)
{
        const char *cl = reg_header(r, "Content-Length");
        uint64_t n;

        if (reg_header(r, "Transfer-Encoding"))
                return true;
        return cl && reg_parse_u64(cl, strlen(cl), &n) == 0 && n > 0;
}

/* Route and authorize the request (reg_handle_begin), or answer it. */
static enum MHD_Result
begin_request(struct reg_req *r)
{
        enum MHD_Result ret;

        if (r->srv->client_certs && !verify_client_cert(r))
                return reg_respond_error(r, 401, "UNAUTHORIZED",
                                         "a TLS client certificate signed by the configured CA is required");
        ret = reg_handle_begin(r);
        if (r->responded && r->sess) {
                reg_session_release(r->srv, r->sess, false);
                r->sess = NULL;
        }
        return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
        struct reg_server *srv = cls;
        struct reg_req *r = *con_cls;

        if (!r) {
                size_t ul = strlen(url);
                r = xcalloc(1, sizeof(*r));
                r->srv = srv;
                r->conn = conn;
                clock_gettime(CLOCK_MONOTONIC, &r->t0);
                r->method = parse_method(method);
                r->method_str = r->method == M_OTHER ? "OTHER" : method;
                r->path = xstrndup(url, ul > 1024 ? 1024 : ul);
                reg_client_address(conn, r->remote, sizeof(r->remote));
                atomic_fetch_add(&srv->inflight, 1);
                *con_cls = r;
                if (!admit_request(r, version))
                        return MHD_YES;
                /* An answer queued before the body is read makes
                 * libmicrohttpd close the connection (it can't know where
                 * the unread body ends).  A request without a body is
                 * answered once it is complete, so a 401 challenge or a
                 * 404 keeps the connection for the next request. */
                if (!request_has_body(r)) {
                        r->deferred = true;
                        return MHD_YES;
                }
                return begin_request(r);
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                r->bytes_in += n;
                if (r->responded)
                        return MHD_YES;
                /* A body over its cap (a chunked manifest: no length to
                 * refuse up front) is read to its end and dropped, so that
                 * the client gets its 413: libmicrohttpd can answer only
                 * before the body or after it.  The idle timeout still
                 * ends a sender that stalls. */
                reg_handle_body(r, upload_data, n);
                return MHD_YES;
        }
        if (r->deferred) {
                enum MHD_Result ret;
                r->deferred = false;
                ret = begin_request(r);
                if (r->responded)
                        return ret;
        }
        if (r->responded)
                return MHD_YES;
        {
                enum MHD_Result ret = reg_handle_finish(r);
                /* Hand the session back before the client sees the response:
                 * its next request may arrive on another connection before
                 * MHD reports this one completed. */
                if (r->writer) {
                        reg_upload_writer_close(r->writer, NULL);
                        r->writer = NULL;
                }
                if (r->sess) {
                        reg_session_release(srv, r->sess, false);
                        r->sess = NULL;
                }
                return ret;
        }
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
        struct reg_server *srv = cls;
        struct reg_req *r = *con_cls;

        if (!r)
                return;
        if (!r->responded)
                r->status = 499; /* client went away */
        /* A client gone mid-body: what came stays in the session. */
        reg_upload_writer_close(r->writer, NULL);
        if (r->sess)
                reg_session_release(srv, r->sess, false);
        atomic_fetch_add(&srv->requests[r->route.kind][status_slot(r->status)], 1);
        atomic_fetch_add(&srv->bytes_in, r->bytes_in);
        atomic_fetch_add(&srv->bytes_out, r->bytes_out);
        log_request(r);
        err_clear(&r->body_err);
        free(r->buf);
        free(r->path);
        free(r);
        *con_cls = NULL;
        atomic_fetch_sub(&srv->inflight, 1);
}

/* ---------- metrics ---------- */

char *
reg_server_metrics_text(struct reg_server *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        time_t now = time(NULL);
        int k, i;

        if (!f)
                abort();
        fputs("# HELP ireg_http_requests_total HTTP requests by route and status.\n"
              "# TYPE ireg_http_requests_total counter\n",
              f);
        for (k = 0; k < REG_ROUTE__COUNT; k++)
                for (i = 0; i < REG_N_STATUS; i++) {
                        unsigned long v = atomic_load(&s->requests[k][i]);
                        if (!v)
                                continue;
                        if (i < REG_N_STATUS - 1)
                                fprintf(f, "ireg_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
                                        reg_route_kind_name(k), status_list[i], v);
                        else
                                fprintf(f, "ireg_http_requests_total{route=\"%s\",status=\"other\"} %lu\n",
                                        reg_route_kind_name(k), v);
                }
        fprintf(f,
                "# HELP ireg_http_received_bytes_total Request body bytes received.\n"
                "# TYPE ireg_http_received_bytes_total counter\n"
                "ireg_http_received_bytes_total %lu\n"
                "# HELP ireg_http_sent_bytes_total Response body bytes sent.\n"
                "# TYPE ireg_http_sent_bytes_total counter\n"
                "ireg_http_sent_bytes_total %lu\n"
                "# HELP ireg_upload_sessions_open Upload sessions started and not yet finished.\n"
                "# TYPE ireg_upload_sessions_open gauge\n"
                "ireg_upload_sessions_open %ld\n"
                "# HELP ireg_http_requests_in_flight Requests being served.\n"
                "# TYPE ireg_http_requests_in_flight gauge\n"
                "ireg_http_requests_in_flight %d\n",
                atomic_load(&s->bytes_in), atomic_load(&s->bytes_out), atomic_load(&s->uploads_open),
                atomic_load(&s->inflight));
        /* Walking the blob store costs a directory scan: cache it briefly. */
        pthread_mutex_lock(&s->usage_lock);
        if (now - s->usage_time >= 15) {
                uint64_t bytes;
                if (s->store->ops->blob_usage(s->store, &bytes, NULL) == 0) {
                        s->usage_bytes = bytes;
                        s->usage_time = now;
                }
        }
        fprintf(f,
                "# HELP ireg_storage_used_bytes Bytes of blob data stored.\n"
                "# TYPE ireg_storage_used_bytes gauge\n"
                "ireg_storage_used_bytes %llu\n",
                (unsigned long long) s->usage_bytes);
        pthread_mutex_unlock(&s->usage_lock);
        fclose(f);
        return buf;
}

/* libmicrohttpd's own diagnostics (malformed requests, TLS handshake
 * failures) as log lines of ours. */
static void mhd_logger(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
        struct reg_server *s = cls;
        char msg[512], t[80];
        size_t n;

        vsnprintf(msg, sizeof(msg), fmt, ap);
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
                msg[--n] = '\0';
        fmt_time(t, sizeof(t));
        fprintf(s->log, "time=%s level=warning source=http msg=\"%s\"\n", t, msg);
}

/* ---------- start / stop ---------- */

static int
parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, struct err **err)
{
        _cleanup_free_ char *host = NULL;
        const char *colon, *port;
        struct addrinfo hints = { 0 }, *res = NULL;
        int r;

        if (!addr || !*addr)
                addr = "127.0.0.1:5000";
        if (addr[0] == '[') {
                const char *close_br = strchr(addr, ']');
                if (!close_br || close_br[1] != ':')
                        return err_set(err, EINVAL, "address '%s': want [IPv6]:PORT", addr);
                host = xstrndup(addr + 1, (size_t) (close_br - addr - 1));
                port = close_br + 2;
        } else {
                colon = strrchr(addr, ':');
                if (!colon)
                        return err_set(err, EINVAL, "address '%s': want HOST:PORT", addr);
                host = xstrndup(addr, (size_t) (colon - addr));
                port = colon + 1;
        }
        if (!*port)
                return err_set(err, EINVAL, "address '%s': missing port", addr);
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        hints.ai_socktype = SOCK_STREAM;
        r = getaddrinfo(*host ? host : NULL, port, &hints, &res);
        if (r != 0)
                return err_set(err, EINVAL, "address '%s': %s", addr, gai_strerror(r));
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *sslen = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}

/* Connections taken past max_conns only to be answered 503. */
static unsigned
over_limit_room(unsigned max_conns)
{
        return max_conns / 8 > 16 ? max_conns / 8 : 16;
}

/* Files kept for everything but connections: the listener, logs, the
 * store's own files, the sender's epoll sets, TLS, libc. */
#define FD_RESERVE 64

/* Set S's connection limits from CFG so that every connection can hold its
 * socket and a blob or upload file at once without running out of file
 * descriptors (RLIMIT_NOFILE), with FD_RESERVE left for the rest. */
static int
connection_budget(const struct reg_server_config *cfg, struct reg_server *s, struct err **err)
{
        struct rlimit rl;
        uint64_t files, need;
        unsigned max = cfg->max_conns ? cfg->max_conns : REG_DEFAULT_MAX_CONNS;

        s->max_conns_per_ip = cfg->max_conns_per_ip ? cfg->max_conns_per_ip : REG_DEFAULT_MAX_CONNS_PER_IP;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                rl.rlim_cur = 1u << 20;
        files = rl.rlim_cur;
        need = (uint64_t) max * 2 + over_limit_room(max) + FD_RESERVE;
        if (need > files) {
                if (cfg->max_conns)
                        return err_set(err, EINVAL,
                                       "--max-conns %u needs %llu open files, but the limit is %llu "
                                       "(raise it with ulimit -n, or lower --max-conns)",
                                       max, (unsigned long long) need, (unsigned long long) files);
                /* The default, on a small limit: as many as fit. */
                max = files > FD_RESERVE + 16 + 32 ? (unsigned) ((files - FD_RESERVE - 16) * 8 / 17) : 16;
        }
        s->max_conns = max;
        if (s->max_conns_per_ip > s->max_conns)
                s->max_conns_per_ip = s->max_conns;
        return 0;
}

struct reg_server *
reg_server_start(const struct reg_server_config *cfg, struct err **err)
{
        struct reg_server *s;
        struct sockaddr_storage ss;
        socklen_t sslen;
        /* poll, not epoll: libmicrohttpd 0.9.75's edge-triggered epoll
         * takes a short read as "nothing more to read", so a client's FIN
         * that arrives with the last bytes of its request is never seen and
         * the connection (and an upload's fd) stays until the timeout;
         * thousands of those exhausted the fds.  poll is level-triggered. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG;
        unsigned threads = cfg->threads;
        unsigned idle_timeout = cfg->idle_timeout ? cfg->idle_timeout : 300;
        struct MHD_OptionItem opts[20];
        size_t no = 0;
        const union MHD_DaemonInfo *di;
        long ncpu;

        if (parse_addr(cfg->addr, &ss, &sslen, err) < 0) {
                reg_store_free(cfg->store);
                return NULL;
        }
        s = xcalloc(1, sizeof(*s));
        s->store = cfg->store ? cfg->store : reg_store_new(&(struct reg_store_config){ .root = cfg->root }, err);
        if (!s->store) {
                free(s);
                return NULL;
        }
        s->auth = cfg->auth;
        s->policy = cfg->policy;
        s->log = cfg->log ? cfg->log : stderr;
        s->access_log = !cfg->no_access_log;
        s->upload_max_age = cfg->upload_max_age ? cfg->upload_max_age : 600;
        s->chunk_min_length = cfg->chunk_min_length;
        pthread_mutex_init(&s->sess_lock, NULL);
        pthread_mutex_init(&s->usage_lock, NULL);

        if (!threads) {
                ncpu = sysconf(_SC_NPROCESSORS_ONLN);
                threads = ncpu > 0 ? (unsigned) ncpu * 2 : 4;
                if (threads < 4)
                        threads = 4;
        }
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (connection_budget(cfg, s, err) < 0)
                goto fail;
        s->conns = reg_conns_new(s->max_conns, s->max_conns_per_ip);
        /* The logger first: libmicrohttpd reports options before it with
         * its own logger (and says so on every start). */
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t) mhd_logger, s };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, threads, NULL };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) on_completed, s };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) reg_on_connection, s };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t) reg_unescape_cb, s };
        /* Past max_conns a connection is still taken, to be told 503;
         * past this MHD refuses it outright. */
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
                                              s->max_conns + over_limit_room(s->max_conns), NULL };
        /* The connection pool bounds MHD's read buffer, so it sets how much
         * of an upload each recv() and write() moves (~117 KiB here, strace
         * -c).  1 MiB cut those calls 4x but made no measurable throughput
         * difference on a loaded 2-core machine, while peak RSS over the
         * benchmark (wrk -c64 included) tripled, 24 -> 72 MiB, presumably as
         * MHD sizes each connection's read buffer from the pool.  Keep
         * 256 KiB. */
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL };
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout, NULL };
        if (cfg->tls_cert_pem || cfg->tls_key_pem) {
                if (!cfg->tls_cert_pem || !cfg->tls_key_pem) {
                        err_set(err, EINVAL, "TLS needs both a certificate and a key");
                        goto fail;
                }
                s->cert_pem = xstrdup(cfg->tls_cert_pem);
                s->key_pem = xstrdup(cfg->tls_key_pem);
                flags |= MHD_USE_TLS;
                s->tls = true;
                opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem };
                opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem };
                if (cfg->tls_client_ca_pem) {
                        s->ca_pem = xstrdup(cfg->tls_client_ca_pem);
                        s->client_certs = true;
                        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, s->ca_pem };
                }
        } else if (cfg->tls_client_ca_pem) {
                err_set(err, EINVAL, "client certificates (--tls-client-ca) need TLS (--tls-cert/--tls-key)");
                goto fail;
        }
        opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

        /* sendfile can't go through TLS (no kernel TLS in libmicrohttpd). */
        if (!s->tls) {
                ncpu = sysconf(_SC_NPROCESSORS_ONLN);
                s->sender = reg_sender_start(ncpu > 4 ? 4 : ncpu > 0 ? (unsigned) ncpu : 1, idle_timeout,
                                             err);
                if (!s->sender)
                        goto fail;
        }
        s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                                  MHD_OPTION_END);
        if (!s->mhd) {
                err_set(err, EADDRINUSE, "cannot listen on %s (address in use, bad TLS key/certificate, "
                        "or no permission)", cfg->addr ? cfg->addr : "127.0.0.1:5000");
                goto fail;
        }
        di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
        s->port = di ? di->port : 0;
        return s;
fail:
        reg_conns_free(s->conns);
        reg_sender_free(s->sender);
        reg_store_free(s->store);
        free(s->cert_pem);
        free(s->key_pem);
        free(s->ca_pem);
        free(s);
        return NULL;
}

uint16_t
reg_server_port(const struct reg_server *s)
{
        return s->port;
}

void
reg_server_stop(struct reg_server *s, unsigned drain_seconds)
{
        struct reg_session *e;
        unsigned waited = 0;
        int fd;

        if (!s)
                return;
        /* Stop accepting, let requests in flight finish (idle keep-alive
         * connections do not count), then close everything. */
        fd = MHD_quiesce_daemon(s->mhd);
        if (fd >= 0)
                close(fd);
        while (atomic_load(&s->inflight) > 0 && waited < drain_seconds * 10) {
                usleep(100 * 1000);
                waited++;
        }
        /* MHD must not be stopped with connections suspended; until it is,
         * its threads may still look at the (stopped) sender. */
        reg_sender_stop(s->sender);
        MHD_stop_daemon(s->mhd);
        reg_sender_free(s->sender);
        while ((e = s->sessions)) {
                s->sessions = e->next;
                free(e);
        }
        reg_store_free(s->store);
        reg_conns_free(s->conns);
        pthread_mutex_destroy(&s->sess_lock);
        pthread_mutex_destroy(&s->usage_lock);
        free(s->cert_pem);
        free(s->key_pem);
        free(s->ca_pem);
        free(s);
}
