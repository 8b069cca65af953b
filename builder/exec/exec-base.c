/* Base images: a FROM or COPY --from image resolved from the local store,
 * an "oci:DIR[:NAME]" layout or a registry pull, loaded (manifest, or an
 * index's manifest for the platform) to its config and layers once per
 * build; the config the plan asks for (ENV, ONBUILD triggers); and the same
 * lookup without network for plans that must not pull
 * (build_base_config_lookup_local, exec.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/dockerfile/plan.h"
#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/layout.h"
#include "oci/platform.h"
#include "oci/ref.h"
#include "registry/client/client.h"

static void
xbase_free(struct xbase *b)
{
        if (!b)
                return;
        free(b->ref);
        free(b->platform);
        oci_image_config_free(b->cfg);
        for (size_t k = 0; k < b->n_layers; k++)
                oci_descriptor_clear(&b->layers[k]);
        free(b->layers);
        free(b->digest);
        free(b);
}

void
xbases_free(struct xctx *x)
{
        for (size_t i = 0; i < x->n_bases; i++)
                xbase_free(x->bases[i]);
        free(x->bases);
        x->bases = NULL;
        x->n_bases = 0;
}

int
xread_json_blob(struct oci_layout *lay, const char *digest, size_t cap, char **ret, size_t *ret_len, struct err **err)
{
        struct digest d;
        int r = digest_parse(digest, &d, err);

        if (r < 0)
                return r;
        return oci_layout_read_blob(lay, &d, cap, ret, ret_len, err);
}

/* A single-platform image for another platform than WANT is refused when
 * the platform was asked for (STRICT): the result would claim a platform
 * its files are not for.  A config without os/architecture passes. */
static int
check_platform(const struct oci_image_config *cfg, const char *want_s, bool strict, const char *what, struct err **err)
{
        _cleanup_(oci_platform_freep) struct oci_platform *want = NULL, *have = oci_image_config_platform(cfg);
        _cleanup_free_ char *have_s = NULL;
        int r;

        if (!strict || !have || !have->os || !have->architecture || !*have->architecture)
                return 0;
        r = oci_platform_parse(want_s, &want, err);
        if (r < 0)
                return err_prefix(err, "%s", what);
        if (oci_platform_match(want, have))
                return 0;
        have_s = oci_platform_format(have);
        return err_set(err, ERR_MANIFEST_UNKNOWN,
                       "%s: no image for platform %s (the image is for %s only; multi-platform bases need an index)",
                       what, want_s, have_s);
}

/* Load manifest (or index → PLATFORM's manifest) DESC from LAY into B. */
static int
load_image(struct oci_layout *lay, const struct oci_descriptor *desc, const char *platform, bool strict,
           const char *what, struct xbase *b, struct err **err)
{
        _cleanup_free_ char *buf = NULL, *cbuf = NULL;
        struct oci_document doc = {0};
        size_t len, clen;
        int r;

        r = xread_json_blob(lay, desc->digest, LIMIT_MANIFEST_SIZE, &buf, &len, err);
        if (r < 0)
                return err_prefix(err, "%s", what);
        r = oci_document_parse(buf, len, desc->media_type, &doc, err);
        if (r < 0)
                return err_prefix(err, "%s", what);
        if (doc.index) {
                struct oci_platform *want = NULL;
                size_t i;

                r = oci_platform_parse(platform, &want, err);
                if (r >= 0)
                        r = oci_index_select_platform(doc.index, want, &i, err);
                oci_platform_free(want);
                if (r < 0) {
                        oci_document_clear(&doc);
                        return err_prefix(err, "%s", what);
                }
                r = load_image(lay, &doc.index->manifests[i], platform, strict, what, b, err);
                oci_document_clear(&doc);
                return r;
        }
        r = xread_json_blob(lay, doc.manifest->config.digest, LIMIT_CONFIG_SIZE, &cbuf, &clen, err);
        if (r >= 0)
                r = oci_image_config_parse(cbuf, clen, &b->cfg, err);
        if (r < 0) {
                oci_document_clear(&doc);
                return err_prefix(err, "%s: config", what);
        }
        r = check_platform(b->cfg, platform, strict, what, err);
        if (r < 0) {
                oci_document_clear(&doc);
                return r;
        }
        if (oci_strv_len(b->cfg->diff_ids) != doc.manifest->n_layers) {
                oci_document_clear(&doc);
                return err_set(err, ERR_MANIFEST_INVALID, "%s: %zu layers but %zu diff_ids in the config", what,
                               doc.manifest->n_layers, oci_strv_len(b->cfg->diff_ids));
        }
        b->layers = xcalloc(doc.manifest->n_layers + 1, sizeof(*b->layers));
        for (size_t i = 0; i < doc.manifest->n_layers; i++)
                oci_descriptor_copy(&b->layers[i], &doc.manifest->layers[i]);
        b->n_layers = doc.manifest->n_layers;
        free(b->digest);
        b->digest = xstrdup(desc->digest);
        oci_document_clear(&doc);
        return 0;
}

/* Is PLATFORM asked for, rather than this machine's by default?  A build
 * without --platform takes a single-platform base of any platform, as
 * BuildKit does for an implicit target platform. */
static bool
platform_requested(const struct xctx *x, const char *platform)
{
        _cleanup_free_ char *host = build_plan_host_platform();

        return x->o->platform || strcmp(platform, host) != 0;
}

static void
pull_log(const char *line, void *data)
{
        const struct xctx *x = data;

        if (x->o->event)
                x->o->event(x->o->event_data, BUILD_EVENT_INFO, line, 0);
}

/* The registry client's warnings (a credential helper missing, ...): shown
 * even with -q, as every "warning: " line is. */
static void
pull_warn(const char *line, void *data)
{
        _cleanup_free_ char *w = xasprintf("warning: %s", line);

        pull_log(w, data);
}

/* Open the layout of REF ("oci:DIR[:NAME]") into *RET_LAYOUT and select
 * NAME in it. */
static int
layout_ref_select(const char *ref, struct oci_layout **ret_layout, struct oci_descriptor *ret_desc,
                  struct err **err)
{
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r = oci_layout_parse_ref(ref, &dir, &name, err);

        if (r >= 0)
                r = oci_layout_open(dir, ret_layout, err);
        if (r >= 0)
                r = oci_layout_select(*ret_layout, name, ret_desc, err);
        return r;
}

/* REF names an image built in this store ("localhost/..."): nothing to
 * verify, it was never pulled. */
static bool
built_here(struct xctx *x, const char *ref)
{
        _cleanup_free_ char *name = NULL;
        struct oci_descriptor d = {0};
        bool local;

        if (oci_store_resolve(x->store, ref, &d, &name, NULL) < 0)
                return false;
        oci_descriptor_clear(&d);
        local = name && strncmp(name, "localhost/", 10) == 0;
        return local;
}

/* --pull-verify-key: what REF resolves to in its registry must carry a
 * signature by one of the keys; then that digest is used, from the store
 * when it is there, else pulled by digest (a moved tag cannot swap it). */
static int
fetch_verified(struct xctx *x, const char *ref, const char *platform, struct oci_descriptor *ret, struct err **err)
{
        struct reg_client_opts co = {
            .platform = platform, .log = pull_log, .log_data = x, .warn = pull_warn, .warn_data = x, .retries = -1};
        _cleanup_reg_client_ struct reg_client *c = NULL;
        _cleanup_free_ char *digest = NULL, *key = NULL, *pinned = NULL, *line = NULL;
        _cleanup_oci_ref_ struct oci_ref *pr = NULL;
        struct reg_pull_result res = {0};
        int r;

        if (x->o->pull == BUILD_PULL_NEVER)
                return err_set(err, EINVAL, "base image %s: --pull-verify-key needs the registry (not --pull=never)",
                               ref);
        r = reg_client_new(&co, &c, err);
        if (r >= 0)
                r = reg_client_verify(c, ref, x->o->verify_keys, x->o->n_verify_keys, &digest, &key, err);
        if (r >= 0)
                r = oci_ref_parse(ref, &pr, err);
        if (r >= 0)
                r = oci_ref_set_digest(pr, digest, err);
        if (r < 0)
                return err_prefix(err, "base image %s", ref);
        line = xasprintf("verified signature of %s (%s) with %s", ref, digest, key);
        pull_log(line, x);
        if (x->o->pull != BUILD_PULL_ALWAYS && oci_store_resolve(x->store, digest, ret, NULL, NULL) >= 0)
                return 0;
        pinned = oci_ref_string(pr);
        free(line);
        line = xasprintf("pulling %s", pinned);
        pull_log(line, x);
        r = reg_client_pull_to_store(c, pinned, x->store, strchr(ref, '@') ? NULL : ref, &res, err);
        if (r < 0)
                return err_prefix(err, "base image %s", ref);
        oci_descriptor_copy(ret, &res.desc);
        reg_pull_result_clear(&res);
        return 0;
}

static int
fetch_base(struct xctx *x, const char *ref, const char *platform, struct xbase *b, struct err **err)
{
        bool strict = platform_requested(x, platform);
        struct oci_descriptor desc = {0};
        int r;

        if (oci_layout_is_ref(ref)) {
                _cleanup_oci_layout_ struct oci_layout *src = NULL;

                r = layout_ref_select(ref, &src, &desc, err);
                if (r >= 0)
                        r = reg_layout_copy(src, &desc, x->layout, err);
                if (r < 0) {
                        oci_descriptor_clear(&desc);
                        return err_prefix(err, "base image %s", ref);
                }
        } else if (x->o->n_verify_keys && !built_here(x, ref)) {
                r = fetch_verified(x, ref, platform, &desc, err);
                if (r < 0)
                        return r;
        } else {
                r = -ENOENT;
                if (x->o->pull != BUILD_PULL_ALWAYS) {
                        struct err *e2 = NULL;

                        r = oci_store_resolve(x->store, ref, &desc, NULL, &e2);
                        if (r < 0 && err_code(&e2) != ERR_MANIFEST_UNKNOWN && err_code(&e2) != ERR_REFERENCE_INVALID) {
                                *err = e2;
                                return err_prefix(err, "base image %s", ref);
                        }
                        err_clear(&e2);
                }
                if (r < 0) {
                        struct reg_client_opts co = {
                            .platform = platform, .log = pull_log, .log_data = x, .warn = pull_warn, .warn_data = x,
                            .retries = -1};
                        _cleanup_reg_client_ struct reg_client *c = NULL;
                        struct reg_pull_result pr = {0};

                        if (x->o->pull == BUILD_PULL_NEVER)
                                return err_set(err, ERR_MANIFEST_UNKNOWN,
                                               "base image %s: not in the store %s (and --pull=never)", ref,
                                               oci_store_path(x->store));
                        {
                                _cleanup_free_ char *line = xasprintf("pulling %s", ref);

                                pull_log(line, x);
                        }
                        r = reg_client_new(&co, &c, err);
                        if (r >= 0)
                                r = reg_client_pull_to_store(c, ref, x->store, strchr(ref, '@') ? NULL : ref, &pr, err);
                        if (r < 0)
                                return err_prefix(err, "base image %s", ref);
                        oci_descriptor_copy(&desc, &pr.desc);
                        reg_pull_result_clear(&pr);
                }
        }
        r = load_image(x->layout, &desc, platform, strict, ref, b, err);
        oci_descriptor_clear(&desc);
        return r;
}

int
xbase_get(struct xctx *x, const char *ref, const char *platform, struct xbase **ret, struct err **err)
{
        struct xbase *b;
        int r;

        pthread_mutex_lock(&x->bases_lock);
        for (size_t i = 0; i < x->n_bases; i++)
                if (strcmp(x->bases[i]->ref, ref) == 0 && strcmp(x->bases[i]->platform, platform) == 0) {
                        *ret = x->bases[i];
                        pthread_mutex_unlock(&x->bases_lock);
                        return 0;
                }
        b = xcalloc(1, sizeof(*b));
        r = fetch_base(x, ref, platform, b, err);
        if (r < 0) {
                xbase_free(b);
                pthread_mutex_unlock(&x->bases_lock);
                return r;
        }
        b->ref = xstrdup(ref);
        b->platform = xstrdup(platform);
        x->bases = xrealloc(x->bases, (x->n_bases + 1) * sizeof(*x->bases));
        x->bases[x->n_bases++] = b;
        *ret = b;
        pthread_mutex_unlock(&x->bases_lock);
        return 0;
}

int
xplan_base_config(void *data, const char *image, const char *platform, struct build_plan_base_config *ret,
                  struct err **err)
{
        struct xctx *x = data;
        struct xbase *b;
        int r;

        r = xbase_get(x, image, platform ? platform : x->plan_platform, &b, err);
        if (r < 0)
                return r;
        ret->env = oci_strv_dup(b->cfg->config.env);
        ret->onbuild = oci_strv_dup(b->cfg->config.on_build);
        return 1;
}

/* The store at PATH when it exists (never created: a plan does not write). */
static int
open_existing_store(const char *path, struct oci_store **ret, struct err **err)
{
        _cleanup_free_ char *root = NULL, *index = NULL;
        struct stat st;

        if (path)
                root = xstrdup(path);
        else if (oci_store_default_path(&root, NULL) < 0)
                return 0;
        index = xasprintf("%s/index.json", root);
        if (stat(index, &st) < 0)
                return 0;
        if (oci_store_open(root, ret, err) < 0)
                return -1;
        return 1;
}

int
build_base_config_lookup_local(const char *store_path, const char *ref, const char *platform,
                               struct oci_image_config **ret_cfg, struct err **err)
{
        _cleanup_free_ char *host = build_plan_host_platform();
        const char *want = platform ? platform : host;
        struct oci_descriptor desc = {0};
        struct xbase b = {0};
        int r;

        if (oci_layout_is_ref(ref)) {
                _cleanup_oci_layout_ struct oci_layout *src = NULL;

                r = layout_ref_select(ref, &src, &desc, err);
                if (r < 0)
                        err_prefix(err, "base image %s", ref);
                else
                        r = load_image(src, &desc, want, platform != NULL, ref, &b, err);
        } else {
                _cleanup_oci_store_ struct oci_store *store = NULL;
                struct err *e2 = NULL;

                r = open_existing_store(store_path, &store, err);
                if (r <= 0)
                        return r < 0 ? err_prefix(err, "base image %s", ref) : 0;
                r = oci_store_resolve(store, ref, &desc, NULL, &e2);
                if (r < 0 && (err_code(&e2) == ERR_MANIFEST_UNKNOWN || err_code(&e2) == ERR_REFERENCE_INVALID)) {
                        err_clear(&e2);
                        return 0; /* a build would pull it */
                }
                if (r < 0) {
                        *err = e2;
                        err_prefix(err, "base image %s", ref);
                } else
                        r = load_image(oci_store_layout(store), &desc, want, platform != NULL, ref, &b, err);
        }
        oci_descriptor_clear(&desc);
        for (size_t k = 0; k < b.n_layers; k++)
                oci_descriptor_clear(&b.layers[k]);
        free(b.layers);
        free(b.digest);
        if (r < 0) {
                oci_image_config_free(b.cfg);
                return r;
        }
        *ret_cfg = b.cfg;
        return 1;
}
