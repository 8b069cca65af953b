/* Base image configs for `ibuild --check`, read without network: an
 * `oci:DIR[:TAG]` base layout, or an image already in the local store.
 * Each (image, platform) is read once; the configs stay loaded until
 * check_bases_free, since the lint borrows their strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/ibuild/check.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "oci/layout.h"
#include "oci/model.h"
#include "oci/platform.h"
#include "oci/store.h"

struct check_base {
        char *image, *platform;
        struct oci_image_config *cfg; /* NULL: not available */
};

struct check_bases {
        char *store_path;
        struct oci_store *store; /* opened on first use */
        bool store_tried;
        struct check_base *v;
        size_t n;
};

struct check_bases *
check_bases_new(const char *store_path)
{
        struct check_bases *b = xcalloc(1, sizeof(*b));

        b->store_path = store_path ? xstrdup(store_path) : NULL;
        return b;
}

void
check_bases_free(struct check_bases *b)
{
        if (b == NULL)
                return;
        for (size_t i = 0; i < b->n; i++) {
                free(b->v[i].image);
                free(b->v[i].platform);
                oci_image_config_free(b->v[i].cfg);
        }
        free(b->v);
        oci_store_free(b->store);
        free(b->store_path);
        free(b);
}

static int
read_blob(const struct oci_layout *layout, const char *digest, size_t cap, char **ret, size_t *ret_len,
          struct err **err)
{
        struct digest d;
        int r = digest_parse(digest, &d, err);

        if (r < 0)
                return r;
        return oci_layout_read_blob(layout, &d, cap, ret, ret_len, err);
}

/* The config of manifest (or index → PLATFORM's manifest) DESC. */
static int
load_config(const struct oci_layout *layout, const struct oci_descriptor *desc, const char *platform, int depth,
            struct oci_image_config **ret, struct err **err)
{
        _cleanup_free_ char *buf = NULL, *cbuf = NULL;
        struct oci_document doc = {0};
        size_t len, clen;
        int r;

        if (depth > 2)
                return err_set(err, ERR_MANIFEST_INVALID, "index nested too deep");
        r = read_blob(layout, desc->digest, LIMIT_MANIFEST_SIZE, &buf, &len, err);
        if (r >= 0)
                r = oci_document_parse(buf, len, desc->media_type, &doc, err);
        if (r < 0)
                return r;
        if (doc.index) {
                _cleanup_(oci_platform_freep) struct oci_platform *want = NULL;
                size_t i;

                r = platform ? oci_platform_parse(platform, &want, err) : oci_platform_host(&want, err);
                if (r >= 0)
                        r = oci_index_select_platform(doc.index, want, &i, err);
                if (r >= 0)
                        r = load_config(layout, &doc.index->manifests[i], platform, depth + 1, ret, err);
                oci_document_clear(&doc);
                return r;
        }
        r = read_blob(layout, doc.manifest->config.digest, LIMIT_CONFIG_SIZE, &cbuf, &clen, err);
        oci_document_clear(&doc);
        if (r < 0)
                return r;
        return oci_image_config_parse(cbuf, clen, ret, err);
}

static int
from_layout(const char *image, const char *platform, struct oci_image_config **ret, struct err **err)
{
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_oci_layout_ struct oci_layout *layout = NULL;
        struct oci_descriptor desc = {0};
        int r;

        r = oci_layout_parse_ref(image, &dir, &name, err);
        if (r >= 0)
                r = oci_layout_open(dir, &layout, err);
        if (r >= 0)
                r = oci_layout_select(layout, name, &desc, err);
        if (r >= 0)
                r = load_config(layout, &desc, platform, 0, ret, err);
        oci_descriptor_clear(&desc);
        return r;
}

static int
from_store(struct check_bases *b, const char *image, const char *platform, struct oci_image_config **ret,
           struct err **err)
{
        struct oci_descriptor desc = {0};
        int r;

        if (!b->store_tried) {
                _cleanup_free_ char *path = NULL;
                _cleanup_oci_layout_ struct oci_layout *probe = NULL;

                b->store_tried = true;
                if (b->store_path)
                        path = xstrdup(b->store_path);
                else if (oci_store_default_path(&path, err) < 0)
                        return -1;
                /* Only an existing store: --check must not create one. */
                if (oci_layout_open(path, &probe, err) < 0 || oci_store_open(path, &b->store, err) < 0)
                        return -1;
        }
        if (b->store == NULL)
                return err_set(err, ENOENT, "no local store");
        r = oci_store_resolve(b->store, image, &desc, NULL, err);
        if (r >= 0)
                r = load_config(oci_store_layout(b->store), &desc, platform, 0, ret, err);
        oci_descriptor_clear(&desc);
        return r;
}

static bool
same(const char *a, const char *b)
{
        return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
check_base_lookup(void *data, const char *image, const char *platform, struct build_df_lint_base *ret)
{
        struct check_bases *b = data;
        struct check_base *e = NULL;

        for (size_t i = 0; i < b->n && !e; i++)
                if (strcmp(b->v[i].image, image) == 0 && same(b->v[i].platform, platform))
                        e = &b->v[i];
        if (e == NULL) {
                struct oci_image_config *cfg = NULL;
                struct err *err = NULL;
                int r;

                r = oci_layout_is_ref(image) ? from_layout(image, platform, &cfg, &err)
                                             : from_store(b, image, platform, &cfg, &err);
                /* Unknown is an answer: the checks then assume nothing. */
                if (r < 0) {
                        err_clear(&err);
                        cfg = NULL;
                }
                b->v = xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
                e = &b->v[b->n++];
                e->image = xstrdup(image);
                e->platform = platform ? xstrdup(platform) : NULL;
                e->cfg = cfg;
        }
        if (e->cfg == NULL)
                return 0;
        memset(ret, 0, sizeof(*ret));
        ret->env = (const char *const *) e->cfg->config.env;
        ret->n_env = e->cfg->config.env ? oci_strv_len(e->cfg->config.env) : 0;
        ret->workdir = e->cfg->config.working_dir;
        ret->user = e->cfg->config.user;
        ret->os = e->cfg->os;
        ret->arch = e->cfg->architecture;
        ret->variant = e->cfg->variant;
        return 1;
}
