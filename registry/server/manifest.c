#include "registry/server/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/mediatype.h"
#include "oci/model.h"

void
reg_manifest_clear(struct reg_manifest *m)
{
        if (!m)
                return;
        free(m->blobs);
        free(m->blob_sizes);
        free(m->children);
        free(m->child_sizes);
        free(m->annotations);
        memset(m, 0, sizeof(*m));
}

/* Layers that live elsewhere are not required to exist here: the
 * non-distributable OCI types and Docker's foreign layer (image-spec
 * layer.md; media types compare case-insensitively, parameters aside), and
 * any layer whose descriptor lists urls to fetch it from (descriptor.md). */
static bool
external(const struct oci_descriptor *d)
{
        return (d->urls && d->urls[0]) || oci_mediatype_is_nondistributable(d->media_type);
}

/* D's digest as a struct digest (the model checks the grammar; this also
 * needs an algorithm the registry can verify). */
static int
child_digest(const struct oci_descriptor *d, const char *where, size_t i, struct digest *ret,
             struct err **err)
{
        _cleanup_err_ struct err *e = NULL;

        if (digest_parse(d->digest, ret, &e) < 0) {
                if (i == SIZE_MAX)
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: %s", where, err_msg(&e));
                return err_set(err, ERR_MANIFEST_INVALID, "%s[%zu]: %s", where, i, err_msg(&e));
        }
        return 0;
}

int
reg_manifest_parse(const char *body, size_t len, const char *content_type,
                   struct reg_manifest *ret, struct err **err)
{
        struct oci_document doc = { 0 };
        _cleanup_free_ struct oci_child *ch = NULL;
        struct reg_manifest m = { 0 };
        const char *at = NULL;
        json_t *ann;
        size_t i, n, n_layer = 0, n_child = 0;
        int r;

        if (len > LIMIT_MANIFEST_SIZE)
                return err_set(err, ERR_SIZE_INVALID, "manifest is %zu bytes, over the %d limit", len,
                               LIMIT_MANIFEST_SIZE);
        r = oci_document_parse(body, len, content_type, &doc, err);
        if (r < 0) {
                /* Docker schema 1 (ERR_UNSUPPORTED in the model) is a
                 * manifest this registry does not accept. */
                if (err_code(err) != ERR_MANIFEST_INVALID) {
                        _cleanup_free_ char *msg = xstrdup(err_msg(err));
                        err_clear(err);
                        return err_set(err, ERR_MANIFEST_INVALID, "%s", msg);
                }
                return r;
        }
        snprintf(m.media_type, sizeof(m.media_type), "%s", doc.media_type);
        m.is_index = doc.index != NULL;
        n = oci_document_children(&doc, &ch);
        m.blobs = xcalloc(n + 1, sizeof(struct digest));
        m.blob_sizes = xcalloc(n + 1, sizeof(uint64_t));
        m.children = xcalloc(n + 1, sizeof(struct digest));
        m.child_sizes = xcalloc(n + 1, sizeof(uint64_t));
        for (i = 0; i < n && r >= 0; i++) {
                const struct oci_descriptor *d = ch[i].desc;
                switch (ch[i].kind) {
                case OCI_CHILD_CONFIG:
                        r = child_digest(d, "config", SIZE_MAX, &m.blobs[m.n_blobs], err);
                        m.blob_sizes[m.n_blobs++] = (uint64_t) d->size;
                        at = d->media_type;
                        break;
                case OCI_CHILD_LAYER:
                        r = child_digest(d, "layers", n_layer++, &m.blobs[m.n_blobs], err);
                        if (!external(d))
                                m.blob_sizes[m.n_blobs++] = (uint64_t) d->size;
                        break;
                case OCI_CHILD_MANIFEST:
                        r = child_digest(d, "manifests", n_child++, &m.children[m.n_children], err);
                        if (!(d->urls && d->urls[0]))
                                m.child_sizes[m.n_children++] = (uint64_t) d->size;
                        break;
                case OCI_CHILD_SUBJECT:
                        r = child_digest(d, "subject", SIZE_MAX, &m.subject, err);
                        m.has_subject = true;
                        break;
                }
        }
        if (r < 0)
                goto out;
        /* artifactType, else (image manifests) config.mediaType. */
        if (doc.manifest && doc.manifest->artifact_type)
                at = doc.manifest->artifact_type;
        else if (doc.index)
                at = doc.index->artifact_type;
        if (at)
                snprintf(m.artifact_type, sizeof(m.artifact_type), "%s", at);
        ann = doc.manifest ? doc.manifest->annotations : doc.index->annotations;
        if (ann)
                m.annotations = json_dumps(ann, JSON_COMPACT);
        *ret = m;
        memset(&m, 0, sizeof(m));
out:
        reg_manifest_clear(&m);
        oci_document_clear(&doc);
        return r;
}

char *
reg_manifest_descriptor(const struct reg_manifest *m, const struct digest *digest, size_t size)
{
        json_t *d = json_object();
        char *s;

        json_object_set_new(d, "mediaType", json_string(m->media_type));
        json_object_set_new(d, "digest", json_string(digest->str));
        json_object_set_new(d, "size", json_integer((json_int_t) size));
        if (m->artifact_type[0])
                json_object_set_new(d, "artifactType", json_string(m->artifact_type));
        if (m->annotations) {
                json_t *a = json_loads(m->annotations, 0, NULL);
                if (a)
                        json_object_set_new(d, "annotations", a);
        }
        s = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        if (!s)
                abort();
        return s;
}
