/* The final image: --label values in the target stage's config, then its
 * config and manifest blobs (OCI or Docker schema 2, layer media types to
 * match) and the build's result.  Nothing is named here: the blobs are
 * written before any name points at them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "oci/layout.h"
#include "oci/mediatype.h"

int
xfinish(struct xctx *x, struct xstage *s, struct build_exec_result *ret, struct err **err)
{
        _cleanup_free_ char *cfg_digest = NULL, *mbuf = NULL;
        struct oci_manifest *m = NULL;
        struct oci_descriptor cd;
        struct digest md;
        size_t cfg_size = 0, mlen;
        bool docker = x->o->format == BUILD_FORMAT_DOCKER;
        int r;

        for (size_t i = 0; i < x->o->n_labels; i++) {
                const char *eq = strchr(x->o->labels[i], '=');
                _cleanup_free_ char *k =
                    eq ? xstrndup(x->o->labels[i], (size_t) (eq - x->o->labels[i])) : xstrdup(x->o->labels[i]);

                oci_map_set(&s->cfg->config.labels, k, eq ? eq + 1 : "");
                s->cfg->has_config = true;
        }
        r = xput_config(x, s, &cfg_digest, &cfg_size, err);
        if (r < 0)
                return r;
        m = oci_manifest_new(docker ? DOCKER_MT_MANIFEST : OCI_MT_MANIFEST);
        oci_descriptor_init(&cd, docker ? DOCKER_MT_CONFIG : OCI_MT_CONFIG, cfg_digest, (int64_t) cfg_size);
        oci_manifest_set_config(m, &cd);
        oci_descriptor_clear(&cd);
        for (size_t i = 0; i < s->n_layers; i++) {
                const char *mt = s->layers[i].desc.media_type;
                const char *want = oci_mediatype_layer_for(oci_mediatype_layer_compression(mt), docker,
                                                           oci_mediatype_is_nondistributable(mt));
                struct oci_descriptor l;

                if (!want) {
                        oci_manifest_free(m);
                        return err_set(err, EINVAL,
                                       "--format %s: layer %zu is %s, which Docker's format has no type for "
                                       "(use --compression gzip, or --format oci)",
                                       docker ? "docker" : "oci", i + 1, mt);
                }
                oci_descriptor_copy(&l, &s->layers[i].desc);
                free(l.media_type);
                l.media_type = xstrdup(want);
                oci_manifest_add_layer(m, &l);
                oci_descriptor_clear(&l);
        }
        /* Docker's schema 2 has no annotations. */
        if (!docker && s->base_name && s->base_digest) {
                oci_map_set(&m->annotations, OCI_ANNOTATION_BASE_NAME, s->base_name);
                oci_map_set(&m->annotations, OCI_ANNOTATION_BASE_DIGEST, s->base_digest);
        }
        r = oci_manifest_serialize(m, &mbuf, &mlen, err);
        oci_manifest_free(m);
        if (r < 0)
                return r;
        r = oci_layout_add_blob(x->layout, mbuf, mlen, NULL, &md, err);
        if (r < 0)
                return r;
        oci_descriptor_init(&ret->manifest, docker ? DOCKER_MT_MANIFEST : OCI_MT_MANIFEST, md.str, (int64_t) mlen);
        {
                struct oci_platform *p = oci_image_config_platform(s->cfg);

                ret->manifest.platform = p;
        }
        ret->config_digest = steal_ptr(&cfg_digest);
        ret->steps = x->steps;
        ret->cached = x->cached;
        return 0;
}
