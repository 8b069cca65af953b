/* The build cache: a step's key (parent key, expanded instruction, build
 * args, environment, heredocs, sources, layer options) and its entry in
 * STORE/cache/<hex> (the config blob and the layer descriptors after the
 * step); config blobs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"

/* ---- the cache --------------------------------------------------------- */

void
xkey_add(struct digest_ctx *c, const char *tag, const char *s)
{
        char len[32];

        snprintf(len, sizeof(len), "%zu:", s ? strlen(s) : (size_t) 0);
        digest_ctx_update(c, tag, strlen(tag));
        digest_ctx_update(c, len, strlen(len));
        if (s)
                digest_ctx_update(c, s, strlen(s));
}

static char *
cache_path(struct xctx *x, const char *key)
{
        return xasprintf("%s/%s", oci_store_cache_dir(x->store), key + strlen("sha256:"));
}

/* Load the entry KEY into S; 0 on a hit, -ENOENT on a miss. */
int
xcache_get(struct xctx *x, struct xstage *s, const char *key)
{
        _cleanup_free_ char *path = cache_path(x, key), *buf = NULL, *cbuf = NULL;
        struct oci_image_config *cfg = NULL;
        struct oci_descriptor *layers = NULL;
        size_t len, clen, n = 0;
        json_t *j = NULL, *arr;
        struct err *e = NULL;
        int r = -ENOENT;

        if (fs_read_file(path, LIMIT_CONFIG_SIZE, &buf, &len, &e) < 0)
                goto out;
        j = json_loadb(buf, len, 0, NULL);
        if (!j || !json_is_string(json_object_get(j, "config")) || !json_is_array(arr = json_object_get(j, "layers")))
                goto out;
        if (xread_json_blob(x->layout, json_string_value(json_object_get(j, "config")), LIMIT_CONFIG_SIZE, &cbuf, &clen,
                            &e) < 0 ||
            oci_image_config_parse(cbuf, clen, &cfg, &e) < 0)
                goto out;
        n = json_array_size(arr);
        if (n != oci_strv_len(cfg->diff_ids))
                goto out;
        layers = xcalloc(n + 1, sizeof(*layers));
        for (size_t i = 0; i < n; i++) {
                struct digest d;
                uint64_t size;

                if (oci_descriptor_from_json(json_array_get(arr, i), "layers", &layers[i], &e) < 0)
                        goto out;
                /* The stage's own layers were checked when they joined it
                 * (written, copied or a cache hit): only the rest need
                 * to be present (and get a fresh mtime for the GC's grace
                 * period). */
                if (i < s->n_layers && strcmp(layers[i].digest, s->layers[i].desc.digest) == 0 &&
                    layers[i].size == s->layers[i].desc.size)
                        continue;
                if (digest_parse(layers[i].digest, &d, &e) < 0 ||
                    oci_layout_refresh_blob(x->layout, &d, &size, &e) < 0 || (int64_t) size != layers[i].size)
                        goto out;
        }
        xstage_set(s, steal_ptr(&cfg), layers, n);
        r = 0;
out:
        for (size_t i = 0; layers && i < n; i++)
                oci_descriptor_clear(&layers[i]);
        free(layers);
        oci_image_config_free(cfg);
        json_decref(j);
        err_clear(&e);
        return r;
}

/* Write S's config as a blob; *ret_digest is its digest. */
int
xput_config(struct xctx *x, struct xstage *s, char **ret_digest, size_t *ret_size, struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        struct digest d;
        size_t len;
        int r;

        r = oci_image_config_serialize(s->cfg, &buf, &len, err);
        if (r < 0)
                return r;
        r = oci_layout_add_blob(x->layout, buf, len, NULL, &d, err);
        if (r < 0)
                return r;
        *ret_digest = xstrdup(d.str);
        if (ret_size)
                *ret_size = len;
        return 0;
}

int
xcache_put(struct xctx *x, struct xstage *s, const char *key, struct err **err)
{
        _cleanup_free_ char *cfg = NULL, *path = NULL, *buf = NULL;
        json_t *j, *arr;
        int r;

        r = xput_config(x, s, &cfg, NULL, err);
        if (r < 0)
                return r;
        arr = json_array();
        for (size_t i = 0; i < s->n_layers; i++)
                json_array_append_new(arr, oci_descriptor_to_json(&s->layers[i].desc));
        j = json_pack("{s:s, s:o}", "config", cfg, "layers", arr);
        buf = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        path = cache_path(x, key);
        return fs_write_atomic(path, buf, strlen(buf), 0644, err);
}

/* ---- step keys ---------------------------------------------------------- */

int
xstep_key(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, const char *sources,
          char ret[DIGEST_STR_MAX])
{
        struct digest_ctx *c = digest_ctx_new(DIGEST_SHA256);
        struct digest d;

        xkey_add(c, "parent", s->key);
        xkey_add(c, "instr", in->text);
        xkey_add(c, "compression", oci_layer_compression_name(x->o->compression));
        for (size_t i = 0; i < in->n_build_args; i++)
                xkey_add(c, "arg", in->build_args[i]);
        if (in->kind == BUILD_DF_RUN)
                for (size_t i = 0; i < in->n_env; i++)
                        xkey_add(c, "env", in->env[i]);
        for (size_t i = 0; i < in->node->n_heredocs; i++)
                xkey_add(c, "heredoc", in->node->heredocs[i].content);
        for (size_t i = 0; i < in->n_heredocs; i++)
                xkey_add(c, "heredocx", in->heredocs[i]);
        xkey_add(c, "sources", sources);
        if (x->o->source_date_epoch >= 0) {
                char e[32];

                snprintf(e, sizeof(e), "%" PRId64, x->o->source_date_epoch);
                xkey_add(c, "epoch", e);
        }
        /* Secrets are not part of the key (their content never is). */
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        memcpy(ret, d.str, DIGEST_STR_MAX);
        return 0;
}
