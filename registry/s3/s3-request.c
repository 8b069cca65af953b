/* One S3 request: signed with SigV4, sent on a pooled libcurl handle,
 * retried with backoff on connection errors, 5xx and SlowDown, its answer
 * streamed to the caller's sink or collected (capped), and its failure
 * mapped to the errno and message s3.h documents. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "registry/common/range.h"
#include "registry/s3/s3-internal.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The state of one request across its attempts. */
struct xfer {
        const struct s3_client *c;
        const struct s3_req *rq;
        CURL *h;
        uint64_t sent;       /* body bytes handed to curl in this attempt */
        bool stream_touched; /* a stream body was read: no retry */
        long status;         /* this attempt's, once the body starts */
        char *buf;           /* collected 2xx body, or the error body */
        size_t len, cap;
        uint64_t delivered;  /* bytes given to rq->write over all attempts */
        bool done_early;     /* the range was complete before the answer ended */
        bool range_checked;  /* this attempt's Content-Range was checked */
        char first_etag[80]; /* a resumed download must be of the same object */
        int sink_r;          /* a sink's or source's failure (message in sink_msg) */
        char sink_msg[512];
};

static size_t
on_read(char *out, size_t size, size_t nitems, void *u)
{
        struct xfer *x = u;
        const struct s3_req *rq = x->rq;
        size_t want = size * nitems;
        uint64_t left = rq->len - x->sent;
        ssize_t n;

        if (want > left)
                want = (size_t) left;
        if (want == 0)
                return 0;
        switch (rq->body) {
        case S3_BODY_BUF:
                memcpy(out, (const char *) rq->buf + x->sent, want);
                n = (ssize_t) want;
                break;
        case S3_BODY_FD:
                do
                        n = pread(rq->fd, out, want, rq->fd_offset + (off_t) x->sent);
                while (n < 0 && errno == EINTR);
                if (n <= 0) {
                        x->sink_r = n < 0 ? -errno : -EIO;
                        snprintf(x->sink_msg, sizeof(x->sink_msg), "reading the body at offset %llu: %s",
                                 (unsigned long long) (rq->fd_offset + (off_t) x->sent),
                                 n < 0 ? strerror(errno) : "file shorter than the length given");
                        return CURL_READFUNC_ABORT;
                }
                break;
        case S3_BODY_STREAM:
                x->stream_touched = true;
                n = rq->read(rq->read_ctx, out, want);
                if (n <= 0) {
                        x->sink_r = n < 0 ? (int) n : -EIO;
                        snprintf(x->sink_msg, sizeof(x->sink_msg), "reading the body at offset %llu: %s",
                                 (unsigned long long) x->sent,
                                 n < 0 ? strerror((int) -n) : "stream shorter than the length given");
                        return CURL_READFUNC_ABORT;
                }
                break;
        default:
                return 0;
        }
        x->sent += (uint64_t) n;
        return (size_t) n;
}

static int
collect(struct xfer *x, const char *data, size_t n, size_t cap)
{
        if (x->len + n > cap)
                return -EFBIG;
        if (x->len + n + 1 > x->cap) {
                x->cap = x->len + n + 1 > 2 * x->cap ? x->len + n + 1 : 2 * x->cap;
                x->buf = xrealloc(x->buf, x->cap);
        }
        memcpy(x->buf + x->len, data, n);
        x->len += n;
        x->buf[x->len] = '\0';
        return 0;
}

static const char *
header(CURL *h, const char *name)
{
        struct curl_header *hd;

        if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
                return NULL;
        return hd->value;
}

/* A ranged answer: its Content-Range must start where we asked (a store
 * that ignored Range would otherwise hand us the wrong bytes). */
static int
check_range(struct xfer *x)
{
        const struct s3_req *rq = x->rq;
        uint64_t want = rq->range_off + x->delivered, a, b;
        const char *cr;
        struct err *e = NULL;

        x->range_checked = true;
        if (x->status == 200) {
                if (want == 0)
                        return 0;
                x->sink_r = -EPROTO;
                snprintf(x->sink_msg, sizeof(x->sink_msg), "the store ignored Range (200 for bytes from %llu)",
                         (unsigned long long) want);
                return -1;
        }
        cr = header(x->h, "Content-Range");
        if (!cr || reg_byte_range_parse(cr, &a, &b, NULL, &e) < 0 || a != want) {
                err_clear(&e);
                x->sink_r = -EPROTO;
                snprintf(x->sink_msg, sizeof(x->sink_msg), "Content-Range '%.64s' does not start at %llu", cr ? cr : "",
                         (unsigned long long) want);
                return -1;
        }
        return 0;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *u)
{
        struct xfer *x = u;
        const struct s3_req *rq = x->rq;
        size_t n = size * nmemb;

        if (!x->status)
                curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->status < 200 || x->status >= 300) {
                /* An error body: its start kept (capped) for its Code
                 * and Message, the rest dropped. */
                (void) collect(x, data, n, LIMIT_HTTP_ERROR_BODY);
                return n;
        }
        if (rq->ranged && !x->range_checked && check_range(x) < 0)
                return 0;
        if (rq->write) {
                size_t give = n;
                int r;

                if (rq->ranged && rq->range_len != S3_TO_END) {
                        uint64_t left = rq->range_len - x->delivered;
                        if (give > left) {
                                give = (size_t) left;
                                x->done_early = true;
                        }
                }
                if (give && !x->first_etag[0]) {
                        /* A resumed download asks for this same object. */
                        const char *v = header(x->h, "ETag");
                        if (v)
                                s3_etag_copy(x->first_etag, v, strlen(v));
                }
                if (give) {
                        r = rq->write(rq->write_ctx, data, give);
                        if (r < 0) {
                                x->sink_r = r;
                                snprintf(x->sink_msg, sizeof(x->sink_msg), "writing the answer: %s", strerror(-r));
                                return 0;
                        }
                        x->delivered += give;
                }
                return x->done_early ? 0 : n;
        }
        if (rq->body_cap) {
                if (collect(x, data, n, rq->body_cap) < 0) {
                        x->sink_r = -EFBIG;
                        snprintf(x->sink_msg, sizeof(x->sink_msg), "object larger than %zu bytes", rq->body_cap);
                        return 0;
                }
        }
        return n;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static struct curl_slist *
add_header(struct curl_slist *l, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        struct curl_slist *n;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        n = curl_slist_append(l, s);
        if (!n)
                abort();
        explicit_bzero(s, strlen(s));
        return n;
}

/* Set up X's handle for one attempt: URL, method, signed headers. */
static struct curl_slist *
prepare(struct xfer *x, const char *path, const char *query, const char *payload_hash, char *errbuf)
{
        const struct s3_client *c = x->c;
        const struct s3_req *rq = x->rq;
        _cleanup_free_ char *url = NULL, *auth = NULL, *copy_src = NULL, *src_path = NULL;
        struct s3_header hs[4];
        size_t nh = 0;
        char date[17];
        struct curl_slist *l = NULL;
        CURL *h = x->h;

        s3_amz_date(time(NULL), date);
        hs[nh++] = (struct s3_header){"x-amz-content-sha256", payload_hash};
        hs[nh++] = (struct s3_header){"x-amz-date", date};
        if (rq->copy_source) {
                src_path = s3_object_path(c, rq->copy_source);
                copy_src = xstrdup(src_path);
                hs[nh++] = (struct s3_header){"x-amz-copy-source", copy_src};
        }
        if (rq->copy_range)
                hs[nh++] = (struct s3_header){"x-amz-copy-source-range", rq->copy_range};
        auth = s3_sign_authorization(&(struct s3_sign_in){
            .method = rq->method,
            .path = path,
            .query = query,
            .host = c->host,
            .headers = hs,
            .n_headers = nh,
            .payload_hash = payload_hash,
            .amz_date = date,
            .region = c->region,
            .access_key = c->access_key,
            .secret_key = c->secret_key,
        });
        url = xasprintf("%s%s%s%s", c->endpoint, path, query[0] ? "?" : "", query);

        l = add_header(l, "Host: %s", c->host);
        for (size_t i = 0; i < nh; i++)
                l = add_header(l, "%s: %s", hs[i].name, hs[i].value);
        l = add_header(l, "Authorization: %s", auth);
        explicit_bzero(auth, strlen(auth));
        /* No "Expect: 100-continue" round trip before bodies. */
        l = add_header(l, "Expect:");
        if (rq->ranged) {
                uint64_t start = rq->range_off + x->delivered;
                if (rq->range_len == S3_TO_END)
                        l = add_header(l, "Range: bytes=%llu-", (unsigned long long) start);
                else
                        l = add_header(l, "Range: bytes=%llu-%llu", (unsigned long long) start,
                                       (unsigned long long) (rq->range_off + rq->range_len - 1));
        }
        if (rq->if_match)
                l = add_header(l, "If-Match: \"%s\"", rq->if_match);
        else if (x->delivered && x->first_etag[0])
                l = add_header(l, "If-Match: \"%s\"", x->first_etag);
        if (strcmp(rq->method, "PUT") == 0 && !rq->copy_source)
                l = add_header(l, "Content-Type: application/octet-stream");
        if (strcmp(rq->method, "POST") == 0)
                l = add_header(l, "Content-Type: %s",
                               rq->body == S3_BODY_NONE ? "application/octet-stream" : "application/xml");

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        /* A stalled store: under 1 byte/s for 60 s ends the attempt. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        if (strcmp(rq->method, "HEAD") == 0) {
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(rq->method, "PUT") == 0) {
                /* RGW wants a Content-Length on PUT (no chunked bodies). */
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) (rq->body == S3_BODY_NONE ? 0 : rq->len));
        } else if (strcmp(rq->method, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (rq->body == S3_BODY_NONE ? 0 : rq->len));
        } else if (strcmp(rq->method, "GET") != 0) {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        return l;
}

static CURL *
pool_take(struct s3_client *c)
{
        CURL *h = NULL;

        pthread_mutex_lock(&c->lock);
        if (c->n_idle)
                h = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->lock);
        if (!h && !(h = curl_easy_init()))
                abort();
        return h;
}

static void
pool_give(struct s3_client *c, CURL *h)
{
        pthread_mutex_lock(&c->lock);
        if (c->n_idle < S3_POOL_IDLE) {
                c->idle[c->n_idle++] = h;
                h = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        if (h)
                curl_easy_cleanup(h);
}

static bool
retryable_curl(CURLcode rc)
{
        switch (rc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* Is this S3 answer worth another try?  5xx (InternalError,
 * ServiceUnavailable, SlowDown), and RequestTimeout (S3's 400 for a body
 * that came too slowly). */
static bool
retryable_status(long status, const char *code)
{
        return status >= 500 || strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0;
}

static void
backoff(const struct s3_client *c, unsigned attempt)
{
        uint64_t ms = (uint64_t) c->backoff_ms << (attempt - 1);
        struct timespec ts = {(time_t) (ms / 1000), (long) (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void
fill_info(struct xfer *x, struct s3_resp *resp)
{
        const char *v;
        curl_off_t cl = -1;
        uint64_t a, b, t;
        struct err *e = NULL;

        resp->status = x->status;
        if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
                resp->info.size = (uint64_t) cl;
        resp->total = resp->info.size;
        if ((v = header(x->h, "Content-Range")) && reg_byte_range_parse(v, &a, &b, &t, &e) == 0 &&
            t != REG_RANGE_TOTAL_UNKNOWN)
                resp->total = t;
        err_clear(&e);
        if ((v = header(x->h, "ETag")))
                s3_etag_copy(resp->info.etag, v, strlen(v));
        if ((v = header(x->h, "Last-Modified"))) {
                time_t m = curl_getdate(v, NULL);
                resp->info.mtime = m > 0 ? m : 0;
        }
}

static int fail_errno(const struct s3_client *c, const struct s3_req *rq, int e, const char *msg, struct err **err);

int
s3_request(struct s3_client *c, const struct s3_req *rq, struct s3_resp *resp, struct err **err)
{
        _cleanup_free_ char *path = s3_object_path(c, rq->key);
        _cleanup_free_ char *query = s3_query_string(rq->query);
        struct xfer x = {.c = c, .rq = rq};
        char payload_hash[65] = EMPTY_SHA256, cause[1024] = "", errbuf[CURL_ERROR_SIZE];
        unsigned attempt;
        int r = 0;

        memset(resp, 0, sizeof(*resp));
        if (rq->body == S3_BODY_BUF)
                s3_sha256_hex(rq->buf, rq->len, payload_hash);
        else if (rq->body != S3_BODY_NONE)
                strcpy(payload_hash, "UNSIGNED-PAYLOAD");
        x.h = pool_take(c);
        for (attempt = 1; attempt <= c->tries; attempt++) {
                struct curl_slist *hdrs;
                struct s3_xml_error xe;
                memset(&xe, 0, sizeof(xe));
                struct err *xerr = NULL;
                CURLcode rc;

                if (attempt > 1) {
                        /* A stream cannot be read twice. */
                        if (x.stream_touched)
                                break;
                        backoff(c, attempt - 1);
                }
                x.sent = 0;
                x.status = 0;
                x.len = 0;
                x.done_early = false;
                x.range_checked = false;
                x.sink_r = 0;
                errbuf[0] = '\0';
                hdrs = prepare(&x, path, query, payload_hash, errbuf);
                rc = curl_easy_perform(x.h);
                curl_slist_free_all(hdrs);
                if (!x.status)
                        curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &x.status);
                if (x.sink_r < 0 && !x.done_early) {
                        /* Our own side failed (a sink, a source, a bad
                         * Content-Range): no retry. */
                        r = fail_errno(c, rq, -x.sink_r, x.sink_msg, err);
                        goto out;
                }
                if (rc != CURLE_OK && !(x.done_early && rc == CURLE_WRITE_ERROR)) {
                        snprintf(cause, sizeof(cause), "%s%s%s", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
                        if (!retryable_curl(rc)) {
                                r = s3_fail(c, rq, 0, NULL, cause, err);
                                goto out;
                        }
                        continue;
                }
                if (x.status >= 200 && x.status < 300) {
                        fill_info(&x, resp);
                        if (rq->body_cap && !rq->write) {
                                resp->body = x.buf ? steal_ptr(&x.buf) : xstrdup("");
                                resp->body_len = x.len;
                        }
                        if (rq->ranged && rq->range_len != S3_TO_END && x.delivered != rq->range_len) {
                                snprintf(cause, sizeof(cause), "the object ends %llu bytes into the range",
                                         (unsigned long long) x.delivered);
                                r = s3_fail(c, rq, 416, "InvalidRange", cause, err);
                                s3_resp_clear(resp);
                                goto out;
                        }
                        r = 0;
                        goto out;
                }
                /* An S3 error answer: its XML says which. */
                if (x.len && s3_xml_error(x.buf, x.len, &xe, &xerr) < 0)
                        memset(&xe, 0, sizeof(xe));
                err_clear(&xerr);
                if (!retryable_status(x.status, xe.code)) {
                        r = s3_fail(c, rq, x.status, xe.code, xe.message, err);
                        goto out;
                }
                snprintf(cause, sizeof(cause), "HTTP %ld%s%s%s%s", x.status, xe.code[0] ? " " : "", xe.code,
                         xe.message[0] ? ": " : "", xe.message);
        }
        {
                char msg[sizeof(cause) + 64];
                snprintf(msg, sizeof(msg), "%s (after %u tries)", cause, attempt - 1);
                r = s3_fail(c, rq, 0, NULL, msg, err);
        }
out:
        free(x.buf);
        pool_give(c, x.h);
        return r;
}

void
s3_resp_clear(struct s3_resp *r)
{
        free(r->body);
        memset(r, 0, sizeof(*r));
}

/* The errno for an S3 error CODE / HTTP STATUS, and a hint for people. */
static int
map_error(const struct s3_req *rq, long status, const char *code, const char **hint)
{
        static const struct {
                const char *code;
                int err;
                const char *hint;
        } table[] = {
            {"NoSuchKey", ENOENT, NULL},
            {"NoSuchUpload", ENOENT, NULL},
            {"NoSuchBucket", ENXIO, "the bucket does not exist"},
            {"AccessDenied", EACCES, "access denied: check the access key, the secret key and the bucket's policy"},
            {"SignatureDoesNotMatch", EACCES, "access denied: the signature does not match (check the secret key)"},
            {"InvalidAccessKeyId", EACCES, "access denied: unknown access key"},
            {"RequestTimeTooSkewed", EACCES, "access denied: this machine's clock is off"},
            {"InvalidRange", ERANGE, NULL},
            {"EntityTooSmall", EINVAL, "a multipart part under 5 MiB that is not the last"},
            {"InvalidPart", EINVAL, NULL},
            {"InvalidPartOrder", EINVAL, NULL},
            {"InvalidArgument", EINVAL, NULL},
            {"PreconditionFailed", ESTALE, NULL},
        };

        *hint = NULL;
        if (code && code[0])
                for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                        if (strcmp(code, table[i].code) == 0) {
                                *hint = table[i].hint;
                                return table[i].err;
                        }
        switch (status) {
        case 404:
                if (!rq->key) {
                        *hint = "the bucket does not exist";
                        return ENXIO;
                }
                return ENOENT;
        case 401:
        case 403:
                *hint = "access denied: check the access key and the secret key";
                return EACCES;
        case 412:
                return ESTALE;
        case 416:
                return ERANGE;
        default:
                return status >= 400 && status < 500 ? EINVAL : EIO;
        }
}

static void
describe_target(const struct s3_client *c, const struct s3_req *rq, char *what, size_t n)
{
        if (rq->key)
                snprintf(what, n, "'%s%s' in bucket '%s'", c->prefix, rq->key, c->bucket);
        else
                snprintf(what, n, "bucket '%s'", c->bucket);
}

/* A failure on our side of RQ (E, MSG): no HTTP status involved. */
static int
fail_errno(const struct s3_client *c, const struct s3_req *rq, int e, const char *msg, struct err **err)
{
        char what[S3_KEY_MAX + 64];

        describe_target(c, rq, what, sizeof(what));
        return err_set(err, e, "S3 %s of %s at %s: %s", rq->op, what, c->endpoint, msg);
}

int
s3_fail(const struct s3_client *c, const struct s3_req *rq, long status, const char *code, const char *message,
        struct err **err)
{
        const char *hint = NULL;
        int e = status ? map_error(rq, status, code, &hint) : EIO;
        char what[S3_KEY_MAX + 64], st[32] = "";

        describe_target(c, rq, what, sizeof(what));
        if (status)
                snprintf(st, sizeof(st), "HTTP %ld", status);
        return err_set(err, e, "S3 %s of %s at %s: %s%s%s%s%s%s%s", rq->op, what, c->endpoint, st,
                       code && code[0] ? " " : "", code ? code : "", (message && message[0]) && status ? ": " : "",
                       message ? message : "", hint ? ": " : "", hint ? hint : "");
}

int
s3_body_error(const struct s3_client *c, const struct s3_req *rq, const struct s3_resp *resp, struct err **err)
{
        struct s3_xml_error xe;
        struct err *e = NULL;
        int r = s3_xml_error(resp->body, resp->body_len, &xe, &e);

        err_clear(&e);
        if (r < 0)
                return 0;
        /* 200 with an error inside: S3 says such an answer is to be
         * treated as that error (an InternalError is worth a retry, but
         * the caller decides: this is rare). */
        return s3_fail(c, rq, resp->status, xe.code, xe.message, err);
}
