/* Descriptors, manifests, indexes and manifest documents (see oci/model.h). */
#include "oci/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "digest/digest.h"
#include "oci/model-internal.h"

/* ---- base64 (RFC 4648, standard alphabet, padded: what Go's encoding/json
 * uses for []byte) ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
b64_encode(const unsigned char *in, size_t len)
{
        char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
        size_t i;

        for (i = 0; i + 2 < len; i += 3) {
                *o++ = b64chars[in[i] >> 2];
                *o++ = b64chars[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
                *o++ = b64chars[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
                *o++ = b64chars[in[i + 2] & 63];
        }
        if (i < len) {
                *o++ = b64chars[in[i] >> 2];
                if (i + 1 < len) {
                        *o++ = b64chars[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
                        *o++ = b64chars[(in[i + 1] & 15) << 2];
                } else {
                        *o++ = b64chars[(in[i] & 3) << 4];
                        *o++ = '=';
                }
                *o++ = '=';
        }
        *o = '\0';
        return out;
}

static int
b64_value(char c)
{
        const char *p;

        if (c == '\0')
                return -1;
        p = strchr(b64chars, c);
        return p ? (int) (p - b64chars) : -1;
}

/* Strict decode: length a multiple of 4, '=' only as final padding.
 * Returns the bad position (1-based) or 0 on success. */
static size_t
b64_decode(const char *in, unsigned char **ret, size_t *ret_len)
{
        size_t len = strlen(in), pad = 0, o = 0;
        unsigned char *out;

        if (len % 4 != 0)
                return len + 1;
        if (len >= 1 && in[len - 1] == '=')
                pad++;
        if (len >= 2 && in[len - 2] == '=')
                pad++;
        out = xmalloc(len / 4 * 3 + 1);
        for (size_t i = 0; i < len; i += 4) {
                int v[4];

                for (int k = 0; k < 4; k++) {
                        bool is_pad = i + (size_t) k >= len - pad;

                        v[k] = is_pad ? 0 : b64_value(in[i + (size_t) k]);
                        if (v[k] < 0) {
                                free(out);
                                return i + (size_t) k + 1;
                        }
                }
                out[o++] = (unsigned char) ((v[0] << 2) | (v[1] >> 4));
                out[o++] = (unsigned char) (((v[1] & 15) << 4) | (v[2] >> 2));
                out[o++] = (unsigned char) (((v[2] & 3) << 6) | v[3]);
        }
        o -= pad;
        *ret = out;
        *ret_len = o;
        return 0;
}

/* ---- descriptors ---- */

void
oci_descriptor_init(struct oci_descriptor *d, const char *media_type, const char *digest, int64_t size)
{
        memset(d, 0, sizeof(*d));
        d->media_type = media_type ? xstrdup(media_type) : NULL;
        d->digest = digest ? xstrdup(digest) : NULL;
        d->size = size;
}

void
oci_descriptor_init_bytes(struct oci_descriptor *d, const char *media_type, const void *buf, size_t len)
{
        struct digest dg;

        digest_buffer(DIGEST_SHA256, buf, len, &dg);
        oci_descriptor_init(d, media_type, dg.str, (int64_t) len);
}

void
oci_descriptor_init_empty(struct oci_descriptor *d)
{
        oci_descriptor_init(d, OCI_MT_EMPTY, OCI_EMPTY_DIGEST, OCI_EMPTY_SIZE);
}

void
oci_descriptor_clear(struct oci_descriptor *d)
{
        if (!d)
                return;
        free(d->media_type);
        free(d->digest);
        oci_strv_free(d->urls);
        json_decref(d->annotations);
        free(d->data);
        free(d->artifact_type);
        oci_platform_free(d->platform);
        json_decref(d->extra);
        memset(d, 0, sizeof(*d));
}

static json_t *
json_copy_or_null(const json_t *j)
{
        json_t *c;

        if (!j)
                return NULL;
        c = json_deep_copy(j);
        if (!c)
                abort();
        return c;
}

void
oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src)
{
        memset(dst, 0, sizeof(*dst));
        dst->media_type = src->media_type ? xstrdup(src->media_type) : NULL;
        dst->digest = src->digest ? xstrdup(src->digest) : NULL;
        dst->size = src->size;
        dst->urls = oci_strv_dup(src->urls);
        dst->annotations = json_copy_or_null(src->annotations);
        if (src->data) {
                dst->data = xmalloc(src->data_len + 1);
                memcpy(dst->data, src->data, src->data_len);
                dst->data_len = src->data_len;
        }
        dst->artifact_type = src->artifact_type ? xstrdup(src->artifact_type) : NULL;
        dst->platform = oci_platform_dup(src->platform);
        dst->extra = json_copy_or_null(src->extra);
}

const char *
oci_descriptor_annotation(const struct oci_descriptor *d, const char *key)
{
        return oci_map_get(d->annotations, key);
}

void
oci_descriptor_set_annotation(struct oci_descriptor *d, const char *key, const char *value)
{
        oci_map_set(&d->annotations, key, value);
}

static int
check_media_type(const char *mt, const char *where, const char *key, struct err **err)
{
        char p[256];

        if (!oci_mediatype_valid(mt))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: invalid media type \"%.200s\"",
                               oci_field_path(p, sizeof(p), where, key), mt);
        return 0;
}

/* Digest grammar check; a registered algorithm must also have the right
 * length and lowercase hex.  Unknown algorithms pass (image-spec allows them). */
static int
check_digest(const char *dg, const char *where, struct err **err)
{
        char p[256];
        struct digest d;
        struct err *e = NULL;
        int r;

        r = digest_parse(dg, &d, &e);
        if (r == -ERR_UNSUPPORTED && digest_grammar_ok(dg)) {
                err_clear(&e);
                return 0;
        }
        if (r < 0) {
                r = err_set(err, ERR_MANIFEST_INVALID, "%s: %s", oci_field_path(p, sizeof(p), where, "digest"),
                            e ? e->msg : "invalid digest");
                err_clear(&e);
                return r;
        }
        return 0;
}

static int
platform_from_json(const json_t *j, const char *where, struct oci_platform **ret, struct err **err)
{
        static const char *const known[] = { "architecture", "os", "os.version", "os.features", "variant", NULL };
        _cleanup_(oci_platform_freep) struct oci_platform *p = NULL;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object", where);
        p = xcalloc(1, sizeof(*p));
        if ((r = oci_field_string(j, where, "architecture", true, &p->architecture, err)) < 0 ||
            (r = oci_field_string(j, where, "os", true, &p->os, err)) < 0 ||
            (r = oci_field_string(j, where, "os.version", false, &p->os_version, err)) < 0 ||
            (r = oci_field_strv(j, where, "os.features", &p->os_features, err)) < 0 ||
            (r = oci_field_string(j, where, "variant", false, &p->variant, err)) < 0)
                return r;
        p->extra = oci_extra_of(j, known);
        *ret = steal_ptr(&p);
        return 0;
}

static json_t *
platform_to_json(const struct oci_platform *p)
{
        json_t *o = oci_object_from_extra(p->extra);

        oci_set_string(o, "architecture", p->architecture ? p->architecture : "");
        oci_set_string(o, "os", p->os ? p->os : "");
        oci_set_string(o, "os.version", p->os_version);
        oci_set_strv(o, "os.features", p->os_features);
        oci_set_string(o, "variant", p->variant);
        return o;
}

int
oci_descriptor_validate(const struct oci_descriptor *d, const char *where, struct err **err)
{
        char p[256];
        int r;

        if (!d->media_type)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: missing required field",
                               oci_field_path(p, sizeof(p), where, "mediaType"));
        if ((r = check_media_type(d->media_type, where, "mediaType", err)) < 0)
                return r;
        if (!d->digest)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: missing required field",
                               oci_field_path(p, sizeof(p), where, "digest"));
        if ((r = check_digest(d->digest, where, err)) < 0)
                return r;
        if (d->size < 0)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must not be negative (%lld)",
                               oci_field_path(p, sizeof(p), where, "size"), (long long) d->size);
        if (d->artifact_type && (r = check_media_type(d->artifact_type, where, "artifactType", err)) < 0)
                return r;
        if (d->data) {
                struct digest want, got;

                /* descriptor.md: data is the blob's content; check it is. */
                if ((int64_t) d->data_len != d->size)
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: %zu bytes but size is %lld",
                                       oci_field_path(p, sizeof(p), where, "data"), d->data_len,
                                       (long long) d->size);
                if (digest_parse(d->digest, &want, NULL) == 0) {
                        digest_buffer(want.alg, d->data, d->data_len, &got);
                        if (strcmp(got.str, want.str) != 0)
                                return err_set(err, ERR_MANIFEST_INVALID, "%s: content hashes to %s, not %s",
                                               oci_field_path(p, sizeof(p), where, "data"), got.str, want.str);
                }
        }
        if (d->platform) {
                if (!d->platform->architecture || !d->platform->os)
                        return err_set(err, ERR_MANIFEST_INVALID, "%s: architecture and os are required",
                                       oci_field_path(p, sizeof(p), where, "platform"));
        }
        return 0;
}

int
oci_descriptor_from_json(const json_t *j, const char *where, struct oci_descriptor *ret, struct err **err)
{
        static const char *const known[] = { "mediaType",    "digest",   "size", "urls", "annotations", "data",
                                             "artifactType", "platform", NULL };
        struct oci_descriptor d = { 0 };
        _cleanup_free_ char *data64 = NULL;
        json_t *pj;
        char p[256];
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an object", where);
        if ((r = oci_field_string(j, where, "mediaType", true, &d.media_type, err)) < 0 ||
            (r = oci_field_string(j, where, "digest", true, &d.digest, err)) < 0 ||
            (r = oci_field_int64(j, where, "size", true, &d.size, NULL, err)) < 0 ||
            (r = oci_field_strv(j, where, "urls", &d.urls, err)) < 0 ||
            (r = oci_field_map(j, where, "annotations", &d.annotations, err)) < 0 ||
            (r = oci_field_string(j, where, "data", false, &data64, err)) < 0 ||
            (r = oci_field_string(j, where, "artifactType", false, &d.artifact_type, err)) < 0)
                goto fail;
        if (data64) {
                size_t bad = b64_decode(data64, &d.data, &d.data_len);

                if (bad) {
                        r = err_set(err, ERR_MANIFEST_INVALID, "%s: invalid base64 at position %zu",
                                    oci_field_path(p, sizeof(p), where, "data"), bad);
                        goto fail;
                }
        }
        pj = json_object_get(j, "platform");
        if (pj && !json_is_null(pj) &&
            (r = platform_from_json(pj, oci_field_path(p, sizeof(p), where, "platform"), &d.platform, err)) < 0)
                goto fail;
        if ((r = oci_descriptor_validate(&d, where, err)) < 0)
                goto fail;
        d.extra = oci_extra_of(j, known);
        *ret = d;
        return 0;
fail:
        oci_descriptor_clear(&d);
        return r;
}

json_t *
oci_descriptor_to_json(const struct oci_descriptor *d)
{
        json_t *o = oci_object_from_extra(d->extra);

        oci_set_string(o, "mediaType", d->media_type);
        oci_set_string(o, "digest", d->digest);
        if (json_object_set_new(o, "size", json_integer(d->size)) < 0)
                abort();
        oci_set_strv(o, "urls", d->urls);
        oci_set_map(o, "annotations", d->annotations);
        if (d->data) {
                char *s = b64_encode(d->data, d->data_len);

                oci_set_string(o, "data", s);
                free(s);
        }
        oci_set_string(o, "artifactType", d->artifact_type);
        if (d->platform && json_object_set_new(o, "platform", platform_to_json(d->platform)) < 0)
                abort();
        return o;
}

/* ---- descriptor arrays ---- */

static void
desc_array_free(struct oci_descriptor *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                oci_descriptor_clear(&v[i]);
        free(v);
}

static void
desc_array_add(struct oci_descriptor **v, size_t *n, const struct oci_descriptor *d)
{
        *v = xrealloc(*v, (*n + 1) * sizeof(**v));
        oci_descriptor_copy(&(*v)[*n], d);
        (*n)++;
}

/* Parse array KEY of OBJ into descriptors; at most MAX entries. */
static int
desc_array_from_json(const json_t *obj, const char *key, size_t max, struct oci_descriptor **ret,
                     size_t *ret_n, struct err **err)
{
        json_t *a = json_object_get(obj, key), *e;
        struct oci_descriptor *v;
        size_t i, n;
        int r;

        if (!a)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: missing required field", key);
        if (!json_is_array(a))
                return err_set(err, ERR_MANIFEST_INVALID, "%s: must be an array", key);
        n = json_array_size(a);
        if (n > max)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: too many entries (%zu, at most %zu)", key, n, max);
        v = xcalloc(n ? n : 1, sizeof(*v));
        json_array_foreach(a, i, e) {
                char where[64];

                snprintf(where, sizeof(where), "%s[%zu]", key, i);
                r = oci_descriptor_from_json(e, where, &v[i], err);
                if (r < 0) {
                        desc_array_free(v, i);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static json_t *
desc_array_to_json(const struct oci_descriptor *v, size_t n)
{
        json_t *a = json_array();

        if (!a)
                abort();
        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, oci_descriptor_to_json(&v[i])) < 0)
                        abort();
        return a;
}

static int
schema_version_check(const json_t *j, struct err **err)
{
        int64_t v = 0;
        int r;

        if ((r = oci_field_int64(j, "", "schemaVersion", true, &v, NULL, err)) < 0)
                return r;
        if (v != 2)
                return err_set(err, ERR_MANIFEST_INVALID, "schemaVersion: must be 2, not %lld", (long long) v);
        return 0;
}

static int
subject_from_json(const json_t *j, struct oci_descriptor **ret, struct err **err)
{
        json_t *s = json_object_get(j, "subject");
        struct oci_descriptor *d;
        int r;

        if (!s || json_is_null(s))
                return 0;
        d = xcalloc(1, sizeof(*d));
        r = oci_descriptor_from_json(s, "subject", d, err);
        if (r < 0) {
                free(d);
                return r;
        }
        *ret = d;
        return 0;
}

static void
subject_free(struct oci_descriptor *d)
{
        oci_descriptor_clear(d);
        free(d);
}

static struct oci_descriptor *
subject_dup(const struct oci_descriptor *d)
{
        struct oci_descriptor *r;

        if (!d)
                return NULL;
        r = xcalloc(1, sizeof(*r));
        oci_descriptor_copy(r, d);
        return r;
}

/* ---- manifests ---- */

struct oci_manifest *
oci_manifest_new(const char *media_type)
{
        struct oci_manifest *m = xcalloc(1, sizeof(*m));

        m->schema_version = 2;
        m->media_type = media_type ? xstrdup(media_type) : NULL;
        return m;
}

void
oci_manifest_free(struct oci_manifest *m)
{
        if (!m)
                return;
        free(m->media_type);
        free(m->artifact_type);
        oci_descriptor_clear(&m->config);
        desc_array_free(m->layers, m->n_layers);
        subject_free(m->subject);
        json_decref(m->annotations);
        json_decref(m->extra);
        free(m->raw);
        free(m);
}

const char *
oci_manifest_media_type(const struct oci_manifest *m)
{
        if (m->media_type && oci_mediatype_equal(m->media_type, DOCKER_MT_MANIFEST))
                return DOCKER_MT_MANIFEST;
        return OCI_MT_MANIFEST;
}

int
oci_manifest_validate(const struct oci_manifest *m, struct err **err)
{
        int r;

        if (m->schema_version != 2)
                return err_set(err, ERR_MANIFEST_INVALID, "schemaVersion: must be 2, not %d", m->schema_version);
        if (m->media_type && !oci_mediatype_is_manifest(m->media_type)) {
                if (oci_mediatype_is_index(m->media_type))
                        return err_set(err, ERR_MANIFEST_INVALID,
                                       "mediaType: \"%s\" is an index media type, not an image manifest's",
                                       m->media_type);
                return err_set(err, ERR_MANIFEST_INVALID, "mediaType: \"%.200s\" is not an image manifest type",
                               m->media_type);
        }
        if (m->artifact_type && (r = check_media_type(m->artifact_type, "", "artifactType", err)) < 0)
                return r;
        if ((r = oci_descriptor_validate(&m->config, "config", err)) < 0)
                return r;
        if (m->n_layers > LIMIT_LAYERS)
                return err_set(err, ERR_MANIFEST_INVALID, "layers: too many entries (%zu, at most %d)", m->n_layers,
                               LIMIT_LAYERS);
        for (size_t i = 0; i < m->n_layers; i++) {
                char where[64];

                snprintf(where, sizeof(where), "layers[%zu]", i);
                if ((r = oci_descriptor_validate(&m->layers[i], where, err)) < 0)
                        return r;
        }
        if (m->subject && (r = oci_descriptor_validate(m->subject, "subject", err)) < 0)
                return r;
        return 0;
}

int
oci_manifest_from_json(const json_t *j, struct oci_manifest **ret_manifest, struct err **err)
{
        static const char *const known[] = { "schemaVersion", "mediaType", "artifactType", "config",
                                             "layers",        "subject",   "annotations",  NULL };
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        json_t *c;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "manifest: must be a JSON object");
        m = oci_manifest_new(NULL);
        if ((r = schema_version_check(j, err)) < 0 ||
            (r = oci_field_string(j, "", "mediaType", false, &m->media_type, err)) < 0 ||
            (r = oci_field_string(j, "", "artifactType", false, &m->artifact_type, err)) < 0 ||
            (r = oci_field_map(j, "", "annotations", &m->annotations, err)) < 0)
                return r;
        /* Check the kind before the fields, so an index sent as a manifest
         * says so instead of "config: missing". */
        if (m->media_type && !oci_mediatype_is_manifest(m->media_type))
                return oci_manifest_validate(m, err);
        c = json_object_get(j, "config");
        if (!c || json_is_null(c))
                return err_set(err, ERR_MANIFEST_INVALID, "config: missing required field");
        if ((r = oci_descriptor_from_json(c, "config", &m->config, err)) < 0 ||
            (r = desc_array_from_json(j, "layers", LIMIT_LAYERS, &m->layers, &m->n_layers, err)) < 0 ||
            (r = subject_from_json(j, &m->subject, err)) < 0 || (r = oci_manifest_validate(m, err)) < 0)
                return r;
        m->extra = oci_extra_of(j, known);
        *ret_manifest = steal_ptr(&m);
        return 0;
}

int
oci_json_parse_doc(const void *buf, size_t len, size_t cap, const char *what, oci_from_doc_fn from_doc, void *ret,
                   struct err **err)
{
        json_t *j = NULL;
        int r;

        if ((r = oci_json_load(buf, len, cap, what, &j, err)) < 0)
                return r;
        r = from_doc(j, buf, len, ret, err);
        json_decref(j);
        if (r < 0 && err && *err && strncmp((*err)->msg, what, strlen(what)) != 0)
                err_prefix(err, "%s", what);
        return r;
}

static int
manifest_from_doc(const json_t *j, const void *raw, size_t raw_len, void *ret, struct err **err)
{
        struct oci_manifest *m = NULL;
        int r = oci_manifest_from_json(j, &m, err);

        if (r == 0) {
                m->raw = oci_raw_copy(raw, raw_len);
                m->raw_len = raw_len;
                *(struct oci_manifest **) ret = m;
        }
        return r;
}

int
oci_manifest_parse(const void *buf, size_t len, struct oci_manifest **ret_manifest, struct err **err)
{
        return oci_json_parse_doc(buf, len, LIMIT_MANIFEST_SIZE, "manifest", manifest_from_doc, ret_manifest, err);
}

void
oci_manifest_add_layer(struct oci_manifest *m, const struct oci_descriptor *d)
{
        desc_array_add(&m->layers, &m->n_layers, d);
}

void
oci_manifest_set_config(struct oci_manifest *m, const struct oci_descriptor *d)
{
        struct oci_descriptor c;

        oci_descriptor_copy(&c, d);
        oci_descriptor_clear(&m->config);
        m->config = c;
}

void
oci_manifest_set_subject(struct oci_manifest *m, const struct oci_descriptor *d)
{
        struct oci_descriptor *s = subject_dup(d);

        subject_free(m->subject);
        m->subject = s;
}

json_t *
oci_manifest_to_json(const struct oci_manifest *m)
{
        json_t *o = oci_object_from_extra(m->extra);

        if (json_object_set_new(o, "schemaVersion", json_integer(m->schema_version)) < 0)
                abort();
        oci_set_string(o, "mediaType", m->media_type);
        oci_set_string(o, "artifactType", m->artifact_type);
        if (json_object_set_new(o, "config", oci_descriptor_to_json(&m->config)) < 0 ||
            json_object_set_new(o, "layers", desc_array_to_json(m->layers, m->n_layers)) < 0)
                abort();
        if (m->subject && json_object_set_new(o, "subject", oci_descriptor_to_json(m->subject)) < 0)
                abort();
        oci_set_map(o, "annotations", m->annotations);
        return o;
}

int
oci_manifest_serialize(const struct oci_manifest *m, char **ret_buf, size_t *ret_len, struct err **err)
{
        json_t *j;
        int r;

        if ((r = oci_manifest_validate(m, err)) < 0) {
                err_prefix(err, "manifest");
                return r;
        }
        j = oci_manifest_to_json(m);
        r = oci_json_dump(j, ret_buf, ret_len, err);
        json_decref(j);
        return r;
}

size_t
oci_manifest_children(const struct oci_manifest *m, struct oci_child **ret)
{
        size_t n = 0;
        struct oci_child *v = xcalloc(m->n_layers + 2, sizeof(*v));

        v[n++] = (struct oci_child){ OCI_CHILD_CONFIG, &m->config };
        for (size_t i = 0; i < m->n_layers; i++)
                v[n++] = (struct oci_child){ OCI_CHILD_LAYER, &m->layers[i] };
        if (m->subject)
                v[n++] = (struct oci_child){ OCI_CHILD_SUBJECT, m->subject };
        *ret = v;
        return n;
}

/* ---- indexes ---- */

struct oci_index *
oci_index_new(const char *media_type)
{
        struct oci_index *idx = xcalloc(1, sizeof(*idx));

        idx->schema_version = 2;
        idx->media_type = media_type ? xstrdup(media_type) : NULL;
        return idx;
}

void
oci_index_free(struct oci_index *idx)
{
        if (!idx)
                return;
        free(idx->media_type);
        free(idx->artifact_type);
        desc_array_free(idx->manifests, idx->n_manifests);
        subject_free(idx->subject);
        json_decref(idx->annotations);
        json_decref(idx->extra);
        free(idx->raw);
        free(idx);
}

const char *
oci_index_media_type(const struct oci_index *idx)
{
        if (idx->media_type && oci_mediatype_equal(idx->media_type, DOCKER_MT_MANIFEST_LIST))
                return DOCKER_MT_MANIFEST_LIST;
        return OCI_MT_INDEX;
}

int
oci_index_validate(const struct oci_index *idx, struct err **err)
{
        int r;

        if (idx->schema_version != 2)
                return err_set(err, ERR_MANIFEST_INVALID, "schemaVersion: must be 2, not %d", idx->schema_version);
        if (idx->media_type && !oci_mediatype_is_index(idx->media_type)) {
                if (oci_mediatype_is_manifest(idx->media_type))
                        return err_set(err, ERR_MANIFEST_INVALID,
                                       "mediaType: \"%s\" is an image manifest media type, not an index's",
                                       idx->media_type);
                return err_set(err, ERR_MANIFEST_INVALID, "mediaType: \"%.200s\" is not an index type",
                               idx->media_type);
        }
        if (idx->artifact_type && (r = check_media_type(idx->artifact_type, "", "artifactType", err)) < 0)
                return r;
        if (idx->n_manifests > LIMIT_INDEX_MANIFESTS)
                return err_set(err, ERR_MANIFEST_INVALID, "manifests: too many entries (%zu, at most %d)",
                               idx->n_manifests, LIMIT_INDEX_MANIFESTS);
        for (size_t i = 0; i < idx->n_manifests; i++) {
                char where[64];

                snprintf(where, sizeof(where), "manifests[%zu]", i);
                if ((r = oci_descriptor_validate(&idx->manifests[i], where, err)) < 0)
                        return r;
        }
        if (idx->subject && (r = oci_descriptor_validate(idx->subject, "subject", err)) < 0)
                return r;
        return 0;
}

int
oci_index_from_json(const json_t *j, struct oci_index **ret_index, struct err **err)
{
        static const char *const known[] = { "schemaVersion", "mediaType", "artifactType", "manifests",
                                             "subject",       "annotations", NULL };
        _cleanup_(oci_index_freep) struct oci_index *idx = NULL;
        int r;

        if (!json_is_object(j))
                return err_set(err, ERR_MANIFEST_INVALID, "index: must be a JSON object");
        idx = oci_index_new(NULL);
        if ((r = schema_version_check(j, err)) < 0 ||
            (r = oci_field_string(j, "", "mediaType", false, &idx->media_type, err)) < 0 ||
            (r = oci_field_string(j, "", "artifactType", false, &idx->artifact_type, err)) < 0 ||
            (r = oci_field_map(j, "", "annotations", &idx->annotations, err)) < 0)
                return r;
        if (idx->media_type && !oci_mediatype_is_index(idx->media_type))
                return oci_index_validate(idx, err);
        if ((r = desc_array_from_json(j, "manifests", LIMIT_INDEX_MANIFESTS, &idx->manifests, &idx->n_manifests,
                                      err)) < 0 ||
            (r = subject_from_json(j, &idx->subject, err)) < 0 || (r = oci_index_validate(idx, err)) < 0)
                return r;
        idx->extra = oci_extra_of(j, known);
        *ret_index = steal_ptr(&idx);
        return 0;
}

static int
index_from_doc(const json_t *j, const void *raw, size_t raw_len, void *ret, struct err **err)
{
        struct oci_index *idx = NULL;
        int r = oci_index_from_json(j, &idx, err);

        if (r == 0) {
                idx->raw = oci_raw_copy(raw, raw_len);
                idx->raw_len = raw_len;
                *(struct oci_index **) ret = idx;
        }
        return r;
}

int
oci_index_parse(const void *buf, size_t len, struct oci_index **ret_index, struct err **err)
{
        return oci_json_parse_doc(buf, len, LIMIT_MANIFEST_SIZE, "index", index_from_doc, ret_index, err);
}

void
oci_index_add(struct oci_index *idx, const struct oci_descriptor *d)
{
        desc_array_add(&idx->manifests, &idx->n_manifests, d);
}

void
oci_index_remove(struct oci_index *idx, size_t i)
{
        if (i >= idx->n_manifests)
                return;
        oci_descriptor_clear(&idx->manifests[i]);
        memmove(&idx->manifests[i], &idx->manifests[i + 1], (idx->n_manifests - i - 1) * sizeof(idx->manifests[0]));
        idx->n_manifests--;
}

void
oci_index_set_subject(struct oci_index *idx, const struct oci_descriptor *d)
{
        struct oci_descriptor *s = subject_dup(d);

        subject_free(idx->subject);
        idx->subject = s;
}

json_t *
oci_index_to_json(const struct oci_index *idx)
{
        json_t *o = oci_object_from_extra(idx->extra);

        if (json_object_set_new(o, "schemaVersion", json_integer(idx->schema_version)) < 0)
                abort();
        oci_set_string(o, "mediaType", idx->media_type);
        oci_set_string(o, "artifactType", idx->artifact_type);
        if (json_object_set_new(o, "manifests", desc_array_to_json(idx->manifests, idx->n_manifests)) < 0)
                abort();
        if (idx->subject && json_object_set_new(o, "subject", oci_descriptor_to_json(idx->subject)) < 0)
                abort();
        oci_set_map(o, "annotations", idx->annotations);
        return o;
}

int
oci_index_serialize(const struct oci_index *idx, char **ret_buf, size_t *ret_len, struct err **err)
{
        json_t *j;
        int r;

        if ((r = oci_index_validate(idx, err)) < 0) {
                err_prefix(err, "index");
                return r;
        }
        j = oci_index_to_json(idx);
        r = oci_json_dump(j, ret_buf, ret_len, err);
        json_decref(j);
        return r;
}

size_t
oci_index_children(const struct oci_index *idx, struct oci_child **ret)
{
        size_t n = 0;
        struct oci_child *v = xcalloc(idx->n_manifests + 1, sizeof(*v));

        for (size_t i = 0; i < idx->n_manifests; i++)
                v[n++] = (struct oci_child){ OCI_CHILD_MANIFEST, &idx->manifests[i] };
        if (idx->subject)
                v[n++] = (struct oci_child){ OCI_CHILD_SUBJECT, idx->subject };
        *ret = v;
        return n;
}

int
oci_index_select_platform(const struct oci_index *idx, const struct oci_platform *want, size_t *ret_i,
                          struct err **err)
{
        int best = -1;
        size_t best_i = 0;
        char offered[1024] = "";
        size_t off = 0;

        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct oci_platform *p = idx->manifests[i].platform;
                int rank;

                if (!p)
                        continue;
                if (off < sizeof(offered) - 1) {
                        _cleanup_free_ char *s = oci_platform_format(p);
                        int k = snprintf(offered + off, sizeof(offered) - off, "%s%s", off ? ", " : "", s);

                        if (k > 0)
                                off += (size_t) k;
                        if (off >= sizeof(offered))
                                off = sizeof(offered) - 1;
                }
                rank = oci_platform_rank(want, p);
                if (rank >= 0 && (best < 0 || rank < best)) {
                        best = rank;
                        best_i = i;
                }
        }
        if (best < 0) {
                _cleanup_free_ char *w = oci_platform_format(want);

                return err_set(err, ERR_MANIFEST_UNKNOWN, "no manifest for platform %s in index (offered: %s)", w,
                               off ? offered : "none");
        }
        *ret_i = best_i;
        return 0;
}

/* ---- documents ---- */

/* The canonical constant for a known manifest-ish media type, else NULL. */
static const char *
canonical_mt(const char *mt)
{
        static const char *const all[] = { OCI_MT_MANIFEST, OCI_MT_INDEX, DOCKER_MT_MANIFEST, DOCKER_MT_MANIFEST_LIST,
                                           DOCKER_MT_MANIFEST_V1, DOCKER_MT_MANIFEST_V1_SIGNED, NULL };

        for (size_t i = 0; all[i]; i++)
                if (oci_mediatype_equal(mt, all[i]))
                        return all[i];
        return NULL;
}

static const char *
detect_json(const json_t *j)
{
        json_t *mt, *sv;

        if (!json_is_object(j))
                return NULL;
        mt = json_object_get(j, "mediaType");
        if (json_is_string(mt))
                return canonical_mt(json_string_value(mt));
        sv = json_object_get(j, "schemaVersion");
        if (json_is_integer(sv) && json_integer_value(sv) == 1)
                return json_object_get(j, "signatures") ? DOCKER_MT_MANIFEST_V1_SIGNED : DOCKER_MT_MANIFEST_V1;
        if (json_object_get(j, "manifests"))
                return OCI_MT_INDEX;
        if (json_object_get(j, "config") && json_object_get(j, "layers"))
                return OCI_MT_MANIFEST;
        return NULL;
}

const char *
oci_detect_media_type(const void *buf, size_t len)
{
        json_t *j = NULL;
        const char *mt;

        if (oci_json_load(buf, len, LIMIT_MANIFEST_SIZE, "manifest", &j, NULL) < 0)
                return NULL;
        mt = detect_json(j);
        json_decref(j);
        return mt;
}

void
oci_document_clear(struct oci_document *doc)
{
        if (!doc)
                return;
        oci_manifest_free(doc->manifest);
        oci_index_free(doc->index);
        memset(doc, 0, sizeof(*doc));
}

int
oci_document_parse(const void *buf, size_t len, const char *content_type, struct oci_document *ret,
                   struct err **err)
{
        json_t *j = NULL;
        const char *ct = content_type ? canonical_mt(content_type) : NULL;
        const char *body_mt, *mt;
        struct oci_document doc = { 0 };
        json_t *mtj;
        int r;

        if ((r = oci_json_load(buf, len, LIMIT_MANIFEST_SIZE, "manifest", &j, err)) < 0)
                return r;
        if (!json_is_object(j)) {
                json_decref(j);
                return err_set(err, ERR_MANIFEST_INVALID, "manifest: must be a JSON object");
        }
        mtj = json_object_get(j, "mediaType");
        body_mt = detect_json(j);
        if (json_is_string(mtj) && ct && !oci_mediatype_equal(json_string_value(mtj), ct)) {
                r = err_set(err, ERR_MANIFEST_INVALID, "manifest: mediaType \"%.200s\" does not match Content-Type \"%.200s\"",
                            json_string_value(mtj), content_type);
                json_decref(j);
                return r;
        }
        mt = ct ? ct : body_mt;
        if (mt && (strcmp(mt, DOCKER_MT_MANIFEST_V1) == 0 || strcmp(mt, DOCKER_MT_MANIFEST_V1_SIGNED) == 0)) {
                json_decref(j);
                return err_set(err, ERR_UNSUPPORTED, "manifest: Docker schema 1 manifests are not supported");
        }
        if (!mt) {
                if (json_is_string(mtj))
                        r = err_set(err, ERR_MANIFEST_INVALID, "manifest: mediaType: unknown manifest type \"%.200s\"",
                                    json_string_value(mtj));
                else
                        r = err_set(err, ERR_MANIFEST_INVALID,
                                    "manifest: not an image manifest or index (no mediaType, no config/layers, no "
                                    "manifests)");
                json_decref(j);
                return r;
        }
        if (oci_mediatype_is_index(mt)) {
                r = index_from_doc(j, buf, len, &doc.index, err);
                if (r < 0)
                        err_prefix(err, "index");
        } else {
                r = manifest_from_doc(j, buf, len, &doc.manifest, err);
                if (r < 0)
                        err_prefix(err, "manifest");
        }
        json_decref(j);
        if (r < 0)
                return r;
        doc.media_type = mt;
        *ret = doc;
        return 0;
}

size_t
oci_document_children(const struct oci_document *doc, struct oci_child **ret)
{
        if (doc->index)
                return oci_index_children(doc->index, ret);
        if (doc->manifest)
                return oci_manifest_children(doc->manifest, ret);
        *ret = NULL;
        return 0;
}
