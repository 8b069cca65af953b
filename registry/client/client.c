/* The registry client object, per-host state, worker threads, and the
 * read-only requests (manifest, blob, tag list). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "registry/client/client-internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *
dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

int
reg_client_new(const struct reg_client_opts *opts, struct reg_client **ret, struct err **err)
{
        static const struct reg_client_opts defaults = {.retries = -1};
        _cleanup_(oci_platform_freep) struct oci_platform *platform = NULL;
        bool all = false;
        int r;

        if (!opts)
                opts = &defaults;
        if (opts->platform && strcmp(opts->platform, "all") == 0)
                all = true;
        else if (opts->platform)
                r = oci_platform_parse(opts->platform, &platform, err);
        else
                r = oci_platform_host(&platform, err);
        if (!all && r < 0)
                return err_prefix(err, "--platform");

        pthread_once(&curl_once, curl_init_once);
        CURL *h = curl_easy_init();
        if (!h)
                return err_set(err, ENOMEM, "curl_easy_init failed");

        struct reg_client *c = xcalloc(1, sizeof(*c));
        c->creds = dup_or_null(opts->creds);
        c->authfile = dup_or_null(opts->authfile);
        c->tls_verify_disable = opts->tls_verify_disable;
        c->cert_dir = dup_or_null(opts->cert_dir);
        c->plain_http = opts->plain_http;
        c->jobs = opts->jobs > 0 ? opts->jobs : 4;
        if (c->jobs > 64)
                c->jobs = 64;
        c->retries = opts->retries >= 0 ? opts->retries : 3;
        c->all_platforms = all;
        c->platform = steal_ptr(&platform);
        c->log = opts->log;
        c->log_data = opts->log_data;
        c->warn = opts->warn;
        c->warn_data = opts->warn_data;
        c->curl = h;
        c->backoff_ms = 200;
        const char *b = getenv("IBUILD_CLIENT_BACKOFF_MS");
        if (b && *b)
                c->backoff_ms = (unsigned) strtoul(b, NULL, 10);
        c->chunk_threshold = 64ull * 1024 * 1024;
        c->chunk_size = 32ull * 1024 * 1024;
        /* Test knobs: small chunks without 64 MiB test blobs. */
        const char *ct = getenv("IBUILD_CLIENT_CHUNK_THRESHOLD");
        if (ct && *ct)
                c->chunk_threshold = strtoull(ct, NULL, 10);
        const char *cs = getenv("IBUILD_CLIENT_CHUNK_SIZE");
        if (cs && *cs && strtoull(cs, NULL, 10) > 0)
                c->chunk_size = strtoull(cs, NULL, 10);
        c->known = reg_blobinfo_new();
        c->seen = reg_blobinfo_new();
        pthread_mutex_init(&c->lock, NULL);
        *ret = c;
        return 0;
}

static void
host_free(struct reg_host *h)
{
        free(h->host);
        free(h->cred_host);
        free(h->base);
        reg_challenges_free(h->challenges);
        reg_creds_free(h->creds);
        err_clear(&h->creds_err);
        free(h->creds_note);
        free(h->ca_blob);
        free(h->client_cert);
        free(h->client_key);
        while (h->tokens) {
                struct reg_token_entry *t = h->tokens;
                h->tokens = t->next;
                explicit_bzero(t->token, strlen(t->token));
                free(t->token);
                free(t->scope);
                free(t);
        }
        pthread_mutex_destroy(&h->lock);
        free(h);
}

void
reg_client_free(struct reg_client *c)
{
        if (!c)
                return;
        while (c->hosts) {
                struct reg_host *h = c->hosts;
                c->hosts = h->next;
                host_free(h);
        }
        reg_blobinfo_free(c->known);
        reg_blobinfo_free(c->seen);
        if (c->creds)
                explicit_bzero(c->creds, strlen(c->creds));
        free(c->creds);
        free(c->authfile);
        free(c->cert_dir);
        oci_platform_free(c->platform);
        if (c->curl)
                curl_easy_cleanup(c->curl);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

struct reg_host *
reg_client_host(struct reg_client *c, const char *host, const char *cred_host)
{
        pthread_mutex_lock(&c->lock);
        for (struct reg_host *h = c->hosts; h; h = h->next)
                if (strcasecmp(h->host, host) == 0) {
                        pthread_mutex_unlock(&c->lock);
                        return h;
                }
        struct reg_host *h = xcalloc(1, sizeof(*h));
        h->host = xstrdup(host);
        h->cred_host = xstrdup(cred_host);
        pthread_mutex_init(&h->lock, NULL);
        reg_host_load_certs(c, h);
        h->next = c->hosts;
        c->hosts = h;
        pthread_mutex_unlock(&c->lock);
        return h;
}

void
reg_client_logf(struct reg_client *c, const char *fmt, ...)
{
        if (!c->log)
                return;
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        c->log(line, c->log_data);
}

void
reg_client_warnf(struct reg_client *c, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (c->warn) {
                c->warn(line, c->warn_data);
        } else if (c->log) {
                char full[1100];
                snprintf(full, sizeof(full), "warning: %s", line);
                c->log(full, c->log_data);
        }
}

void
reg_client_note_source(struct reg_client *c, const char *host, const char *repo, const char *digest)
{
        time_t now = time(NULL);
        pthread_mutex_lock(&c->lock);
        reg_blobinfo_note(c->known, digest, host, repo, now);
        reg_blobinfo_note(c->seen, digest, host, repo, now);
        pthread_mutex_unlock(&c->lock);
}

void
reg_client_hint_source(struct reg_client *c, const char *host, const char *repo, const char *digest)
{
        pthread_mutex_lock(&c->lock);
        reg_blobinfo_note(c->known, digest, host, repo, time(NULL));
        pthread_mutex_unlock(&c->lock);
}

char *
reg_client_find_source(struct reg_client *c, const char *host, const char *not_repo, const char *digest)
{
        pthread_mutex_lock(&c->lock);
        const char *repo = reg_blobinfo_find(c->known, digest, host, not_repo);
        char *ret = repo ? xstrdup(repo) : NULL;
        pthread_mutex_unlock(&c->lock);
        return ret;
}

void
reg_client_blobinfo_load(struct reg_client *c, struct oci_store *store)
{
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = NULL;
        _cleanup_err_ struct err *e = NULL;
        size_t dropped = 0;

        if (reg_blobinfo_load(store, &bi, &dropped, &e) < 0) {
                reg_client_warnf(c, "ignoring the blob-location record: %s", err_msg(&e));
                return;
        }
        if (dropped)
                reg_client_warnf(c, "blob-location record %s/%s: ignored %zu malformed entr%s", oci_store_path(store),
                                 REG_BLOBINFO_FILE, dropped, dropped == 1 ? "y" : "ies");
        pthread_mutex_lock(&c->lock);
        reg_blobinfo_merge(c->known, bi);
        pthread_mutex_unlock(&c->lock);
}

void
reg_client_blobinfo_save(struct reg_client *c, struct oci_store *store)
{
        _cleanup_err_ struct err *e = NULL;

        pthread_mutex_lock(&c->lock);
        struct reg_blobinfo *seen = steal_ptr(&c->seen);
        c->seen = reg_blobinfo_new();
        pthread_mutex_unlock(&c->lock);
        if (reg_blobinfo_save(store, seen, &e) < 0)
                reg_client_warnf(c, "could not update the blob-location record: %s", err_msg(&e));
        reg_blobinfo_free(seen);
}

/* ---- targets -------------------------------------------------------------- */

int
reg_target_open(struct reg_client *c, CURL *h, const char *ref, bool push, struct reg_target *ret, struct err **err)
{
        _cleanup_oci_ref_ struct oci_ref *r = NULL;
        int rc = oci_ref_parse(ref, &r, err);
        if (rc < 0)
                return rc;
        const char *hostname = oci_ref_registry_host(r);
        struct reg_host *host = reg_client_host(c, hostname, r->domain ? r->domain : OCI_REF_DOCKER_DOMAIN);
        rc = reg_host_ping(c, h, host, err);
        if (rc < 0)
                return rc;
        /* Before any request needs them, as docker does: a warning about
         * the credentials (a credsStore helper that is not installed)
         * shows even when the registry never asks for them. */
        reg_host_lookup_creds(c, host);
        ret->host = host;
        ret->repo = oci_ref_repository(r);
        ret->scope = xasprintf("repository:%s:%s", ret->repo, push ? "pull,push" : "pull");
        ret->ref = steal_ptr(&r);
        return 0;
}

void
reg_target_clear(struct reg_target *t)
{
        if (!t)
                return;
        oci_ref_free(t->ref);
        free(t->scope);
        memset(t, 0, sizeof(*t));
}

char *
reg_target_url(const struct reg_target *t, const char *fmt, ...)
{
        _cleanup_free_ char *tail = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&tail, fmt, ap) < 0)
                abort();
        va_end(ap);
        return xasprintf("%s/v2/%s/%s", t->host->base, t->repo, tail);
}

int
reg_fetch_manifest(struct reg_client *c, CURL *h, struct reg_target *t, const char *reference, char **ret_body,
                   size_t *ret_len, char **ret_media_type, char **ret_digest, struct err **err)
{
        _cleanup_free_ char *url = reg_target_url(t, "manifests/%s", reference);
        struct reg_resp resp = {0};
        struct reg_req req = {
                .method = "GET",
                .url = url,
                .scope = t->scope,
                .headers = {REG_MANIFEST_ACCEPT},
                .cap = LIMIT_MANIFEST_SIZE,
                .follow = true,
        };
        int r = reg_http_do(c, h, t->host, &req, &resp, err);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                r = reg_http_fail(t->host, &resp, err);
                reg_resp_clear(&resp);
                return r;
        }
        struct digest want, got;
        bool by_digest = strchr(reference, ':') != NULL;
        if (by_digest) {
                r = digest_parse(reference, &want, err);
                if (r < 0) {
                        reg_resp_clear(&resp);
                        return r;
                }
        } else {
                want.alg = DIGEST_SHA256;
        }
        const char *body = resp.body ? resp.body : "";
        digest_buffer(want.alg, body, resp.body_len, &got);
        if (by_digest && strcmp(got.str, want.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "registry %s: GET %s: manifest hashes to %s, not %s",
                            t->host->host, url, got.str, want.str);
                reg_resp_clear(&resp);
                return r;
        }
        const char *mt = NULL;
        if (resp.content_type) {
                /* Drop parameters; keep the canonical constant when known. */
                const char *cands[] = {OCI_MT_MANIFEST, OCI_MT_INDEX, DOCKER_MT_MANIFEST, DOCKER_MT_MANIFEST_LIST,
                                       DOCKER_MT_MANIFEST_V1, DOCKER_MT_MANIFEST_V1_SIGNED};
                for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
                        if (oci_mediatype_equal(resp.content_type, cands[i]))
                                mt = cands[i];
        }
        if (!mt)
                mt = oci_detect_media_type(body, resp.body_len);
        if (!mt) {
                r = err_set(err, ERR_MANIFEST_INVALID, "registry %s: GET %s: not a manifest (Content-Type %s)",
                            t->host->host, url, resp.content_type ? resp.content_type : "none");
                reg_resp_clear(&resp);
                return r;
        }
        if (ret_media_type)
                *ret_media_type = xstrdup(mt);
        if (ret_digest)
                *ret_digest = xstrdup(got.str);
        *ret_len = resp.body_len;
        *ret_body = resp.body ? steal_ptr(&resp.body) : xstrdup("");
        reg_resp_clear(&resp);
        return 0;
}

int
reg_client_get_manifest(struct reg_client *c, const char *ref, char **ret_body, size_t *ret_len,
                        char **ret_media_type, char **ret_digest, struct err **err)
{
        struct reg_target t = {0};
        int r = reg_target_open(c, c->curl, ref, false, &t, err);
        if (r < 0)
                return r;
        r = reg_fetch_manifest(c, c->curl, &t, oci_ref_manifest_reference(t.ref), ret_body, ret_len, ret_media_type,
                               ret_digest, err);
        reg_target_clear(&t);
        return r;
}

int
reg_client_get_blob(struct reg_client *c, const char *ref, const char *digest, size_t cap, char **ret_data,
                    size_t *ret_len, struct err **err)
{
        struct reg_target t = {0};
        struct digest want, got;
        int r = digest_parse(digest, &want, err);
        if (r < 0)
                return r;
        r = reg_target_open(c, c->curl, ref, false, &t, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *url = reg_target_url(&t, "blobs/%s", want.str);
        struct reg_resp resp = {0};
        struct reg_req req = {.method = "GET", .url = url, .scope = t.scope, .cap = cap, .follow = true};
        r = reg_http_do(c, c->curl, t.host, &req, &resp, err);
        if (r >= 0 && resp.status != 200)
                r = reg_http_fail(t.host, &resp, err);
        if (r >= 0) {
                digest_buffer(want.alg, resp.body ? resp.body : "", resp.body_len, &got);
                if (strcmp(got.str, want.str) != 0)
                        r = err_set(err, ERR_DIGEST_INVALID, "registry %s: GET %s: blob hashes to %s", t.host->host,
                                    url, got.str);
        }
        if (r >= 0) {
                *ret_len = resp.body_len;
                *ret_data = resp.body ? steal_ptr(&resp.body) : xstrdup("");
        }
        reg_resp_clear(&resp);
        reg_target_clear(&t);
        return r;
}

/* The next page from a Link header: `<URL>; rel="next"`. */
char *
reg_link_next(const char *link)
{
        if (!link)
                return NULL;
        const char *lt = strchr(link, '<');
        const char *gt = lt ? strchr(lt, '>') : NULL;
        if (!gt || !strstr(gt, "next"))
                return NULL;
        return xstrndup(lt + 1, (size_t) (gt - lt - 1));
}

int
reg_client_list_tags(struct reg_client *c, const char *repo, char ***ret_tags, struct err **err)
{
        struct reg_target t = {0};
        int r = reg_target_open(c, c->curl, repo, false, &t, err);
        if (r < 0)
                return r;
        char **tags = oci_strv_new_empty();
        _cleanup_free_ char *url = reg_target_url(&t, "tags/list");
        for (int page = 0; url && page < 10000; page++) {
                struct reg_resp resp = {0};
                struct reg_req req = {.method = "GET", .url = url, .scope = t.scope, .cap = LIMIT_JSON_SIZE,
                                      .follow = true};
                r = reg_http_do(c, c->curl, t.host, &req, &resp, err);
                if (r >= 0 && resp.status != 200)
                        r = reg_http_fail(t.host, &resp, err);
                json_t *j = NULL;
                if (r >= 0) {
                        json_error_t je;
                        j = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &je);
                        json_t *a = j ? json_object_get(j, "tags") : NULL;
                        if (!j || (!json_is_array(a) && !json_is_null(a) && a))
                                r = err_set(err, ERR_HTTP, "registry %s: GET %s: not a tag list", t.host->host, url);
                        size_t i;
                        json_t *v;
                        if (r >= 0 && json_is_array(a))
                                json_array_foreach(a, i, v) if (json_is_string(v)) tags =
                                        oci_strv_append(tags, json_string_value(v));
                }
                json_decref(j);
                char *next = r >= 0 ? reg_link_next(resp.link) : NULL;
                free(url);
                url = next ? reg_url_resolve(resp.url, next) : NULL;
                free(next);
                reg_resp_clear(&resp);
                if (r < 0)
                        break;
        }
        reg_target_clear(&t);
        if (r < 0) {
                oci_strv_free(tags);
                return r;
        }
        *ret_tags = tags;
        return 0;
}
