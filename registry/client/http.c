/* The client's HTTP transport on libcurl: one attempt, authentication from
 * the registry's challenge, manual redirects, retries with backoff. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/client/client-internal.h"
#include "registry/common/range.h"
#include "registry/common/token.h"

#define MAX_REDIRECTS 5
#define BACKOFF_MAX_MS 10000
#define RETRY_AFTER_MAX_S 120

void
reg_resp_clear(struct reg_resp *r)
{
        if (!r)
                return;
        free(r->body);
        free(r->content_type);
        free(r->location);
        free(r->docker_digest);
        free(r->range);
        free(r->content_range);
        free(r->link);
        free(r->retry_after);
        free(r->www_authenticate);
        free(r->oci_subject);
        free(r->url);
        free(r->request);
        memset(r, 0, sizeof(*r));
}

/* Forget what a previous attempt received (keeps request). */
static void
resp_reset(struct reg_resp *r)
{
        char *request = r->request;
        r->request = NULL;
        reg_resp_clear(r);
        r->request = request;
        r->content_length = -1;
}

/* ---- one attempt -------------------------------------------------------- */

struct xfer {
        struct reg_req *req;
        struct reg_resp *resp;
        CURL *h;
        const char *url;           /* borrowed for the transfer's life */
        size_t body_alloc;
        const struct reg_body *body;
        struct err *sink_err;
        bool header_overflow;
        bool body_overflow;
        uint64_t sent;             /* body bytes handed to curl */
        struct curl_slist *hdrs;   /* request headers, alive during the transfer */
        char *auth_line;           /* a secret */
        char *range_line;
        char *ct_line;
        char errbuf[CURL_ERROR_SIZE];
};

static char *
header_value(const char *line, size_t len, size_t name_len)
{
        const char *v = line + name_len;
        const char *end = line + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        return xstrndup(v, (size_t) (end - v));
}

static bool
header_is(const char *line, size_t len, const char *name)
{
        size_t n = strlen(name);
        return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

static void
set_header(char **slot, const char *line, size_t len, const char *name)
{
        free(*slot);
        *slot = header_value(line, len, strlen(name) + 1);
}

/* A numeric header's value: a strict decimal (no sign, no blanks inside,
 * no trailing text), -1 when it is not one or is past INT64_MAX. */
static int64_t
header_number(const char *line, size_t len, const char *name)
{
        _cleanup_free_ char *v = header_value(line, len, strlen(name) + 1);
        uint64_t n;

        if (reg_parse_u64(v, strlen(v), &n) < 0 || n > INT64_MAX)
                return -1;
        return (int64_t) n;
}

void
reg_resp_add_header(struct reg_resp *r, const char *line, size_t len)
{
        if (header_is(line, len, "Content-Type"))
                set_header(&r->content_type, line, len, "Content-Type");
        else if (header_is(line, len, "Location"))
                set_header(&r->location, line, len, "Location");
        else if (header_is(line, len, "Docker-Content-Digest"))
                set_header(&r->docker_digest, line, len, "Docker-Content-Digest");
        else if (header_is(line, len, "Range"))
                set_header(&r->range, line, len, "Range");
        else if (header_is(line, len, "Content-Range"))
                set_header(&r->content_range, line, len, "Content-Range");
        else if (header_is(line, len, "Link"))
                set_header(&r->link, line, len, "Link");
        else if (header_is(line, len, "Retry-After"))
                set_header(&r->retry_after, line, len, "Retry-After");
        else if (header_is(line, len, "OCI-Subject"))
                set_header(&r->oci_subject, line, len, "OCI-Subject");
        else if (header_is(line, len, "WWW-Authenticate")) {
                /* Several headers: keep them comma-joined, as RFC 9110 allows. */
                _cleanup_free_ char *v = header_value(line, len, strlen("WWW-Authenticate") + 1);
                if (r->www_authenticate) {
                        char *j = xasprintf("%s, %s", r->www_authenticate, v);
                        free(r->www_authenticate);
                        r->www_authenticate = j;
                } else {
                        r->www_authenticate = steal_ptr(&v);
                }
        } else if (header_is(line, len, "OCI-Chunk-Min-Length")) {
                r->chunk_min = header_number(line, len, "OCI-Chunk-Min-Length");
                if (r->chunk_min < 0)
                        r->chunk_min = 0;
        } else if (header_is(line, len, "Content-Length")) {
                r->content_length = header_number(line, len, "Content-Length");
        }
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct xfer *x = userdata;
        struct reg_resp *r = x->resp;
        size_t len = size * nitems;

        if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                /* A new response (after 100 Continue): forget the old headers. */
                resp_reset(r);
                x->body_alloc = 0;
                x->header_overflow = false;
        }
        r->header_bytes += len;
        if (len > LIMIT_HTTP_HEADER || r->header_bytes > LIMIT_HTTP_HEADERS) {
                x->header_overflow = true;
                return 0;
        }
        reg_resp_add_header(r, buf, len);
        return len;
}

static size_t
on_body(char *buf, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        struct reg_resp *r = x->resp;
        size_t len = size * nmemb;
        long status = 0;

        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        r->status = status;
        if (status >= 200 && status < 300 && x->req->sink) {
                if (!x->req->sink(buf, len, status, x->req->userdata, &x->sink_err))
                        return 0;
                return len;
        }
        size_t cap = status >= 200 && status < 300 && x->req->cap ? x->req->cap : LIMIT_HTTP_ERROR_BODY;
        if (r->body_len + len > cap) {
                if (status >= 200 && status < 300) {
                        x->body_overflow = true;
                        return 0;
                }
                /* An error body: keep its start for the message. */
                len = cap - r->body_len;
                if (len == 0)
                        return size * nmemb;
        }
        if (r->body_len + len + 1 > x->body_alloc) {
                size_t n = x->body_alloc ? x->body_alloc * 2 : 4096;
                while (n < r->body_len + len + 1)
                        n *= 2;
                r->body = xrealloc(r->body, n);
                x->body_alloc = n;
        }
        memcpy(r->body + r->body_len, buf, len);
        r->body_len += len;
        r->body[r->body_len] = '\0';
        return size * nmemb;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct xfer *x = userdata;
        const struct reg_body *b = x->body;
        size_t want = size * nitems;
        uint64_t total = b->fd >= 0 ? b->size : b->len;

        if (x->sent >= total)
                return 0;
        if (want > total - x->sent)
                want = (size_t) (total - x->sent);
        if (b->fd < 0) {
                memcpy(buf, (const char *) b->data + x->sent, want);
                x->sent += want;
                return want;
        }
        ssize_t n;
        do
                n = pread(b->fd, buf, want, b->offset + (off_t) x->sent);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return CURL_READFUNC_ABORT;
        x->sent += (uint64_t) n;
        return (size_t) n;
}

static int
on_seek(void *userdata, curl_off_t offset, int origin)
{
        struct xfer *x = userdata;
        if (origin != SEEK_SET || offset < 0)
                return CURL_SEEKFUNC_CANTSEEK;
        x->sent = (uint64_t) offset;
        return CURL_SEEKFUNC_OK;
}

/* Load the TLS material for HOST: CA certificates (*.crt) on top of the
 * system bundle, and a client pair (*.cert + *.key of the same stem). */
void
reg_host_load_certs(struct reg_client *c, struct reg_host *host)
{
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        const char *dir = c->cert_dir;
        if (!dir) {
                struct stat st;
                d1 = xasprintf("/etc/containers/certs.d/%s", host->host);
                d2 = xasprintf("/etc/docker/certs.d/%s", host->host);
                if (stat(d1, &st) == 0 && S_ISDIR(st.st_mode))
                        dir = d1;
                else if (stat(d2, &st) == 0 && S_ISDIR(st.st_mode))
                        dir = d2;
                else
                        return;
        }
        _cleanup_closedir_ DIR *dh = opendir(dir);
        if (!dh)
                return;
        char *pem = NULL;
        size_t pem_len = 0;
        struct dirent *de;
        while ((de = readdir(dh))) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
                if (n > 4 && strcmp(de->d_name + n - 4, ".crt") == 0) {
                        _cleanup_free_ char *data = NULL;
                        size_t len;
                        struct err *e = NULL;
                        if (fs_read_file(path, LIMIT_JSON_SIZE, &data, &len, &e) < 0) {
                                err_clear(&e);
                                continue;
                        }
                        pem = xrealloc(pem, pem_len + len + 2);
                        memcpy(pem + pem_len, data, len);
                        pem_len += len;
                        pem[pem_len++] = '\n';
                        pem[pem_len] = '\0';
                } else if (n > 5 && strcmp(de->d_name + n - 5, ".cert") == 0) {
                        _cleanup_free_ char *key = xasprintf("%s/%.*s.key", dir, (int) (n - 5), de->d_name);
                        if (access(key, R_OK) == 0) {
                                free(host->client_cert);
                                free(host->client_key);
                                host->client_cert = steal_ptr(&path);
                                host->client_key = steal_ptr(&key);
                        }
                }
        }
        if (pem) {
                /* Add the system roots so a cert dir only adds trust. */
                static const char *const bundles[] = {"/etc/ssl/certs/ca-certificates.crt",
                                                      "/etc/pki/tls/certs/ca-bundle.crt", NULL};
                for (size_t i = 0; bundles[i]; i++) {
                        _cleanup_free_ char *data = NULL;
                        size_t len;
                        struct err *e = NULL;
                        if (fs_read_file(bundles[i], LIMIT_JSON_SIZE, &data, &len, &e) < 0) {
                                err_clear(&e);
                                continue;
                        }
                        pem = xrealloc(pem, pem_len + len + 2);
                        memcpy(pem + pem_len, data, len);
                        pem_len += len;
                        pem[pem_len++] = '\n';
                        pem[pem_len] = '\0';
                        break;
                }
                host->ca_blob = pem;
                host->ca_len = pem_len;
        }
}

static bool
is_transient_curl(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* Set up H for one request/response on URL (X must stay in place until
 * xfer_end): curl_easy_perform it, or run it in a multi handle. */
static void
xfer_begin(struct reg_client *c, CURL *h, struct reg_host *host, struct reg_req *req, const char *url,
           const char *authorization, struct reg_resp *resp, struct xfer *x)
{
        memset(x, 0, sizeof(*x));
        x->req = req;
        x->resp = resp;
        x->h = h;
        x->url = url;
        resp_reset(resp);
        free(resp->request);
        resp->request = xasprintf("%s %s", req->method, url);

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "ipull/0.1 (ibuild)");
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        /* Abort a stalled transfer (under 1 byte/s for 60 s) so retries run. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        /* Bigger reads and writes for blob bodies: fewer callbacks and syscalls. */
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
        if (c->tls_verify_disable) {
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (host && host->ca_blob) {
                struct curl_blob blob = {.data = host->ca_blob, .len = host->ca_len, .flags = CURL_BLOB_NOCOPY};
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (host && host->client_cert) {
                curl_easy_setopt(h, CURLOPT_SSLCERT, host->client_cert);
                curl_easy_setopt(h, CURLOPT_SSLKEY, host->client_key);
        }

        if (strcmp(req->method, "HEAD") == 0) {
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(req->method, "GET") != 0) {
                static const struct reg_body empty = {.fd = -1};
                const struct reg_body *b = req->body ? req->body : &empty;
                x->body = b;
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, x);
                curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
                curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                                 (curl_off_t) (b->fd >= 0 ? b->size : b->len));
                x->hdrs = curl_slist_append(x->hdrs, "Expect:");
                x->ct_line = xasprintf("Content-Type: %s",
                                       req->content_type ? req->content_type : "application/octet-stream");
                x->hdrs = curl_slist_append(x->hdrs, x->ct_line);
        }
        for (size_t i = 0; i < 8 && req->headers[i]; i++)
                x->hdrs = curl_slist_append(x->hdrs, req->headers[i]);
        if (req->range) {
                x->range_line = xasprintf("Range: %s", req->range);
                x->hdrs = curl_slist_append(x->hdrs, x->range_line);
        }
        if (authorization) {
                x->auth_line = xasprintf("Authorization: %s", authorization);
                x->hdrs = curl_slist_append(x->hdrs, x->auth_line);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
}

/* Finish the transfer X set up, which ended with CC.  Returns 0 with its
 * response filled (any status), or a negative error; *ret_transient tells
 * whether retrying may help. */
static int
xfer_end(struct xfer *x, CURLcode cc, bool *ret_transient, struct err **err)
{
        CURL *h = x->h;
        struct reg_req *req = x->req;
        struct reg_resp *resp = x->resp;

        *ret_transient = false;
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(x->hdrs);
        x->hdrs = NULL;
        if (x->auth_line)
                explicit_bzero(x->auth_line, strlen(x->auth_line));
        free(x->auth_line);
        free(x->range_line);
        free(x->ct_line);
        x->auth_line = x->range_line = x->ct_line = NULL;

        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        resp->status = status;
        free(resp->url);
        resp->url = xstrdup(x->url);

        if (x->sink_err) {
                int code = x->sink_err->code;
                err_set(err, code, "%s: %s", resp->request, x->sink_err->msg);
                err_clear(&x->sink_err);
                /* A write error of ours is not the network's fault, but a
                 * short/overlong body is (the digest check decides later). */
                return -code;
        }
        if (x->header_overflow)
                return err_set(err, ERR_HTTP, "%s: response headers over %d bytes", resp->request,
                               LIMIT_HTTP_HEADERS);
        if (x->body_overflow)
                return err_set(err, ERR_SIZE_INVALID, "%s: response body over %zu bytes", resp->request,
                               req->cap);
        if (cc != CURLE_OK) {
                resp->curl_code = (int) cc;
                *ret_transient = is_transient_curl(cc);
                return err_set(err, EIO, "%s: %s", resp->request, x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        }
        return 0;
}

/* ---- authentication ------------------------------------------------------ */

struct creds_warn_ctx {
        struct reg_client *c;
        struct reg_host *host;
};

static void
creds_warn(const char *msg, void *userdata)
{
        struct creds_warn_ctx *w = userdata;
        if (!w->host->creds_note)
                w->host->creds_note = xstrdup(msg);
        reg_client_warnf(w->c, "%s", msg);
}

/* Host lock held. */
static void
host_lookup_creds(struct reg_client *c, struct reg_host *host)
{
        if (host->creds_done)
                return;
        struct creds_warn_ctx w = {.c = c, .host = host};
        struct reg_creds_opts o = {.creds = c->creds, .authfile = c->authfile, .warn = creds_warn, .warn_data = &w};
        struct err *e = NULL;
        if (reg_creds_lookup(host->cred_host, &o, &host->creds, &e) < 0) {
                /* A broken helper or file: report it when auth is needed. */
                err_set(&host->creds_err, err_code(&e), "credentials for %s: %s", host->cred_host, err_msg(&e));
                err_clear(&e);
                host->creds = NULL;
        }
        host->creds_done = true;
}

void
reg_host_lookup_creds(struct reg_client *c, struct reg_host *host)
{
        pthread_mutex_lock(&host->lock);
        host_lookup_creds(c, host);
        pthread_mutex_unlock(&host->lock);
}

/* What a refusal's message adds about the credentials: nothing when some
 * were sent (the registry's words say it), else that none were found, with
 * the lookup's warning or failure.  Host lock held. */
static void
auth_hint_locked(struct reg_host *host, char *buf, size_t len)
{
        buf[0] = '\0';
        if (!host->creds_done || host->creds)
                return;
        if (host->creds_err)
                snprintf(buf, len, "; %s", err_msg(&host->creds_err));
        else
                snprintf(buf, len, "; no credentials were found for %s%s%s%s", host->cred_host,
                         host->creds_note ? " (warning: " : "", host->creds_note ? host->creds_note : "",
                         host->creds_note ? ")" : "");
}

static void
token_cache_put(struct reg_host *host, const char *scope, char *token, time_t expires)
{
        for (struct reg_token_entry *t = host->tokens; t; t = t->next)
                if (strcmp(t->scope, scope) == 0) {
                        explicit_bzero(t->token, strlen(t->token));
                        free(t->token);
                        t->token = token;
                        t->expires = expires;
                        return;
                }
        struct reg_token_entry *t = xcalloc(1, sizeof(*t));
        t->scope = xstrdup(scope);
        t->token = token;
        t->expires = expires;
        t->next = host->tokens;
        host->tokens = t;
}

static const char *
token_cache_get(struct reg_host *host, const char *scope)
{
        time_t now = time(NULL);
        for (struct reg_token_entry *t = host->tokens; t; t = t->next)
                /* Renew a little before the expiry so a token does not lapse mid-request. */
                if (strcmp(t->scope, scope) == 0 && t->expires > now + 10)
                        return t->token;
        return NULL;
}

/* Fetch a token for SCOPE (space-separated) from the host's Bearer
 * challenge; caches it.  Host lock held. */
static int
fetch_token(struct reg_client *c, CURL *h, struct reg_host *host, const char *scope, struct err **err)
{
        const struct reg_challenge *bearer = reg_challenges_find(host->challenges, "Bearer");
        struct reg_token_request treq = {0};
        struct reg_resp resp = {.content_length = -1};
        _cleanup_free_ char *scopes_buf = NULL;
        const char *scopes[8];
        size_t n = 0;
        int r;

        if (!bearer)
                return err_set(err, ERR_UNAUTHORIZED, "registry %s: no Bearer challenge", host->host);
        host_lookup_creds(c, host);
        if (host->creds_err)
                return err_set(err, err_code(&host->creds_err), "%s", err_msg(&host->creds_err));
        if (scope) {
                scopes_buf = xstrdup(scope);
                char *save = NULL;
                for (char *s = strtok_r(scopes_buf, " ", &save); s && n < 8; s = strtok_r(NULL, " ", &save))
                        scopes[n++] = s;
        }
        r = reg_token_request_build(bearer, n ? scopes : NULL, n, host->creds, "ibuild", &treq, err);
        if (r < 0)
                return err_prefix(err, "registry %s", host->host);

        struct reg_body body = {.fd = -1, .data = treq.body, .len = treq.body ? strlen(treq.body) : 0};
        struct reg_req req = {
                .method = treq.method,
                .url = treq.url,
                .body = treq.body ? &body : NULL,
                .content_type = "application/x-www-form-urlencoded",
                .cap = LIMIT_JSON_SIZE,
                .no_auth = true,
                .authorization = treq.authorization,
                .follow = true,
        };
        r = reg_http_do(c, h, NULL, &req, &resp, err);
        if (r < 0) {
                reg_token_request_clear(&treq);
                reg_resp_clear(&resp);
                return err_prefix(err, "token for %s", host->host);
        }
        if (resp.status != 200) {
                long st = resp.status;
                _cleanup_free_ char *realm = xstrdup(reg_challenge_param(bearer, "realm"));
                reg_token_request_clear(&treq);
                if (st == 401 || st == 403) {
                        char hint[1200];
                        auth_hint_locked(host, hint, sizeof(hint));
                        reg_resp_clear(&resp);
                        return err_set(err, st == 401 ? ERR_UNAUTHORIZED : ERR_DENIED,
                                       "registry %s: token server %s refused %s credentials (HTTP %ld)%s",
                                       host->host, realm, host->creds ? "the" : "anonymous", st, hint);
                }
                r = reg_http_fail(NULL, &resp, err);
                reg_resp_clear(&resp);
                return err_prefix(err, "token for %s", host->host);
        }
        reg_token_request_clear(&treq);
        char *token = NULL, *refresh = NULL;
        time_t expires;
        r = reg_token_response_parse(resp.body ? resp.body : "", resp.body_len, time(NULL), &token, &expires,
                                     &refresh, err);
        if (resp.body)
                explicit_bzero(resp.body, resp.body_len);
        reg_resp_clear(&resp);
        if (refresh) {
                explicit_bzero(refresh, strlen(refresh));
                free(refresh);
        }
        if (r < 0)
                return err_prefix(err, "token for %s", host->host);
        token_cache_put(host, scope ? scope : "", token, expires);
        return 0;
}

/* The Authorization value to send to HOST for SCOPE (newly allocated, a
 * secret), or NULL for none.  Fetches a token when needed. */
static int
authorization_for(struct reg_client *c, CURL *h, struct reg_host *host, const char *scope, bool refresh,
                  char **ret, struct err **err)
{
        int r = 0;
        *ret = NULL;
        pthread_mutex_lock(&host->lock);
        if (host->basic) {
                host_lookup_creds(c, host);
                if (host->creds && host->creds->username && host->creds->password)
                        *ret = reg_basic_authorization(host->creds->username, host->creds->password);
        } else if (host->challenges && reg_challenges_find(host->challenges, "Bearer")) {
                const char *key = scope ? scope : "";
                const char *tok = refresh ? NULL : token_cache_get(host, key);
                if (!tok) {
                        r = fetch_token(c, h, host, scope, err);
                        if (r >= 0)
                                tok = token_cache_get(host, key);
                }
                if (tok)
                        *ret = xasprintf("Bearer %s", tok);
        }
        pthread_mutex_unlock(&host->lock);
        return r;
}

/* Take note of a 401's challenge.  Returns true when it is one we can answer. */
static bool
learn_challenge(struct reg_host *host, const char *header)
{
        struct reg_challenges *ch = NULL;
        struct err *e = NULL;
        bool ok = false;
        if (!header || reg_challenges_parse(header, &ch, &e) < 0) {
                err_clear(&e);
                return false;
        }
        pthread_mutex_lock(&host->lock);
        if (reg_challenges_find(ch, "Bearer")) {
                reg_challenges_free(host->challenges);
                host->challenges = steal_ptr(&ch);
                host->basic = false;
                ok = true;
        } else if (reg_challenges_find(ch, "Basic")) {
                host->basic = true;
                ok = true;
        }
        pthread_mutex_unlock(&host->lock);
        reg_challenges_free(ch);
        return ok;
}

/* ---- retries ------------------------------------------------------------- */

/* Delay in ms asked by a Retry-After value (seconds or an HTTP date), or -1. */
long
reg_retry_after_ms(const char *v)
{
        if (!v || !*v)
                return -1;
        char *end;
        errno = 0;
        long s = strtol(v, &end, 10);
        if (end != v && *end == '\0' && errno == 0 && s >= 0)
                return (s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000;
        time_t t = curl_getdate(v, NULL);
        if (t < 0)
                return -1;
        time_t now = time(NULL);
        if (t <= now)
                return 0;
        return (t - now > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (long) (t - now)) * 1000;
}

static void
sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static bool
same_origin(const char *a, const char *b)
{
        CURLU *ua = curl_url(), *ub = curl_url();
        char *sa = NULL, *sb = NULL, *ha = NULL, *hb = NULL, *pa = NULL, *pb = NULL;
        bool same = false;
        if (curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
            curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK &&
            curl_url_get(ua, CURLUPART_SCHEME, &sa, 0) == CURLUE_OK &&
            curl_url_get(ub, CURLUPART_SCHEME, &sb, 0) == CURLUE_OK &&
            curl_url_get(ua, CURLUPART_HOST, &ha, 0) == CURLUE_OK &&
            curl_url_get(ub, CURLUPART_HOST, &hb, 0) == CURLUE_OK &&
            curl_url_get(ua, CURLUPART_PORT, &pa, CURLU_DEFAULT_PORT) == CURLUE_OK &&
            curl_url_get(ub, CURLUPART_PORT, &pb, CURLU_DEFAULT_PORT) == CURLUE_OK)
                same = strcasecmp(sa, sb) == 0 && strcasecmp(ha, hb) == 0 && strcmp(pa, pb) == 0;
        curl_free(sa);
        curl_free(sb);
        curl_free(ha);
        curl_free(hb);
        curl_free(pa);
        curl_free(pb);
        curl_url_cleanup(ua);
        curl_url_cleanup(ub);
        return same;
}

char *
reg_url_resolve(const char *base_url, const char *location)
{
        CURLU *u = curl_url();
        char *s = NULL, *ret = NULL;
        if (curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
                ret = xstrdup(s);
        curl_free(s);
        curl_url_cleanup(u);
        return ret;
}

static bool
is_redirect(long st)
{
        return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* One request through its attempts, redirects and re-authentication, as
 * a state machine so that the synchronous reg_http_do and the concurrent
 * reg_http_batch drive the same logic. */
enum call_step {
        CALL_PERFORM,              /* the handle is set up: run it */
        CALL_WAIT,                 /* start another attempt after wait_ms */
        CALL_DONE,                 /* the response is there */
        CALL_FAILED,               /* *err is set */
};

struct reg_call {
        struct reg_client *c;
        struct reg_host *host;
        struct reg_req *req;
        struct reg_resp *resp;
        int attempt, attempts;
        long delay;                /* the next backoff */
        long wait_ms;              /* CALL_WAIT: before the next attempt */
        bool reauthed;
        char *auth;                /* Authorization for the registry (a secret) */
        char *url;                 /* the current hop */
        bool own;                  /* URL is on the registry itself */
        int hop;
        struct xfer x;
};

static void
call_init(struct reg_call *k, struct reg_client *c, struct reg_host *host, struct reg_req *req,
          struct reg_resp *resp)
{
        memset(k, 0, sizeof(*k));
        k->c = c;
        k->host = host;
        k->req = req;
        k->resp = resp;
        k->attempts = req->once ? 1 : c->retries + 1;
        k->delay = c->backoff_ms;
        resp->content_length = -1;
}

static void
call_clear(struct reg_call *k)
{
        if (k->auth)
                explicit_bzero(k->auth, strlen(k->auth));
        free(k->auth);
        free(k->url);
        k->auth = k->url = NULL;
}

/* Start an attempt on H: prepare, authorization, first hop set up. */
static int
call_attempt(struct reg_call *k, CURL *h, struct err **err)
{
        struct reg_req *req = k->req;
        int r;

        call_clear(k);
        k->url = xstrdup(req->url);
        k->own = true;
        k->hop = 0;
        if (req->prepare) {
                r = req->prepare(req->userdata, err);
                if (r < 0)
                        return r;
        }
        if (req->authorization) {
                k->auth = xstrdup(req->authorization);
        } else if (k->host && !req->no_auth) {
                r = authorization_for(k->c, h, k->host, req->scope, false, &k->auth, err);
                if (r < 0)
                        return r;
        }
        xfer_begin(k->c, h, k->host, req, k->url, k->auth, k->resp, &k->x);
        return 0;
}

static void
call_backoff(struct reg_call *k, long wait)
{
        k->wait_ms = wait;
        k->delay = k->delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : k->delay * 2;
        k->attempt++;
}

/* The transfer on H ended with CC: decide what comes next (*ret_step).
 * Returns negative (CALL_FAILED) with *err set when the call failed. */
static int
call_finish(struct reg_call *k, CURL *h, CURLcode cc, enum call_step *ret_step, struct err **err)
{
        struct reg_client *c = k->c;
        struct reg_req *req = k->req;
        struct reg_resp *resp = k->resp;
        bool transient = false;
        int r;

        r = xfer_end(&k->x, cc, &transient, err);
        if (r >= 0 && req->follow && is_redirect(resp->status) && resp->location) {
                char *next = NULL;
                if (k->hop >= MAX_REDIRECTS)
                        r = err_set(err, ERR_HTTP, "%s: more than %d redirects", resp->request, MAX_REDIRECTS);
                else if (!(next = reg_url_resolve(k->url, resp->location)))
                        r = err_set(err, ERR_HTTP, "%s: bad redirect Location", resp->request);
                if (r >= 0) {
                        /* Credentials go to the registry only, never to the
                         * storage a redirect points at (e.g. a CDN).  A
                         * resumed download keeps its Range. */
                        if (k->own && !same_origin(req->url, next))
                                k->own = false;
                        free(k->url);
                        k->url = next;
                        k->hop++;
                        xfer_begin(c, h, k->own ? k->host : NULL, req, k->url, k->own ? k->auth : NULL, resp, &k->x);
                        *ret_step = CALL_PERFORM;
                        return 0;
                }
        }
        if (r < 0) {
                if (!transient || k->attempt + 1 >= k->attempts) {
                        *ret_step = CALL_FAILED;
                        return k->attempt ? err_prefix(err, "after %d attempts", k->attempt + 1) : r;
                }
                err_clear(err);
                reg_client_logf(c, "Retrying %s in %ld ms (attempt %d of %d)", req->url, k->delay, k->attempt + 2,
                                k->attempts);
                call_backoff(k, k->delay);
                *ret_step = CALL_WAIT;
                return 0;
        }
        if (resp->status == 401 && k->host && k->own && !req->no_auth && !k->reauthed) {
                k->reauthed = true;
                if (learn_challenge(k->host, resp->www_authenticate)) {
                        _cleanup_secret_ char *again = NULL;
                        /* A fresh token (the cached one may be for too
                         * little access); no retry budget spent. */
                        r = authorization_for(c, h, k->host, req->scope, true, &again, err);
                        if (r < 0) {
                                *ret_step = CALL_FAILED;
                                return r;
                        }
                        if (again) {
                                k->wait_ms = 0;
                                *ret_step = CALL_WAIT;
                                return 0;
                        }
                }
        }
        long st = resp->status;
        if ((st == 408 || st == 429 || st >= 500) && k->attempt + 1 < k->attempts) {
                long wait = reg_retry_after_ms(resp->retry_after);
                if (wait < 0 || (st != 429 && st < 500))
                        wait = k->delay;
                reg_client_logf(c, "Retrying %s after HTTP %ld in %ld ms (attempt %d of %d)", req->url, st, wait,
                                k->attempt + 2, k->attempts);
                call_backoff(k, wait);
                *ret_step = CALL_WAIT;
                return 0;
        }
        *ret_step = CALL_DONE;
        return 0;
}

int
reg_http_do(struct reg_client *c, CURL *h, struct reg_host *host, struct reg_req *req, struct reg_resp *resp,
            struct err **err)
{
        struct reg_call k;
        enum call_step step = CALL_FAILED;
        int r;

        call_init(&k, c, host, req, resp);
        for (;;) {
                r = call_attempt(&k, h, err);
                if (r < 0)
                        break;
                do
                        r = call_finish(&k, h, curl_easy_perform(h), &step, err);
                while (r >= 0 && step == CALL_PERFORM);
                if (r < 0 || step == CALL_DONE)
                        break;
                sleep_ms(k.wait_ms);
        }
        call_clear(&k);
        return r;
}

/* ---- concurrent requests on one multi handle -------------------------------- */

struct batch_slot {
        CURL *h;
        bool busy;                 /* a call is in progress */
        bool in_multi;             /* h is added to the multi handle */
        bool waiting;              /* until due, for the next attempt */
        struct timespec due;
        size_t item;
        struct reg_call call;
};

static struct timespec
mono_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts;
}

static long
ms_until(struct timespec due, struct timespec now)
{
        return (due.tv_sec - now.tv_sec) * 1000 + (due.tv_nsec - now.tv_nsec) / 1000000;
}

struct batch {
        CURLM *m;
        struct reg_client *c;
        struct reg_host *host;
        const struct reg_batch_ops *ops;
        void *userdata;
};

/* Slot S's call ended (R < 0: failed with *err set): tell the item.
 * Returns FINISH's answer (1: *req and *resp are its next request). */
static int
slot_end(struct batch *b, struct batch_slot *s, int r, struct reg_req **req, struct reg_resp **resp,
         struct err **err)
{
        call_clear(&s->call);
        s->busy = false;
        s->waiting = false;
        *req = NULL;
        *resp = NULL;
        return b->ops->finish(s->item, b->userdata, r, req, resp, err);
}

/* Put slot S's prepared transfer on the multi handle; when that fails,
 * the transfer is ended and a negative errno returned. */
static int
slot_add(struct batch *b, struct batch_slot *s, struct err **err)
{
        if (curl_multi_add_handle(b->m, s->h) == CURLM_OK) {
                s->in_multi = true;
                return 0;
        }
        struct err *e = NULL;
        bool tr;
        xfer_end(&s->call.x, CURLE_FAILED_INIT, &tr, &e);
        err_clear(&e);
        return err_set(err, ENOMEM, "curl_multi_add_handle failed");
}

/* Start an attempt of slot S's call, on the multi handle; when it cannot
 * start, the item hears of it (and may ask for another request). */
static int
slot_attempt(struct batch *b, struct batch_slot *s, struct err **err)
{
        for (;;) {
                int r = call_attempt(&s->call, s->h, err);
                if (r >= 0)
                        r = slot_add(b, s, err);
                if (r >= 0) {
                        s->waiting = false;
                        return 0;
                }
                struct reg_req *req;
                struct reg_resp *resp;
                r = slot_end(b, s, r, &req, &resp, err);
                if (r != 1)
                        return r;
                call_init(&s->call, b->c, b->host, req, resp);
                s->busy = true;
        }
}

/* Run REQ (with RESP) for item I in slot S. */
static int
slot_start(struct batch *b, struct batch_slot *s, size_t i, struct reg_req *req, struct reg_resp *resp,
           struct err **err)
{
        call_init(&s->call, b->c, b->host, req, resp);
        s->item = i;
        s->busy = true;
        return slot_attempt(b, s, err);
}

/* The transfer of slot S ended with CC. */
static int
slot_done(struct batch *b, struct batch_slot *s, CURLcode cc, struct err **err)
{
        enum call_step step;
        int r = call_finish(&s->call, s->h, cc, &step, err);
        if (r >= 0 && step == CALL_PERFORM) {
                r = slot_add(b, s, err);
                if (r >= 0)
                        return 0;
        }
        if (r >= 0 && step == CALL_WAIT) {
                s->waiting = true;
                s->due = mono_now();
                s->due.tv_sec += s->call.wait_ms / 1000;
                s->due.tv_nsec += (s->call.wait_ms % 1000) * 1000000L;
                if (s->due.tv_nsec >= 1000000000L) {
                        s->due.tv_sec++;
                        s->due.tv_nsec -= 1000000000L;
                }
                return 0;
        }
        struct reg_req *req;
        struct reg_resp *resp;
        r = slot_end(b, s, r, &req, &resp, err);
        if (r != 1)
                return r;
        return slot_start(b, s, s->item, req, resp, err);
}

int
reg_http_batch(struct reg_client *c, struct reg_host *host, size_t n, const struct reg_batch_ops *ops,
               void *userdata, struct err **err)
{
        size_t nslots = (size_t) (c->jobs > 0 ? c->jobs : 1);
        size_t next = 0;
        int r = 0;

        if (n == 0)
                return 0;
        if (nslots > n)
                nslots = n;
        struct batch b = {.c = c, .host = host, .ops = ops, .userdata = userdata, .m = curl_multi_init()};
        if (!b.m)
                return err_set(err, ENOMEM, "curl_multi_init failed");
        struct batch_slot *slots = xcalloc(nslots, sizeof(*slots));
        for (size_t i = 0; i < nslots; i++) {
                slots[i].h = curl_easy_init();
                if (!slots[i].h) {
                        r = err_set(err, ENOMEM, "curl_easy_init failed");
                        goto out;
                }
        }
        for (;;) {
                /* Idle slots take the next items. */
                for (size_t i = 0; i < nslots && r >= 0; i++) {
                        struct batch_slot *s = &slots[i];
                        while (!s->busy && next < n && r >= 0) {
                                struct reg_req *req = NULL;
                                struct reg_resp *resp = NULL;
                                size_t item = next++;
                                r = ops->start(item, userdata, &req, &resp, err);
                                if (r == 1)
                                        r = slot_start(&b, s, item, req, resp, err);
                        }
                }
                size_t active = 0;
                for (size_t i = 0; i < nslots; i++)
                        active += slots[i].busy;
                if (r < 0 || active == 0)
                        break;
                /* Retries that are due. */
                struct timespec now = mono_now();
                long timeout = 1000;
                bool started = false;
                for (size_t i = 0; i < nslots && r >= 0; i++) {
                        struct batch_slot *s = &slots[i];
                        if (!s->busy || !s->waiting)
                                continue;
                        long wait = ms_until(s->due, now);
                        if (wait > 0) {
                                if (wait < timeout)
                                        timeout = wait;
                                continue;
                        }
                        r = slot_attempt(&b, s, err);
                        started = true;
                }
                if (r < 0)
                        break;
                if (started)
                        continue;
                int running = 0;
                CURLMcode mc = curl_multi_perform(b.m, &running);
                if (mc != CURLM_OK) {
                        r = err_set(err, EIO, "curl multi: %s", curl_multi_strerror(mc));
                        break;
                }
                CURLMsg *msg;
                int queued;
                bool ended = false;
                while (r >= 0 && (msg = curl_multi_info_read(b.m, &queued))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        CURL *h = msg->easy_handle;
                        CURLcode cc = msg->data.result;
                        struct batch_slot *s = NULL;
                        for (size_t i = 0; i < nslots && !s; i++)
                                if (slots[i].h == h)
                                        s = &slots[i];
                        curl_multi_remove_handle(b.m, h);
                        if (!s)
                                continue;
                        s->in_multi = false;
                        ended = true;
                        r = slot_done(&b, s, cc, err);
                }
                /* Wait for the network only when nothing just ended: an
                 * ended transfer frees a slot or starts a new request now,
                 * and with no transfer in the multi handle a poll would
                 * sleep its whole timeout. */
                if (r >= 0 && !ended && running > 0) {
                        mc = curl_multi_poll(b.m, NULL, 0, (int) timeout, NULL);
                        if (mc != CURLM_OK)
                                r = err_set(err, EIO, "curl multi: %s", curl_multi_strerror(mc));
                } else if (r >= 0 && !ended) {
                        /* Only retries waiting: sleep until the first is due. */
                        sleep_ms(timeout);
                }
        }
out:
        /* On failure, abandon the calls still running (their items are the
         * caller's to clean up). */
        for (size_t i = 0; i < nslots; i++) {
                struct batch_slot *s = &slots[i];
                if (s->in_multi) {
                        curl_multi_remove_handle(b.m, s->h);
                        struct err *e = NULL;
                        bool tr;
                        xfer_end(&s->call.x, CURLE_ABORTED_BY_CALLBACK, &tr, &e);
                        err_clear(&e);
                }
                if (s->busy)
                        call_clear(&s->call);
                if (s->h)
                        curl_easy_cleanup(s->h);
        }
        free(slots);
        curl_multi_cleanup(b.m);
        return r;
}

/* ---- ping ------------------------------------------------------------------ */

static bool
is_loopback(const char *hostport)
{
        if (strncmp(hostport, "localhost", 9) == 0 && (hostport[9] == '\0' || hostport[9] == ':'))
                return true;
        if (strncmp(hostport, "127.", 4) == 0)
                return true;
        if (strncmp(hostport, "[::1]", 5) == 0)
                return true;
        return false;
}

int
reg_host_ping(struct reg_client *c, CURL *h, struct reg_host *host, struct err **err)
{
        struct reg_resp resp = {.content_length = -1};
        int r;

        pthread_mutex_lock(&host->lock);
        bool done = host->pinged;
        pthread_mutex_unlock(&host->lock);
        if (done)
                return 0;

        const char *schemes[2] = {"https", "http"};
        size_t first = c->plain_http ? 1 : 0, last = c->plain_http || is_loopback(host->host) ? 1 : 0;
        for (size_t i = first; i <= last; i++) {
                _cleanup_free_ char *url = xasprintf("%s://%s/v2/", schemes[i], host->host);
                /* The HTTPS probe of a loopback registry that may well be
                 * plain HTTP is not worth retrying. */
                struct reg_req req = {.method = "GET", .url = url, .no_auth = true, .once = i < last};
                r = reg_http_do(c, h, host, &req, &resp, err);
                /* A server that speaks TLS with a certificate we do not
                 * trust is an error to report, not a reason to go plain. */
                if (r < 0 && i < last && resp.curl_code != CURLE_PEER_FAILED_VERIFICATION) {
                        err_clear(err);
                        continue;
                }
                if (r < 0) {
                        reg_resp_clear(&resp);
                        return err_prefix(err, "registry %s", host->host);
                }
                if (resp.status == 401) {
                        learn_challenge(host, resp.www_authenticate);
                } else if (resp.status != 200 && i < last && resp.status == 400) {
                        /* An HTTP server answering TLS garbage; try plain. */
                        reg_resp_clear(&resp);
                        continue;
                } else if (resp.status == 404) {
                        r = err_set(err, ERR_UNSUPPORTED, "registry %s: GET %s: 404: not a registry (no /v2/ API)",
                                    host->host, url);
                        reg_resp_clear(&resp);
                        return r;
                }
                pthread_mutex_lock(&host->lock);
                free(host->base);
                host->base = xasprintf("%s://%s", schemes[i], host->host);
                host->pinged = true;
                pthread_mutex_unlock(&host->lock);
                reg_resp_clear(&resp);
                return 0;
        }
        reg_resp_clear(&resp);
        return err_set(err, EIO, "registry %s: unreachable", host->host);
}

/* ---- errors ------------------------------------------------------------- */

static int
code_from_name(const char *name)
{
        for (int code = ERR_BASE + 1; code < ERR_LAST; code++) {
                const char *n = err_code_name(code);
                if (n && strcmp(n, name) == 0)
                        return code;
        }
        return 0;
}

int
reg_http_fail(struct reg_host *host, const struct reg_resp *resp, struct err **err)
{
        char msg[1024] = "";
        size_t off = 0;
        int code = 0;

        if (resp->body && resp->body_len) {
                json_error_t je;
                json_t *j = json_loadb(resp->body, resp->body_len, 0, &je);
                json_t *errors = j ? json_object_get(j, "errors") : NULL;
                if (json_is_array(errors)) {
                        size_t i;
                        json_t *e;
                        json_array_foreach(errors, i, e) {
                                const char *cn = json_string_value(json_object_get(e, "code"));
                                const char *m = json_string_value(json_object_get(e, "message"));
                                json_t *detail = json_object_get(e, "detail");
                                if (!cn)
                                        continue;
                                if (!code)
                                        code = code_from_name(cn);
                                _cleanup_free_ char *d = NULL;
                                if (detail && !json_is_null(detail))
                                        d = json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
                                int n = snprintf(msg + off, sizeof(msg) - off, "%s%s%s%s%s%s", off ? "; " : "", cn,
                                                 m ? ": " : "", m ? m : "", d ? " " : "", d ? d : "");
                                if (n < 0 || (size_t) n >= sizeof(msg) - off) {
                                        off = sizeof(msg) - 1;
                                        break;
                                }
                                off += (size_t) n;
                        }
                }
                json_decref(j);
        }
        if (!code) {
                switch (resp->status) {
                case 401: code = ERR_UNAUTHORIZED; break;
                case 403: code = ERR_DENIED; break;
                case 429: code = ERR_TOOMANYREQUESTS; break;
                default: code = ERR_HTTP; break;
                }
        }
        if (!off && resp->body && resp->body_len) {
                /* A non-JSON body: its first line, printable bytes only. */
                size_t i;
                for (i = 0; i < resp->body_len && i < 200 && resp->body[i] != '\n'; i++)
                        msg[i] = isprint((unsigned char) resp->body[i]) ? resp->body[i] : '?';
                msg[i] = '\0';
        }
        /* The registry's own text (JSON "message", "code") reaches the
         * user's terminal: no control bytes (escape sequences, newlines). */
        for (char *p = msg; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        char hint[1200] = "";
        if (host && resp->status == 401) {
                pthread_mutex_lock(&host->lock);
                auth_hint_locked(host, hint, sizeof(hint));
                pthread_mutex_unlock(&host->lock);
        }
        return err_set(err, code, "registry %s: %s: HTTP %ld%s%s%s", host ? host->host : "(token server)",
                       resp->request ? resp->request : "request", resp->status, msg[0] ? ": " : "", msg, hint);
}
