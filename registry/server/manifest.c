#include "registry/server/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/limits.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* Media type without parameters, compared case-insensitively. */
static bool
mt_is(const char *mt, const char *want)
{
        size_t n = strlen(want);

        if (!mt)
                return false;
        while (*mt == ' ')
                mt++;
        return strncasecmp(mt, want, n) == 0 && (mt[n] == '\0' || mt[n] == ';' || mt[n] == ' ');
}

static const char *
known_kind(const char *mt)
{
        static const char *const kinds[] = { MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST,
                                             MT_DOCKER_LIST };
        size_t i;

        for (i = 0; i < 4; i++)
                if (mt_is(mt, kinds[i]))
                        return kinds[i];
        return NULL;
}

void
reg_manifest_clear(struct reg_manifest *m)
{
        if (!m)
                return;
        free(m->blobs);
        free(m->children);
        free(m->annotations);
        memset(m, 0, sizeof(*m));
}

/* Validate descriptor D (at WHERE) and return its digest in *ret. */
static int
parse_descriptor(json_t *d, const char *where, struct digest *ret, const char **ret_mt,
                 bool *ret_external, struct err **err)
{
        json_t *mt = json_object_get(d, "mediaType"), *dg = json_object_get(d, "digest"),
               *sz = json_object_get(d, "size"), *urls = json_object_get(d, "urls");
        struct err *e = NULL;

        if (!json_is_object(d))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: not a descriptor object", where);
        if (!json_is_string(mt))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: mediaType missing or not a string", where);
        if (!json_is_string(dg))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: digest missing or not a string", where);
        if (!json_is_integer(sz) || json_integer_value(sz) < 0)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: size missing or not a non-negative integer",
                               where);
        if (digest_parse(json_string_value(dg), ret, &e) < 0) {
                err_set(err, ERR_MANIFEST_INVALID, "%s: %s", where, e->msg);
                err_clear(&e);
                return -ERR_MANIFEST_INVALID;
        }
        if (urls && !json_is_array(urls))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: urls is not an array", where);
        *ret_mt = json_string_value(mt);
        /* Foreign / non-distributable layers live elsewhere (image-spec
         * layer.md); the registry does not hold them. */
        *ret_external = (urls && json_array_size(urls) > 0) ||
                        strstr(*ret_mt, ".nondistributable.") != NULL ||
                        mt_is(*ret_mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
        return 0;
}

int
reg_manifest_parse(const char *body, size_t len, const char *content_type,
                   struct reg_manifest *ret, struct err **err)
{
        json_error_t je;
        json_t *root, *v;
        struct reg_manifest m = { 0 };
        const char *body_mt = NULL, *kind;
        int r = 0;

        if (len > LIMIT_MANIFEST_SIZE)
                return err_set(err, ERR_SIZE_INVALID, "manifest is %zu bytes, over the %d limit", len,
                               LIMIT_MANIFEST_SIZE);
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return err_set(err, ERR_MANIFEST_INVALID, "manifest JSON: line %d column %d: %s", je.line,
                               je.column, je.text);
        if (!json_is_object(root)) {
                r = err_set(err, ERR_MANIFEST_INVALID, "manifest is not a JSON object");
                goto out;
        }
        v = json_object_get(root, "schemaVersion");
        if (!json_is_integer(v) || json_integer_value(v) != 2) {
                r = err_set(err, ERR_MANIFEST_INVALID,
                            "schemaVersion must be 2 (schema 1 manifests are not accepted)");
                goto out;
        }
        v = json_object_get(root, "mediaType");
        if (v && !json_is_string(v)) {
                r = err_set(err, ERR_MANIFEST_INVALID, "mediaType is not a string");
                goto out;
        }
        body_mt = json_string_value(v);
        kind = known_kind(content_type);
        if (kind && body_mt && !mt_is(body_mt, kind)) {
                r = err_set(err, ERR_MANIFEST_INVALID,
                            "mediaType '%.200s' does not match Content-Type '%.200s'", body_mt,
                            content_type);
                goto out;
        }
        if (!kind)
                kind = known_kind(body_mt);
        if (!kind && !body_mt && (!content_type || mt_is(content_type, "application/json") ||
                                  mt_is(content_type, "application/octet-stream"))) {
                /* OCI manifests may omit mediaType; guess from the shape. */
                if (json_object_get(root, "manifests"))
                        kind = MT_OCI_INDEX;
                else if (json_object_get(root, "config"))
                        kind = MT_OCI_MANIFEST;
        }
        if (!kind) {
                r = err_set(err, ERR_MANIFEST_INVALID, "unsupported manifest media type '%.200s'",
                            body_mt ? body_mt : content_type ? content_type : "(none)");
                goto out;
        }
        snprintf(m.media_type, sizeof(m.media_type), "%s", kind);
        m.is_index = strcmp(kind, MT_OCI_INDEX) == 0 || strcmp(kind, MT_DOCKER_LIST) == 0;

        if (m.is_index) {
                json_t *arr = json_object_get(root, "manifests");
                size_t i, n;
                if (!json_is_array(arr)) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "manifests missing or not an array");
                        goto out;
                }
                n = json_array_size(arr);
                if (n > LIMIT_INDEX_MANIFESTS) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "index lists %zu manifests, over %d", n,
                                    LIMIT_INDEX_MANIFESTS);
                        goto out;
                }
                m.children = xcalloc(n ? n : 1, sizeof(struct digest));
                for (i = 0; i < n; i++) {
                        char where[64];
                        const char *cmt;
                        bool ext;
                        snprintf(where, sizeof(where), "manifests[%zu]", i);
                        r = parse_descriptor(json_array_get(arr, i), where, &m.children[m.n_children],
                                             &cmt, &ext, err);
                        if (r < 0)
                                goto out;
                        if (!ext)
                                m.n_children++;
                }
        } else {
                json_t *cfg = json_object_get(root, "config"), *layers = json_object_get(root, "layers");
                size_t i, n;
                const char *cmt;
                bool ext;
                if (!cfg) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "config missing");
                        goto out;
                }
                if (!json_is_array(layers) && !(layers == NULL && mt_is(kind, MT_OCI_MANIFEST))) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "layers missing or not an array");
                        goto out;
                }
                n = json_array_size(layers);
                if (n > LIMIT_LAYERS) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "manifest lists %zu layers, over %d", n,
                                    LIMIT_LAYERS);
                        goto out;
                }
                m.blobs = xcalloc(n + 1, sizeof(struct digest));
                r = parse_descriptor(cfg, "config", &m.blobs[0], &cmt, &ext, err);
                if (r < 0)
                        goto out;
                m.n_blobs = 1;
                snprintf(m.artifact_type, sizeof(m.artifact_type), "%s", cmt);
                for (i = 0; i < n; i++) {
                        char where[64];
                        const char *lmt;
                        snprintf(where, sizeof(where), "layers[%zu]", i);
                        r = parse_descriptor(json_array_get(layers, i), where, &m.blobs[m.n_blobs], &lmt,
                                             &ext, err);
                        if (r < 0)
                                goto out;
                        if (!ext)
                                m.n_blobs++;
                }
        }
        v = json_object_get(root, "artifactType");
        if (v) {
                if (!json_is_string(v)) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "artifactType is not a string");
                        goto out;
                }
                snprintf(m.artifact_type, sizeof(m.artifact_type), "%s", json_string_value(v));
        }
        v = json_object_get(root, "subject");
        if (v) {
                const char *smt;
                bool ext;
                r = parse_descriptor(v, "subject", &m.subject, &smt, &ext, err);
                if (r < 0)
                        goto out;
                m.has_subject = true;
        }
        v = json_object_get(root, "annotations");
        if (v) {
                if (!json_is_object(v)) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "annotations is not an object");
                        goto out;
                }
                m.annotations = json_dumps(v, JSON_COMPACT);
        }
        *ret = m;
        memset(&m, 0, sizeof(m));
out:
        reg_manifest_clear(&m);
        json_decref(root);
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
