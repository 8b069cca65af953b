/* What refers to an image (reg_client_list_referrers, client.h): the
 * referrers API (distribution-spec "Listing Referrers"), else the
 * referrers tag schema sha256-<hex> that clients keep for registries
 * without it, plus cosign's signature manifest at sha256-<hex>.sig. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/mediatype.h"
#include "oci/model.h"
#include "oci/ref.h"
#include "oci/signature.h"
#include "registry/client/client-internal.h"
#include "registry/client/client.h"

/* Referrers listed at most (one index page is capped by its size too). */
#define MAX_REFERRERS 4096
/* Pages of the referrers API followed. */
#define MAX_PAGES 64

void
reg_referrers_free(struct reg_referrer *v, size_t n)
{
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].media_type);
                free(v[i].artifact_type);
                free(v[i].digest);
        }
        free(v);
}

struct list {
        struct reg_referrer *v;
        size_t n;
};

static void
add(struct list *l, const char *mt, const char *at, const char *digest, int64_t size, const char *source)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->v[i].digest, digest) == 0)
                        return;
        if (l->n >= MAX_REFERRERS)
                return;
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = (struct reg_referrer){.media_type = xstrdup(mt),
                                             .artifact_type = at ? xstrdup(at) : NULL,
                                             .digest = xstrdup(digest),
                                             .size = size,
                                             .source = source};
}

/* Every descriptor of index BODY, as SOURCE.  A body that is not an
 * index is an error naming WHAT. */
static int
add_index(struct list *l, const char *body, size_t len, const char *what, const char *source, struct err **err)
{
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        int r = oci_index_parse(body, len, &idx, err);

        if (r < 0)
                return err_prefix(err, "%s", what);
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct oci_descriptor *d = &idx->manifests[i];

                add(l, d->media_type, d->artifact_type, d->digest, d->size, source);
        }
        return 0;
}

/* The referrers API: 1 when the registry has it (L filled), 0 when not
 * (404, or an answer that is not an index: distribution 2.8 answers 404). */
static int
from_api(struct reg_client *c, struct reg_target *t, const char *digest, struct list *l, struct err **err)
{
        _cleanup_free_ char *url = reg_target_url(t, "referrers/%s", digest);
        int r = 0;

        for (int page = 0; url && page < MAX_PAGES; page++) {
                struct reg_resp resp = {0};
                struct reg_req req = {.method = "GET", .url = url, .scope = t->scope, .cap = LIMIT_MANIFEST_SIZE,
                                      .follow = true};
                char *next;

                r = reg_http_do(c, c->curl, t->host, &req, &resp, err);
                if (r >= 0 && resp.status != 200) {
                        long st = resp.status;

                        r = page == 0 && (st == 404 || st == 400 || st == 405) ? 0
                                                                                : reg_http_fail(t->host, &resp, err);
                        reg_resp_clear(&resp);
                        return r;
                }
                if (r >= 0) {
                        if (page == 0 && resp.content_type && !oci_mediatype_equal(resp.content_type, OCI_MT_INDEX)) {
                                reg_resp_clear(&resp);
                                return 0;
                        }
                        r = add_index(l, resp.body ? resp.body : "", resp.body_len, "referrers list", "referrers API",
                                      err);
                }
                next = r >= 0 ? reg_link_next(resp.link) : NULL;
                free(url);
                url = next ? reg_url_resolve(resp.url, next) : NULL;
                free(next);
                reg_resp_clear(&resp);
                if (r < 0)
                        return r;
        }
        return 1;
}

/* The manifest at tag TAG of T, or 0 when there is none. */
static int
fetch_tag(struct reg_client *c, struct reg_target *t, const char *tag, char **ret_body, size_t *ret_len,
          char **ret_mt, char **ret_digest, struct err **err)
{
        struct err *e = NULL;
        int r = reg_fetch_manifest(c, c->curl, t, tag, ret_body, ret_len, ret_mt, ret_digest, &e);

        if (r >= 0)
                return 1;
        if (err_code(&e) == ERR_MANIFEST_UNKNOWN || err_code(&e) == ERR_NAME_UNKNOWN || err_code(&e) == ENOENT) {
                err_clear(&e);
                return 0;
        }
        *err = e;
        return r;
}

int
reg_client_list_referrers(struct reg_client *c, const char *ref, struct reg_referrer **ret, size_t *ret_n,
                          char **ret_digest, struct err **err)
{
        struct reg_target t = {0};
        struct list l = {0};
        _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL, *tag = NULL, *sigtag = NULL;
        struct digest d;
        size_t len = 0;
        int r;

        r = reg_target_open(c, c->curl, ref, false, &t, err);
        if (r < 0)
                return r;
        r = reg_fetch_manifest(c, c->curl, &t, oci_ref_manifest_reference(t.ref), &body, &len, &mt, &digest, err);
        if (r >= 0)
                r = digest_parse(digest, &d, err);
        if (r >= 0)
                r = from_api(c, &t, digest, &l, err);
        if (r >= 0)
                tag = xasprintf("%s-%s", digest_alg_name(d.alg), d.hex);
        if (r == 0) {
                _cleanup_free_ char *fb = NULL, *fmt = NULL, *fdg = NULL;
                size_t flen = 0;

                r = fetch_tag(c, &t, tag, &fb, &flen, &fmt, &fdg, err);
                if (r > 0)
                        r = add_index(&l, fb, flen, tag, "tag schema", err);
        }
        if (r >= 0) {
                _cleanup_free_ char *sb = NULL, *smt = NULL, *sdg = NULL;
                size_t slen = 0;

                /* cosign keeps signatures at a tag of its own. */
                sigtag = xasprintf("%s.sig", tag);
                r = fetch_tag(c, &t, sigtag, &sb, &slen, &smt, &sdg, err);
                if (r > 0)
                        add(&l, smt, OCI_MT_COSIGN_SIMPLESIGNING, sdg, (int64_t) slen, "cosign tag");
        }
        reg_target_clear(&t);
        if (r < 0) {
                reg_referrers_free(l.v, l.n);
                return err_prefix(err, "referrers of %s", ref);
        }
        *ret = l.v;
        *ret_n = l.n;
        if (ret_digest)
                *ret_digest = steal_ptr(&digest);
        return 0;
}
