/* Endpoint handlers of the OCI distribution-spec v1.1. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/auth/auth.h"
#include "registry/server/manifest.h"
#include "registry/server/server-internal.h"

#define ST(r) ((r)->srv->store)
#define OPS(r) ((r)->srv->store->ops)

/* Cap on n for tag and catalog pages. */
#define PAGE_MAX 10000

static const char *const NO_HEADERS[] = { NULL };

static bool
method_allowed(enum reg_route_kind k, enum reg_method m)
{
        switch (k) {
        case REG_ROUTE_BASE:
        case REG_ROUTE_HEALTH:
        case REG_ROUTE_BLOB:
                return m == M_GET || m == M_HEAD || (k == REG_ROUTE_BLOB && m == M_DELETE);
        case REG_ROUTE_CATALOG:
        case REG_ROUTE_TAGS:
        case REG_ROUTE_REFERRERS:
        case REG_ROUTE_METRICS:
                return m == M_GET || m == M_HEAD;
        case REG_ROUTE_MANIFEST:
                return m == M_GET || m == M_HEAD || m == M_PUT || m == M_DELETE;
        case REG_ROUTE_UPLOADS:
                return m == M_POST;
        case REG_ROUTE_UPLOAD:
                return m == M_GET || m == M_PATCH || m == M_PUT || m == M_DELETE;
        case REG_ROUTE_TOKEN:
                return m == M_GET || m == M_POST;
        default:
                return false;
        }
}

static unsigned
route_actions(const struct reg_req *r)
{
        switch (r->route.kind) {
        case REG_ROUTE_TAGS:
        case REG_ROUTE_REFERRERS:
                return REG_ACTION_PULL;
        case REG_ROUTE_MANIFEST:
        case REG_ROUTE_BLOB:
                if (r->method == M_DELETE)
                        return REG_ACTION_DELETE;
                return r->method == M_PUT ? REG_ACTION_PUSH | REG_ACTION_PULL : REG_ACTION_PULL;
        case REG_ROUTE_UPLOADS:
        case REG_ROUTE_UPLOAD:
                return REG_ACTION_PUSH | REG_ACTION_PULL;
        default:
                return 0;
        }
}

/* ---------- upload sessions ---------- */

static int
rehash(struct reg_session *sess, int fd, uint64_t size, struct err **err)
{
        _cleanup_free_ char *buf = xmalloc(256 * 1024);
        struct digest_ctx *ctx = digest_ctx_new(DIGEST_SHA256);
        uint64_t off = 0;

        while (off < size) {
                ssize_t n = pread(fd, buf, 256 * 1024, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        digest_ctx_free(ctx);
                        return err_set(err, n < 0 ? errno : EIO, "re-reading upload %s: %s", sess->uuid,
                                       n < 0 ? strerror(errno) : "short file");
                }
                digest_ctx_update(ctx, buf, (size_t) n);
                off += (uint64_t) n;
        }
        digest_ctx_free(sess->hash);
        sess->hash = ctx;
        sess->hashed = size;
        return 0;
}

/* Take session UUID of the request's repository for this request and open
 * its data at the end. */
static int
open_session(struct reg_req *r, const char *uuid, struct err **err)
{
        uint64_t size;
        int rc;

        /* A request that just finished with the session may not have been
         * reported completed yet (client aborted mid-body): wait a little. */
        for (int i = 0; i < 40; i++) {
                rc = reg_session_acquire(r->srv, r->route.name, uuid, &r->sess);
                if (rc != -EBUSY)
                        break;
                usleep(50 * 1000);
        }
        if (rc == -EBUSY)
                return err_set(err, ERR_RANGE_INVALID,
                               "upload %s is in use by another request", uuid);
        rc = OPS(r)->upload_open(ST(r), r->route.name, uuid, &r->fd, &size, err);
        if (rc < 0) {
                reg_session_release(r->srv, r->sess, true);
                r->sess = NULL;
                return rc;
        }
        if (!r->sess->hash || r->sess->hashed != size) {
                rc = rehash(r->sess, r->fd, size, err);
                if (rc < 0)
                        return rc;
        }
        if (lseek(r->fd, (off_t) size, SEEK_SET) < 0)
                return err_set(err, errno, "seek in upload %s: %s", uuid, strerror(errno));
        r->upload_start = size;
        return 0;
}

static char *
upload_location(struct reg_req *r, const char *uuid)
{
        return xasprintf("/v2/%s/blobs/uploads/%s", r->route.name, uuid);
}

static void
range_value(char *buf, size_t len, uint64_t size)
{
        /* distribution's convention: "0-0" for an empty session. */
        snprintf(buf, len, "0-%llu", (unsigned long long) (size ? size - 1 : 0));
}

static enum MHD_Result
respond_upload_status(struct reg_req *r, int status, const char *uuid, uint64_t size)
{
        _cleanup_free_ char *loc = upload_location(r, uuid);
        char range[64], minlen[32];
        const char *h[] = { "Location", loc, "Range", range, "Docker-Upload-UUID", uuid,
                            "Content-Length", "0", NULL, NULL, NULL };

        range_value(range, sizeof(range), size);
        if (r->srv->chunk_min_length) {
                snprintf(minlen, sizeof(minlen), "%llu", (unsigned long long) r->srv->chunk_min_length);
                h[8] = "OCI-Chunk-Min-Length";
                h[9] = minlen;
        }
        return reg_respond_empty(r, status, h);
}

/* Does the request carry a body (a chunk)? */
static bool
has_body(struct reg_req *r)
{
        const char *cl = reg_header(r, "Content-Length");
        uint64_t n;

        if (reg_header(r, "Transfer-Encoding"))
                return true;
        return cl && reg_parse_u64(cl, strlen(cl), &n) == 0 && n > 0;
}

/* ---------- begin ---------- */

bool
reg_authorize(struct reg_req *r, const char *repo, unsigned actions, bool *ret_responded)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_auth_request q = {
                .authorization = reg_header(r, "Authorization"),
                .repo = repo,
                .actions = repo ? actions : 0,
                .client_cert_subject = r->cert_subject[0] ? r->cert_subject : NULL,
                .remote = r->remote,
        };
        struct reg_auth_result res;

        *ret_responded = false;
        if (!r->srv->auth)
                return true;
        /* containers/image answers a Basic challenge with an empty user and
         * password when it has no credentials: that is an anonymous call. */
        if (q.authorization && strcmp(q.authorization, "Basic Og==") == 0)
                q.authorization = NULL;
        memset(&res, 0, sizeof(res));
        if (reg_auth_check(r->srv->auth, &q, &res, &e) < 0) {
                *ret_responded = true;
                reg_respond_err(r, &e);
                return false;
        }
        snprintf(r->user, sizeof(r->user), "%s", res.user);
        if (res.allowed && (r->route.kind == REG_ROUTE_BASE || (!repo && r->route_invalid)) && !res.user[0] &&
            !q.client_cert_subject) {
                /* Clients (containers/image, docker) learn the auth scheme
                 * from the /v2/ ping and send credentials only after a
                 * challenge there, so anonymous pings are challenged even
                 * when anonymous pulls are allowed (as distribution does).
                 * So is a path whose repository name is malformed: nothing
                 * about names is said before authentication.  Deciding an
                 * empty Basic login yields that challenge. */
                struct reg_auth_request q2 = q;
                struct reg_auth_result res2;
                q2.authorization = "Basic Og==";
                memset(&res2, 0, sizeof(res2));
                if (reg_auth_check(r->srv->auth, &q2, &res2, NULL) == 0 && !res2.allowed &&
                    res2.status == 401 && res2.www_authenticate[0])
                        res = res2;
        }
        if (res.allowed)
                return true;
        *ret_responded = true;
        if (res.status == 401 && res.www_authenticate[0]) {
                const char *h[] = { "WWW-Authenticate", res.www_authenticate, NULL };
                reg_respond_error_hdrs(r, 401, res.error_code ? res.error_code : "UNAUTHORIZED", h, "%s",
                                       res.message[0] ? res.message : "authentication required");
        } else {
                reg_respond_error(r, res.status == 401 ? 401 : 403,
                                  res.error_code ? res.error_code : "DENIED", "%s",
                                  res.message[0] ? res.message : "access denied");
        }
        return false;
}

static enum MHD_Result
begin_upload_body(struct reg_req *r, const char *uuid)
{
        _cleanup_err_ struct err *e = NULL;
        const char *cr = reg_header(r, "Content-Range");
        const char *cl = reg_header(r, "Content-Length");
        uint64_t start, end, clen;

        if (open_session(r, uuid, &e) < 0) {
                if (err_code(&e) == ERR_RANGE_INVALID) {
                        r->sess = NULL;
                        return reg_respond_err(r, &e);
                }
                return reg_respond_err(r, &e);
        }
        if (r->sess->short_chunk && has_body(r)) {
                /* Only the final chunk may be under OCI-Chunk-Min-Length,
                 * and the previous one was: refuse more data, keep the
                 * upload so the client can finish it with an empty PUT. */
                char range[64];
                const char *h[] = { "Range", range, NULL };
                range_value(range, sizeof(range), r->upload_start);
                return reg_respond_error_hdrs(r, 416, "BLOB_UPLOAD_INVALID", h,
                                              "upload %s: the previous chunk was shorter than the "
                                              "minimum of %llu bytes (OCI-Chunk-Min-Length), so it "
                                              "must have been the last one",
                                              uuid, (unsigned long long) r->srv->chunk_min_length);
        }
        if (cr && r->method == M_PATCH) {
                if (reg_byte_range_parse(cr, &start, &end, NULL, &e) < 0)
                        return respond_upload_status(r, 416, uuid, r->upload_start);
                if (start != r->upload_start)
                        /* Out of order or overlapping: tell the client where we are. */
                        return respond_upload_status(r, 416, uuid, r->upload_start);
                if (cl && reg_parse_u64(cl, strlen(cl), &clen) == 0 && clen != end - start + 1)
                        return reg_respond_error(r, 400, "BLOB_UPLOAD_INVALID",
                                                 "Content-Range %s spans %llu bytes but Content-Length is %s",
                                                 cr, (unsigned long long) (end - start + 1), cl);
                r->have_range_end = true;
                r->range_end = end;
        }
        r->body = REG_BODY_UPLOAD;
        return MHD_YES;
}

struct holder_check {
        struct reg_req *r;
        const struct digest *d;
};

static int
holder_pullable(const char *name, uint64_t size, time_t mtime, void *ud)
{
        struct holder_check *c = ud;

        (void) size;
        (void) mtime;
        /* Index entries may be stale: the link decides. */
        if (OPS(c->r)->layer_exists(ST(c->r), name, c->d) &&
            reg_auth_may(c->r->srv->auth, c->r->user, name, REG_ACTION_PULL))
                return -EEXIST;
        return 0;
}

/* Does some repository that links D allow the caller to pull it?  Asks
 * the blob -> repositories index: no scan of the repositories. */
static bool
pullable_holder(struct reg_req *r, const struct digest *d)
{
        struct holder_check c = { r, d };

        return OPS(r)->holder_walk(ST(r), d, holder_pullable, &c, NULL) == -EEXIST;
}

/* POST .../uploads/?mount=D&from=REPO: link D if REPO holds it. */
static bool
try_mount(struct reg_req *r, const char *mount, const char *from)
{
        struct digest d;
        _cleanup_free_ char *loc = NULL;
        bool ok = false;

        if (digest_parse(mount, &d, NULL) < 0)
                return false;
        if (OPS(r)->blob_stat(ST(r), &d, NULL, NULL) < 0)
                return false;
        if (from) {
                if (reg_name_validate(from, NULL) < 0 || !OPS(r)->layer_exists(ST(r), from, &d))
                        return false;
                ok = !r->srv->auth || reg_auth_may(r->srv->auth, r->user, from, REG_ACTION_PULL);
        } else {
                /* Without "from": any blob is readable without auth; with auth
                 * the caller must be allowed to pull some repository that
                 * links it (from the blob -> repositories index). */
                ok = r->srv->auth == NULL || OPS(r)->layer_exists(ST(r), r->route.name, &d) ||
                     pullable_holder(r, &d);
        }
        if (!ok || OPS(r)->layer_link(ST(r), r->route.name, &d, NULL) < 0)
                return false;
        loc = xasprintf("/v2/%s/blobs/%s", r->route.name, d.str);
        {
                const char *h[] = { "Location", loc, "Docker-Content-Digest", d.str, "Content-Length",
                                    "0", NULL };
                reg_audit(r, "mount", d.str);
                reg_respond_empty(r, 201, h);
        }
        return true;
}

/* The path names an endpoint but a part of it is malformed (ERR).  With
 * auth, the caller is authenticated first (for the repository when its
 * name was valid): an anonymous client gets the 401 challenge, never a
 * word about the path.  A manifest that can't exist because its
 * reference is malformed is unknown (404, as the conformance suite and
 * distribution have it) for GET, HEAD and DELETE; a PUT to such a tag is
 * a 400 TAG_INVALID. */
static enum MHD_Result
respond_route_error(struct reg_req *r, struct err **err)
{
        const char *repo = r->route.name[0] ? r->route.name : NULL;
        bool responded;

        r->route_invalid = true;
        if (r->method == M_OTHER)
                return reg_respond_error(r, 405, "UNSUPPORTED", "method not allowed");
        if ((r->route.kind == REG_ROUTE_NONE || method_allowed(r->route.kind, r->method)) &&
            !reg_authorize(r, repo, repo ? route_actions(r) : 0, &responded))
                return MHD_YES;
        if (r->route.kind == REG_ROUTE_MANIFEST && repo && r->method != M_PUT) {
                int code = err_code(err);
                if (code == ERR_TAG_INVALID || code == ERR_DIGEST_INVALID || code == ERR_UNSUPPORTED)
                        return reg_respond_error(r, 404, "MANIFEST_UNKNOWN", "manifest unknown to %s: %s", repo,
                                                 err_msg(err));
        }
        return reg_respond_err(r, err);
}

enum MHD_Result
reg_handle_begin(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *token_path = r->srv->auth ? reg_auth_token_path(r->srv->auth) : NULL;
        bool responded;

        if (reg_route_parse(r->path, token_path, &r->route, &e) < 0)
                return respond_route_error(r, &e);
        if (r->route.kind == REG_ROUTE_NONE)
                return reg_respond_error(r, 404, "NOT_FOUND", "no such endpoint: %.200s", r->path);
        if (!method_allowed(r->route.kind, r->method))
                return reg_respond_error(r, 405, "UNSUPPORTED", "method %s not allowed on %s",
                                         r->method_str, reg_route_kind_name(r->route.kind));
        if (r->route.kind == REG_ROUTE_HEALTH || r->route.kind == REG_ROUTE_METRICS)
                return MHD_YES;
        if (r->route.kind == REG_ROUTE_TOKEN) {
                if (r->method == M_POST) {
                        r->body = REG_BODY_BUFFER;
                        r->cap = 64 * 1024;
                }
                return MHD_YES;
        }
        if (!reg_authorize(r, r->route.name[0] ? r->route.name : NULL, route_actions(r), &responded))
                return MHD_YES;
        (void) responded;

        switch (r->route.kind) {
        case REG_ROUTE_MANIFEST:
                if (r->method == M_PUT) {
                        const char *cl = reg_header(r, "Content-Length");
                        uint64_t n;
                        if (cl && reg_parse_u64(cl, strlen(cl), &n) == 0 && n > LIMIT_MANIFEST_SIZE)
                                return reg_respond_error(r, 413, "SIZE_INVALID",
                                                         "manifest of %s bytes is over the %d byte limit",
                                                         cl, LIMIT_MANIFEST_SIZE);
                        r->body = REG_BODY_BUFFER;
                        r->cap = LIMIT_MANIFEST_SIZE;
                }
                return MHD_YES;
        case REG_ROUTE_UPLOADS: {
                const char *mount = reg_query(r, "mount"), *dq = reg_query(r, "digest");
                char uuid[REG_UUID_LEN + 1];
                struct digest d;

                if (mount && try_mount(r, mount, reg_query(r, "from")))
                        return MHD_YES;
                if (mount || !dq)
                        return MHD_YES; /* 202 with a fresh session at finish */
                if (digest_parse(dq, &d, &e) < 0)
                        return reg_respond_err(r, &e);
                snprintf(r->digest_q, sizeof(r->digest_q), "%s", d.str);
                if (OPS(r)->upload_create(ST(r), r->route.name, uuid, &e) < 0)
                        return reg_respond_err(r, &e);
                atomic_fetch_add(&r->srv->uploads_open, 1);
                r->monolithic = true;
                return begin_upload_body(r, uuid);
        }
        case REG_ROUTE_UPLOAD:
                if (r->method == M_PUT) {
                        const char *dq = reg_query(r, "digest");
                        struct digest d;
                        if (!dq)
                                return reg_respond_error(r, 400, "DIGEST_INVALID",
                                                         "PUT to finish an upload needs ?digest=");
                        if (digest_parse(dq, &d, &e) < 0)
                                return reg_respond_err(r, &e);
                        snprintf(r->digest_q, sizeof(r->digest_q), "%s", d.str);
                }
                if (r->method == M_PUT || r->method == M_PATCH)
                        return begin_upload_body(r, r->route.ref);
                return MHD_YES;
        default:
                return MHD_YES;
        }
}

/* ---------- body ---------- */

void
reg_handle_body(struct reg_req *r, const char *data, size_t len)
{
        switch (r->body) {
        case REG_BODY_NONE:
                return;
        case REG_BODY_BUFFER:
                if (r->too_large || r->len + len > r->cap) {
                        r->too_large = true;
                        free(r->buf);
                        r->buf = NULL;
                        r->len += len;
                        return;
                }
                if (r->len + len + 1 > r->buf_alloc) {
                        size_t want = r->buf_alloc ? r->buf_alloc * 2 : 16384;
                        while (want < r->len + len + 1)
                                want *= 2;
                        if (want > r->cap + 1)
                                want = r->cap + 1;
                        r->buf = xrealloc(r->buf, want);
                        r->buf_alloc = want;
                }
                memcpy(r->buf + r->len, data, len);
                r->len += len;
                r->buf[r->len] = '\0';
                return;
        case REG_BODY_UPLOAD:
                if (r->body_err)
                        return;
                if (r->have_range_end && r->sess->hashed + len > r->range_end + 1) {
                        err_set(&r->body_err, ERR_RANGE_INVALID,
                                "chunk is longer than its Content-Range");
                        return;
                }
                if (fs_write_all(r->fd, data, len, &r->body_err) < 0) {
                        /* Keep data and hash in step: drop a partial write. */
                        if (ftruncate(r->fd, (off_t) r->sess->hashed) == 0)
                                lseek(r->fd, (off_t) r->sess->hashed, SEEK_SET);
                        err_prefix(&r->body_err, "writing upload %s", r->sess->uuid);
                        return;
                }
                digest_ctx_update(r->sess->hash, data, len);
                r->sess->hashed += len;
                return;
        }
}

/* ---------- finish: helpers ---------- */

/* Page through sorted V after LAST, at most N (when HAVE_N). */
static int
paginate(struct reg_req *r, const struct reg_strv *v, json_t **ret_arr, char **ret_link,
         const char *base)
{
        const char *nq = reg_query(r, "n"), *last = reg_query(r, "last");
        uint64_t n = UINT64_MAX;
        size_t i = 0, count = 0;
        json_t *arr = json_array();

        if (nq) {
                if (reg_parse_u64(nq, strlen(nq), &n) < 0) {
                        json_decref(arr);
                        return -EINVAL;
                }
                if (n > PAGE_MAX)
                        n = PAGE_MAX;
        }
        if (last)
                while (i < v->n && strcmp(v->v[i], last) <= 0)
                        i++;
        for (; i < v->n && count < n; i++, count++)
                json_array_append_new(arr, json_string(v->v[i]));
        *ret_link = NULL;
        if (i < v->n && count > 0)
                *ret_link = xasprintf("<%s?n=%llu&last=%s>; rel=\"next\"", base, (unsigned long long) n,
                                      v->v[i - 1]);
        *ret_arr = arr;
        return 0;
}

static enum MHD_Result
respond_json(struct reg_req *r, int status, const char *ct, json_t *root, const char *const *h)
{
        char *body = json_dumps(root, JSON_COMPACT);
        enum MHD_Result ret;

        json_decref(root);
        if (!body)
                abort();
        ret = reg_respond_body(r, status, ct, body, strlen(body), h);
        free(body);
        return ret;
}

static int
stop_walk(const char *item, uint64_t size, time_t mtime, void *userdata)
{
        (void) item;
        (void) size;
        (void) mtime;
        *(bool *) userdata = true;
        return -ECANCELED;
}

/* Does repository NAME hold a manifest or a blob link?  (Tags need a
 * manifest.)  The walks stop at the first entry. */
static bool
repo_has_content(struct reg_req *r, const char *name)
{
        bool found = false;

        OPS(r)->manifest_walk(ST(r), name, stop_walk, &found, NULL);
        if (!found)
                OPS(r)->layer_walk(ST(r), name, stop_walk, &found, NULL);
        return found;
}

static enum MHD_Result
handle_catalog(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv all = { 0 }, visible = { 0 };
        _cleanup_free_ char *link = NULL;
        json_t *arr, *root;
        size_t i;
        const char *h[3] = { NULL };

        if (OPS(r)->repo_list(ST(r), &all, &e) < 0)
                return reg_respond_err(r, &e);
        /* Only repositories holding content (not just upload sessions) that
         * the caller may pull. */
        for (i = 0; i < all.n; i++) {
                if (!repo_has_content(r, all.v[i]) ||
                    (r->srv->auth && !reg_auth_may(r->srv->auth, r->user, all.v[i], REG_ACTION_PULL))) {
                        free(all.v[i]);
                        continue;
                }
                all.v[visible.n] = all.v[i];
                visible.n++;
        }
        visible.v = all.v;
        if (paginate(r, &visible, &arr, &link, "/v2/_catalog") < 0) {
                reg_strv_free(&visible);
                return reg_respond_error(r, 400, "PAGINATION_NUMBER_INVALID", "n must be a number");
        }
        reg_strv_free(&visible);
        root = json_object();
        json_object_set_new(root, "repositories", arr);
        if (link) {
                h[0] = "Link";
                h[1] = link;
        }
        return respond_json(r, 200, "application/json", root, h);
}

static enum MHD_Result
handle_tags(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv tags = { 0 };
        _cleanup_free_ char *link = NULL, *base = NULL;
        json_t *arr, *root;
        const char *h[3] = { NULL };

        if (OPS(r)->tag_list(ST(r), r->route.name, &tags, &e) < 0)
                return reg_respond_err(r, &e);
        base = xasprintf("/v2/%s/tags/list", r->route.name);
        if (paginate(r, &tags, &arr, &link, base) < 0) {
                reg_strv_free(&tags);
                return reg_respond_error(r, 400, "PAGINATION_NUMBER_INVALID", "n must be a number");
        }
        reg_strv_free(&tags);
        root = json_object();
        json_object_set_new(root, "name", json_string(r->route.name));
        json_object_set_new(root, "tags", arr);
        if (link) {
                h[0] = "Link";
                h[1] = link;
        }
        return respond_json(r, 200, "application/json", root, h);
}

static int
resolve_manifest(struct reg_req *r, struct digest *ret, char *mt, size_t mtlen, struct err **err)
{
        struct digest d;
        int rc;

        if (r->route.ref_is_digest) {
                rc = digest_parse(r->route.ref, &d, err);
        } else {
                rc = OPS(r)->tag_get(ST(r), r->route.name, r->route.ref, &d, err);
        }
        if (rc < 0)
                return rc;
        rc = OPS(r)->manifest_get(ST(r), r->route.name, &d, mt, mtlen, err);
        if (rc < 0)
                return rc;
        *ret = d;
        return 0;
}

static enum MHD_Result
handle_manifest_get(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;
        char mt[256], etag[DIGEST_STR_MAX + 4];
        int fd;
        uint64_t size;
        struct MHD_Response *resp;

        if (resolve_manifest(r, &d, mt, sizeof(mt), &e) < 0)
                return reg_respond_err(r, &e);
        if (OPS(r)->blob_open(ST(r), &d, &fd, &size, &e) < 0) {
                if (err_code(&e) == ERR_BLOB_UNKNOWN) {
                        err_clear(&e);
                        return reg_respond_error(r, 404, "MANIFEST_UNKNOWN", "manifest %s not found",
                                                 d.str);
                }
                return reg_respond_err(r, &e);
        }
        resp = MHD_create_response_from_fd64(size, fd);
        if (!resp) {
                close(fd);
                return reg_respond_error(r, 500, "UNKNOWN", "cannot create response");
        }
        snprintf(etag, sizeof(etag), "\"%s\"", d.str);
        MHD_add_response_header(resp, "Content-Type", mt);
        MHD_add_response_header(resp, "Docker-Content-Digest", d.str);
        MHD_add_response_header(resp, "ETag", etag);
        if (r->method == M_GET)
                r->bytes_out += size;
        return reg_respond(r, 200, resp);
}

static enum MHD_Result
handle_manifest_put(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_manifest m = { 0 };
        struct digest d;
        size_t i;
        _cleanup_free_ char *loc = NULL;
        const char *h[9] = { NULL };
        size_t nh = 0;
        enum MHD_Result ret;

        if (r->too_large)
                return reg_respond_error(r, 413, "SIZE_INVALID", "manifest is over the %d byte limit",
                                         LIMIT_MANIFEST_SIZE);
        if (reg_manifest_parse(r->buf ? r->buf : "", r->len, reg_header(r, "Content-Type"), &m, &e) < 0)
                return reg_respond_err(r, &e);
        if (r->route.ref_is_digest) {
                struct digest want;
                digest_parse(r->route.ref, &want, NULL);
                digest_buffer(want.alg, r->buf ? r->buf : "", r->len, &d);
                if (strcmp(d.str, want.str) != 0) {
                        reg_manifest_clear(&m);
                        return reg_respond_error(r, 400, "DIGEST_INVALID",
                                                 "manifest body has digest %s, not %s", d.str, want.str);
                }
        } else {
                digest_buffer(DIGEST_SHA256, r->buf ? r->buf : "", r->len, &d);
        }
        /* Every blob and child manifest must be in this repository, with
         * the size its descriptor says: a client trusting the descriptor
         * would read short or past the end of what it was given. */
        for (i = 0; i < m.n_blobs; i++) {
                uint64_t size;
                if (!OPS(r)->layer_exists(ST(r), r->route.name, &m.blobs[i]) ||
                    OPS(r)->blob_stat(ST(r), &m.blobs[i], &size, NULL) < 0) {
                        ret = reg_respond_error(r, 400, "MANIFEST_BLOB_UNKNOWN",
                                                "blob %s is not in repository %s", m.blobs[i].str,
                                                r->route.name);
                        reg_manifest_clear(&m);
                        return ret;
                }
                if (size != m.blob_sizes[i]) {
                        ret = reg_respond_error(r, 400, "MANIFEST_INVALID",
                                                "descriptor of blob %s says %llu bytes, but the blob is %llu bytes",
                                                m.blobs[i].str, (unsigned long long) m.blob_sizes[i],
                                                (unsigned long long) size);
                        reg_manifest_clear(&m);
                        return ret;
                }
        }
        for (i = 0; i < m.n_children; i++) {
                char cmt[256];
                uint64_t size;
                if (OPS(r)->manifest_get(ST(r), r->route.name, &m.children[i], cmt, sizeof(cmt), NULL) < 0 ||
                    OPS(r)->blob_stat(ST(r), &m.children[i], &size, NULL) < 0) {
                        ret = reg_respond_error(r, 400, "MANIFEST_BLOB_UNKNOWN",
                                                "manifest %s is not in repository %s",
                                                m.children[i].str, r->route.name);
                        reg_manifest_clear(&m);
                        return ret;
                }
                if (size != m.child_sizes[i]) {
                        ret = reg_respond_error(r, 400, "MANIFEST_INVALID",
                                                "descriptor of manifest %s says %llu bytes, but the manifest is "
                                                "%llu bytes",
                                                m.children[i].str, (unsigned long long) m.child_sizes[i],
                                                (unsigned long long) size);
                        reg_manifest_clear(&m);
                        return ret;
                }
        }
        /* Content, then the revision, then the referrers entry, then the
         * tag: a crash in between leaves only unreferenced records. */
        if (OPS(r)->blob_put_buf(ST(r), &d, r->buf ? r->buf : "", r->len, &e) < 0 ||
            OPS(r)->manifest_put(ST(r), r->route.name, &d, m.media_type, &e) < 0) {
                reg_manifest_clear(&m);
                return reg_respond_err(r, &e);
        }
        if (m.has_subject) {
                _cleanup_free_ char *desc = reg_manifest_descriptor(&m, &d, r->len);
                if (OPS(r)->referrer_add(ST(r), r->route.name, &m.subject, &d, desc, &e) < 0) {
                        reg_manifest_clear(&m);
                        return reg_respond_err(r, &e);
                }
        }
        if (!r->route.ref_is_digest && OPS(r)->tag_put(ST(r), r->route.name, r->route.ref, &d, &e) < 0) {
                reg_manifest_clear(&m);
                return reg_respond_err(r, &e);
        }
        {
                _cleanup_free_ char *what = xasprintf("%s%s%s", d.str, r->route.ref_is_digest ? "" : " tag=",
                                                      r->route.ref_is_digest ? "" : r->route.ref);
                reg_audit(r, "push-manifest", what);
        }
        loc = xasprintf("/v2/%s/manifests/%s", r->route.name, d.str);
        h[nh++] = "Location";
        h[nh++] = loc;
        h[nh++] = "Docker-Content-Digest";
        h[nh++] = d.str;
        if (m.has_subject) {
                h[nh++] = "OCI-Subject";
                h[nh++] = m.subject.str;
        }
        h[nh++] = "Content-Length";
        h[nh++] = "0";
        ret = reg_respond_empty(r, 201, h);
        reg_manifest_clear(&m);
        return ret;
}

static enum MHD_Result
handle_manifest_delete(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;

        if (!r->route.ref_is_digest) {
                /* Deleting a tag removes only the tag. */
                if (OPS(r)->tag_delete(ST(r), r->route.name, r->route.ref, &e) < 0)
                        return reg_respond_err(r, &e);
                reg_audit(r, "delete-tag", r->route.ref);
                return reg_respond_empty(r, 202, NO_HEADERS);
        }
        digest_parse(r->route.ref, &d, NULL);
        {
                _cleanup_free_ char *body = NULL;
                size_t len;
                char mt[256];
                if (OPS(r)->manifest_get(ST(r), r->route.name, &d, mt, sizeof(mt), &e) < 0)
                        return reg_respond_err(r, &e);
                if (OPS(r)->blob_read(ST(r), &d, LIMIT_MANIFEST_SIZE, &body, &len, NULL) == 0) {
                        struct reg_manifest m = { 0 };
                        if (reg_manifest_parse(body, len, mt, &m, NULL) == 0 && m.has_subject)
                                OPS(r)->referrer_remove(ST(r), r->route.name, &m.subject, &d, NULL);
                        reg_manifest_clear(&m);
                }
        }
        if (OPS(r)->manifest_delete(ST(r), r->route.name, &d, &e) < 0)
                return reg_respond_err(r, &e);
        reg_audit(r, "delete-manifest", d.str);
        return reg_respond_empty(r, 202, NO_HEADERS);
}

/* Blob bodies over plain TCP go out with sendfile from the sender threads
 * (sender.c, which says why not through libmicrohttpd's own fd responses);
 * small ones, and all of them with TLS, through a read callback that
 * preads into the response's 256 KiB buffer.  Either way memory stays at
 * one buffer per download in flight, and nothing is touched until used. */
#define BLOB_SEND_BLOCK (256 * 1024)
/* Below this the connection is worth keeping open more than sendfile is
 * worth having (the sendfile path ends by closing it). */
#define BLOB_SENDFILE_MIN (1024 * 1024)

struct blob_reader {
        int fd;
        uint64_t start;
        struct reg_sender *sender; /* NULL: pread */
        bool queued;
        struct reg_send_job job;
        uint64_t *bytes_out; /* the request's, for the log: what was sent */
};

static ssize_t
blob_reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct blob_reader *br = cls;
        ssize_t n;

        if (br->queued) { /* called again once the sender resumed us */
                *br->bytes_out = (uint64_t) br->job.off - br->start;
                return atomic_load(&br->job.result) > 0 ? MHD_CONTENT_READER_END_OF_STREAM
                                                        : MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (br->sender && pos == 0) {
                br->job.fd = br->fd;
                br->job.off = (off_t) br->start;
                if (reg_sender_queue(br->sender, &br->job) == 0) {
                        br->queued = true;
                        return 0;
                }
        }
        do
                n = pread(br->fd, buf, max, (off_t) (br->start + pos));
        while (n < 0 && errno == EINTR);
        /* Blob files are written once and renamed into place, so an early
         * end means the file is not what it was: drop the connection. */
        return n <= 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void
blob_reader_free(void *cls)
{
        struct blob_reader *br = cls;

        close(br->fd);
        free(br);
}

/* A response of LEN bytes of FD from START for R; takes FD (closed even on
 * failure). */
static struct MHD_Response *
blob_response(struct reg_req *r, int fd, uint64_t start, uint64_t len)
{
        struct blob_reader *br;
        struct MHD_Response *resp;
        size_t block = len < BLOB_SEND_BLOCK ? (size_t) (len ? len : 1) : BLOB_SEND_BLOCK;

        br = xcalloc(1, sizeof(*br));
        br->fd = fd;
        br->start = start;
        if (r->srv->sender && r->method == M_GET && len >= BLOB_SENDFILE_MIN) {
                br->sender = r->srv->sender;
                br->job.conn = r->conn;
                br->job.end = (off_t) (start + len);
                br->bytes_out = &r->bytes_out;
        }
        resp = MHD_create_response_from_callback(len, block, blob_reader_read, br, blob_reader_free);
        if (!resp) {
                blob_reader_free(br);
                return NULL;
        }
        if (br->sender)
                MHD_add_response_header(resp, "Connection", "close");
        return resp;
}

static enum MHD_Result
handle_blob_get(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;
        struct reg_range range;
        uint64_t size;
        int fd, rr;
        struct MHD_Response *resp;
        char etag[DIGEST_STR_MAX + 4], cr[96];
        int status = 200;

        digest_parse(r->route.ref, &d, NULL);
        /* Refreshes the link: gc's grace period counts from this use. */
        if (!OPS(r)->layer_use(ST(r), r->route.name, &d))
                return reg_respond_error(r, 404, "BLOB_UNKNOWN", "blob %s not found in %s", d.str,
                                         r->route.name);
        if (OPS(r)->blob_open(ST(r), &d, &fd, &size, &e) < 0)
                return reg_respond_err(r, &e);
        rr = reg_range_parse(reg_header(r, "Range"), size, &range, &e);
        if (rr < 0) {
                char crv[64];
                const char *h[] = { "Content-Range", crv, NULL };

                close(fd);
                snprintf(crv, sizeof(crv), "bytes */%llu", (unsigned long long) size);
                /* The distribution-spec's closed list of error codes has none
                 * for a Range the blob cannot satisfy (its RANGE_INVALID-like
                 * cases are all about uploads), so keep the HTTP 416 that says
                 * it and use UNSUPPORTED with a message naming the range. */
                return reg_respond_error_hdrs(r, 416, "UNSUPPORTED", h,
                                              "range not satisfiable: %.100s (blob %s is %llu bytes)",
                                              reg_header(r, "Range") ? reg_header(r, "Range") : "", d.str,
                                              (unsigned long long) size);
        }
        if (rr == 0) {
                range.start = 0;
                range.len = size;
        } else {
                status = 206;
        }
        resp = blob_response(r, fd, range.start, range.len);
        if (!resp) {
                return reg_respond_error(r, 500, "UNKNOWN", "cannot create response");
        }
        snprintf(etag, sizeof(etag), "\"%s\"", d.str);
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
        MHD_add_response_header(resp, "Docker-Content-Digest", d.str);
        MHD_add_response_header(resp, "ETag", etag);
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
        if (status == 206) {
                snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long) range.start,
                         (unsigned long long) (range.start + range.len - 1), (unsigned long long) size);
                MHD_add_response_header(resp, "Content-Range", cr);
        }
        if (r->method == M_GET)
                r->bytes_out += range.len;
        return reg_respond(r, status, resp);
}

static enum MHD_Result
handle_blob_delete(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;

        digest_parse(r->route.ref, &d, NULL);
        if (OPS(r)->layer_unlink(ST(r), r->route.name, &d, &e) < 0)
                return reg_respond_err(r, &e);
        reg_audit(r, "delete-blob", d.str);
        return reg_respond_empty(r, 202, NO_HEADERS);
}

/* Give up R's upload session: its bytes are deleted at once (a failed
 * write on a full disk must not keep holding the space until the client
 * or gc gets to it), so the client starts over with a new POST. */
static void
drop_upload(struct reg_req *r)
{
        if (!r->sess)
                return;
        if (r->fd >= 0) {
                close(r->fd);
                r->fd = -1;
        }
        OPS(r)->upload_delete(ST(r), r->route.name, r->sess->uuid, NULL);
        reg_session_release(r->srv, r->sess, true);
        r->sess = NULL;
        atomic_fetch_sub(&r->srv->uploads_open, 1);
}

/* A body write of R's upload failed: answer it, freeing the session
 * unless the failure was the client's Content-Range (resumable). */
static enum MHD_Result
respond_upload_body_err(struct reg_req *r)
{
        if (err_code(&r->body_err) == ERR_RANGE_INVALID && r->sess)
                return respond_upload_status(r, 416, r->sess->uuid, r->sess->hashed);
        drop_upload(r);
        return reg_respond_err(r, &r->body_err);
}

/* The upload's bytes are all in: check the digest and commit. */
static enum MHD_Result
finish_upload(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest want, got;
        char uuid[REG_UUID_LEN + 1];
        _cleanup_free_ char *loc = NULL;

        snprintf(uuid, sizeof(uuid), "%s", r->sess->uuid);
        digest_parse(r->digest_q, &want, NULL);
        if (want.alg == DIGEST_SHA256) {
                digest_ctx_final(r->sess->hash, &got);
                digest_ctx_free(r->sess->hash);
                r->sess->hash = NULL;
        } else {
                uint64_t sz;
                lseek(r->fd, 0, SEEK_SET);
                if (digest_fd(want.alg, r->fd, &got, &sz, &e) < 0)
                        return reg_respond_err(r, &e);
        }
        if (strcmp(got.str, want.str) != 0) {
                /* The bytes are not what the client meant: nothing to resume. */
                drop_upload(r);
                return reg_respond_error(r, 400, "DIGEST_INVALID",
                                         "uploaded content has digest %s, not %s", got.str, want.str);
        }
        close(r->fd);
        r->fd = -1;
        if (OPS(r)->upload_commit(ST(r), r->route.name, uuid, &want, &e) < 0)
                return reg_respond_err(r, &e);
        reg_session_release(r->srv, r->sess, true);
        r->sess = NULL;
        atomic_fetch_sub(&r->srv->uploads_open, 1);
        reg_audit(r, "push-blob", want.str);
        loc = xasprintf("/v2/%s/blobs/%s", r->route.name, want.str);
        {
                const char *h[] = { "Location", loc, "Docker-Content-Digest", want.str,
                                    "Content-Length", "0", NULL };
                return reg_respond_empty(r, 201, h);
        }
}

static enum MHD_Result
handle_uploads_post(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        char uuid[REG_UUID_LEN + 1];

        if (r->monolithic) {
                if (r->body_err)
                        return respond_upload_body_err(r);
                return finish_upload(r);
        }
        if (OPS(r)->upload_create(ST(r), r->route.name, uuid, &e) < 0)
                return reg_respond_err(r, &e);
        atomic_fetch_add(&r->srv->uploads_open, 1);
        return respond_upload_status(r, 202, uuid, 0);
}

static enum MHD_Result
handle_upload(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        int fd;
        uint64_t size;

        switch (r->method) {
        case M_GET:
                if (OPS(r)->upload_open(ST(r), r->route.name, r->route.ref, &fd, &size, &e) < 0)
                        return reg_respond_err(r, &e);
                close(fd);
                return respond_upload_status(r, 204, r->route.ref, size);
        case M_DELETE:
                if (OPS(r)->upload_delete(ST(r), r->route.name, r->route.ref, &e) < 0)
                        return reg_respond_err(r, &e);
                atomic_fetch_sub(&r->srv->uploads_open, 1);
                {
                        struct reg_session *s;
                        if (reg_session_acquire(r->srv, r->route.name, r->route.ref, &s) == 0)
                                reg_session_release(r->srv, s, true);
                }
                return reg_respond_empty(r, 204, NO_HEADERS);
        case M_PATCH:
                if (r->body_err)
                        return respond_upload_body_err(r);
                /* A chunk under the minimum can only be the last one. */
                if (r->srv->chunk_min_length && r->sess->hashed > r->upload_start &&
                    r->sess->hashed - r->upload_start < r->srv->chunk_min_length)
                        r->sess->short_chunk = true;
                return respond_upload_status(r, 202, r->route.ref, r->sess->hashed);
        case M_PUT:
                if (r->body_err)
                        return respond_upload_body_err(r);
                return finish_upload(r);
        default:
                return reg_respond_error(r, 405, "UNSUPPORTED", "method not allowed");
        }
}

static enum MHD_Result
handle_referrers(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv descs = { 0 };
        struct digest subject;
        const char *filter = reg_query(r, "artifactType");
        json_t *root = json_object(), *arr = json_array();
        const char *h[3] = { NULL };
        size_t i;

        digest_parse(r->route.ref, &subject, NULL);
        if (OPS(r)->referrer_list(ST(r), r->route.name, &subject, &descs, &e) < 0) {
                json_decref(root);
                json_decref(arr);
                return reg_respond_err(r, &e);
        }
        for (i = 0; i < descs.n; i++) {
                json_t *d = json_loads(descs.v[i], 0, NULL);
                const char *at;
                if (!d)
                        continue;
                at = json_string_value(json_object_get(d, "artifactType"));
                if (filter && (!at || strcmp(at, filter) != 0)) {
                        json_decref(d);
                        continue;
                }
                json_array_append_new(arr, d);
        }
        reg_strv_free(&descs);
        json_object_set_new(root, "schemaVersion", json_integer(2));
        json_object_set_new(root, "mediaType", json_string("application/vnd.oci.image.index.v1+json"));
        json_object_set_new(root, "manifests", arr);
        if (filter) {
                h[0] = "OCI-Filters-Applied";
                h[1] = "artifactType";
        }
        return respond_json(r, 200, "application/vnd.oci.image.index.v1+json", root, h);
}

struct qbuf {
        FILE *f;
        bool first;
};

static enum MHD_Result
add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        struct qbuf *q = cls;
        const char *parts[2] = { key, value };
        int i;

        if (!q->first)
                fputc('&', q->f);
        q->first = false;
        for (i = 0; i < 2; i++) {
                const unsigned char *p = (const unsigned char *) parts[i];
                if (i == 1) {
                        if (!value)
                                break;
                        fputc('=', q->f);
                }
                for (; *p; p++) {
                        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                            (*p >= '0' && *p <= '9') || strchr("-._~", *p))
                                fputc(*p, q->f);
                        else
                                fprintf(q->f, "%%%02X", *p);
                }
        }
        return MHD_YES;
}

static char *
rebuild_query(struct reg_req *r)
{
        char *buf = NULL;
        size_t len = 0;
        struct qbuf q = { open_memstream(&buf, &len), true };

        if (!q.f)
                abort();
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
        fclose(q.f);
        return buf;
}

static enum MHD_Result
handle_token(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        char *body = NULL;
        int status = 0;
        char wa[1024] = "";
        const char *params = NULL;
        _cleanup_free_ char *query = NULL;
        enum MHD_Result ret;

        if (r->too_large)
                return reg_respond_error(r, 413, "SIZE_INVALID", "token request is over the %zu byte limit",
                                         r->cap);
        if (r->method == M_GET) {
                /* MHD has split and decoded the query; the auth module
                 * parses the raw form, so encode it again. */
                query = rebuild_query(r);
                params = query;
        } else {
                params = r->buf ? r->buf : "";
        }
        if (reg_auth_token_endpoint(r->srv->auth, r->method == M_GET ? "GET" : "POST",
                                    reg_header(r, "Authorization"), params, &body, &status, wa,
                                    sizeof(wa), r->user, sizeof(r->user), &e) < 0)
                return reg_respond_err(r, &e);
        {
                const char *h[] = { "WWW-Authenticate", wa, "Cache-Control", "no-store", NULL };
                const char *h2[] = { "Cache-Control", "no-store", NULL };
                ret = reg_respond_body(r, status, "application/json", body, strlen(body),
                                       status == 401 && wa[0] ? h : h2);
        }
        explicit_bzero(body, strlen(body));
        free(body);
        return ret;
}

/* ---------- finish ---------- */

enum MHD_Result
reg_handle_finish(struct reg_req *r)
{
        switch (r->route.kind) {
        case REG_ROUTE_BASE:
                return reg_respond_body(r, 200, "application/json", "{}", 2, NO_HEADERS);
        case REG_ROUTE_HEALTH:
                return reg_respond_body(r, 200, "application/json", "{\"status\":\"ok\"}", 15,
                                        NO_HEADERS);
        case REG_ROUTE_METRICS: {
                char *text = reg_server_metrics_text(r->srv);
                enum MHD_Result ret = reg_respond_body(r, 200, "text/plain; version=0.0.4", text,
                                                       strlen(text), NO_HEADERS);
                free(text);
                return ret;
        }
        case REG_ROUTE_TOKEN:
                return handle_token(r);
        case REG_ROUTE_CATALOG:
                return handle_catalog(r);
        case REG_ROUTE_TAGS:
                return handle_tags(r);
        case REG_ROUTE_MANIFEST:
                if (r->method == M_PUT)
                        return handle_manifest_put(r);
                if (r->method == M_DELETE)
                        return handle_manifest_delete(r);
                return handle_manifest_get(r);
        case REG_ROUTE_BLOB:
                if (r->method == M_DELETE)
                        return handle_blob_delete(r);
                return handle_blob_get(r);
        case REG_ROUTE_UPLOADS:
                return handle_uploads_post(r);
        case REG_ROUTE_UPLOAD:
                return handle_upload(r);
        case REG_ROUTE_REFERRERS:
                return handle_referrers(r);
        default:
                return reg_respond_error(r, 404, "NOT_FOUND", "no such endpoint");
        }
}
