/* Endpoint handlers of the OCI distribution-spec v1.1: routing, method
 * and auth checks, the token endpoint, and dispatch to the handlers of
 * each concern (handlers-internal.h). */
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
#include "registry/server/handlers-internal.h"

const char *const REG_NO_HEADERS[] = { NULL };

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
        case REG_ROUTE_UPLOADS:
                return reg_begin_uploads(r);
        case REG_ROUTE_UPLOAD:
                return reg_begin_upload(r);
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
                reg_upload_body(r, data, len);
                return;
        }
}

enum MHD_Result
reg_respond_json(struct reg_req *r, int status, const char *ct, json_t *root, const char *const *h)
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
                return reg_respond_body(r, 200, "application/json", "{}", 2, REG_NO_HEADERS);
        case REG_ROUTE_HEALTH:
                return reg_respond_body(r, 200, "application/json", "{\"status\":\"ok\"}", 15,
                                        REG_NO_HEADERS);
        case REG_ROUTE_METRICS: {
                char *text = reg_server_metrics_text(r->srv);
                enum MHD_Result ret = reg_respond_body(r, 200, "text/plain; version=0.0.4", text,
                                                       strlen(text), REG_NO_HEADERS);
                free(text);
                return ret;
        }
        case REG_ROUTE_TOKEN:
                return handle_token(r);
        case REG_ROUTE_CATALOG:
                return reg_handle_catalog(r);
        case REG_ROUTE_TAGS:
                return reg_handle_tags(r);
        case REG_ROUTE_MANIFEST:
                if (r->method == M_PUT)
                        return reg_handle_manifest_put(r);
                if (r->method == M_DELETE)
                        return reg_handle_manifest_delete(r);
                return reg_handle_manifest_get(r);
        case REG_ROUTE_BLOB:
                if (r->method == M_DELETE)
                        return reg_handle_blob_delete(r);
                return reg_handle_blob_get(r);
        case REG_ROUTE_UPLOADS:
                return reg_handle_uploads_post(r);
        case REG_ROUTE_UPLOAD:
                return reg_handle_upload(r);
        case REG_ROUTE_REFERRERS:
                return reg_handle_referrers(r);
        default:
                return reg_respond_error(r, 404, "NOT_FOUND", "no such endpoint");
        }
}
