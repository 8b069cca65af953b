/* OCI image layout: walking index.json → manifests → blobs, and validation. */
#include "oci/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "oci/layout-internal.h"
#include "oci/mediatype.h"

#define WALK_MAX_DEPTH 16

struct walk {
        const struct oci_layout *layout;
        unsigned flags;
        oci_walk_fn fn;
        void *userdata;
        json_t *seen; /* object used as a set of manifest/index digests */
        bool validate;
        unsigned vflags;
        size_t count;
};

static const char *
kind_name(enum oci_walk_kind kind, const char *media_type)
{
        switch (kind) {
        case OCI_WALK_CONFIG:
                return "config";
        case OCI_WALK_LAYER:
                return "layer";
        case OCI_WALK_SUBJECT:
                return "subject";
        default:
                return oci_mediatype_is_index(media_type) ? "index" : "manifest";
        }
}

/* " (image \"NAME\")" or "" */
static char *
name_note(const char *name)
{
        return name ? xasprintf(" (image \"%s\")", name) : xstrdup("");
}

/* Check that the blob of a descriptor exists with the right size and, for
 * layers with OCI_VALIDATE_REHASH, the right content.  Manifests, indexes
 * and configs are verified when read. */
static int
check_blob(struct walk *w, const struct oci_walk_item *it, struct err **err)
{
        _cleanup_free_ char *note = name_note(it->name);
        const struct oci_descriptor *d = it->desc;
        const char *what = kind_name(it->kind, d->media_type);
        uint64_t size;
        int r;

        r = oci_layout_stat_blob(w->layout, &it->digest, &size, NULL);
        if (r < 0) {
                if (it->kind == OCI_WALK_SUBJECT)
                        return 0; /* the subject may live elsewhere */
                /* image-layout.md: referenced blobs MAY be missing when they
                 * are fetched from elsewhere: foreign layers with urls. */
                if (it->kind == OCI_WALK_LAYER && d->urls && d->urls[0] &&
                    oci_mediatype_is_nondistributable(d->media_type))
                        return 0;
                return err_set(err, ERR_BLOB_UNKNOWN, "%s blob %s referenced by %s%s: missing from %s", what, d->digest,
                               it->referrer, note, w->layout->path);
        }
        if ((int64_t) size != d->size)
                return err_set(err, ERR_SIZE_INVALID,
                               "%s blob %s referenced by %s%s: size is %llu bytes, the descriptor says %lld", what,
                               d->digest, it->referrer, note, (unsigned long long) size, (long long) d->size);
        if (it->kind == OCI_WALK_LAYER && (w->vflags & OCI_VALIDATE_REHASH)) {
                _cleanup_close_ int fd = -1;
                struct digest got;

                r = oci_layout_open_blob(w->layout, &it->digest, &fd, NULL, err);
                if (r < 0)
                        return r;
                r = digest_fd(it->digest.alg, fd, &got, NULL, err);
                if (r < 0)
                        return err_prefix(err, "hashing %s blob %s", what, d->digest);
                if (strcmp(got.str, it->digest.str) != 0)
                        return err_set(err, ERR_DIGEST_INVALID,
                                       "%s blob %s referenced by %s%s: corrupt, its content hashes to %s", what,
                                       d->digest, it->referrer, note, got.str);
        }
        return 0;
}

static int
check_config(struct walk *w, const struct oci_walk_item *it, struct err **err)
{
        _cleanup_free_ char *note = name_note(it->name);
        _cleanup_free_ char *data = NULL;
        struct oci_image_config *cfg = NULL;
        json_t *j = NULL;
        size_t len;
        int r;

        r = oci_layout_read_blob(w->layout, &it->digest, LIMIT_CONFIG_SIZE, &data, &len, err);
        if (r < 0)
                return err_prefix(err, "config referenced by %s%s", it->referrer, note);
        if (oci_mediatype_is_config(it->desc->media_type)) {
                r = oci_image_config_parse(data, len, &cfg, err);
                oci_image_config_free(cfg);
        } else if (oci_mediatype_equal(it->desc->media_type, OCI_MT_EMPTY) || strstr(it->desc->media_type, "json")) {
                r = oci_json_load(data, len, LIMIT_CONFIG_SIZE, "config", &j, err);
                json_decref(j);
        }
        if (r < 0)
                return err_prefix(err, "config blob %s referenced by %s%s", it->desc->digest, it->referrer, note);
        return 0;
}

/* Artifacts may use any media type for config and layers, but a config or
 * layer described as a manifest, an index, or the other role is a broken
 * (swapped) descriptor. */
static int
check_media_type(const struct oci_walk_item *it, struct err **err)
{
        _cleanup_free_ char *note = name_note(it->name);
        const char *mt = it->desc->media_type;
        bool bad = false;

        if (it->kind == OCI_WALK_CONFIG)
                bad = oci_mediatype_is_manifest_or_index(mt) || oci_mediatype_is_layer(mt);
        else if (it->kind == OCI_WALK_LAYER)
                bad = oci_mediatype_is_manifest_or_index(mt) || oci_mediatype_is_config(mt);
        if (bad)
                return err_set(err, ERR_MANIFEST_INVALID, "%s referenced by %s%s: media type %s does not fit a %s",
                               it->desc->digest, it->referrer, note, mt, kind_name(it->kind, mt));
        return 0;
}

static int visit(struct walk *w, enum oci_walk_kind kind, const struct oci_descriptor *d, const char *name,
                 const char *referrer, int depth, struct err **err);

static int
recurse(struct walk *w, const struct oci_walk_item *it, struct err **err)
{
        _cleanup_free_ char *note = name_note(it->name);
        _cleanup_free_ char *data = NULL;
        struct oci_document doc = {0};
        struct oci_child *children = NULL;
        size_t len, n, i_manifest = 0, i_layer = 0;
        int r;

        /* Keyed by media type too: the same bytes described as another kind
         * are checked again (and fail). */
        _cleanup_free_ char *key = xasprintf("%s %s", it->desc->media_type, it->digest.str);

        if (json_object_get(w->seen, key))
                return 0;
        if (it->depth >= WALK_MAX_DEPTH)
                return err_set(err, ERR_MANIFEST_INVALID, "%s referenced by %s%s: indexes nested deeper than %d",
                               it->desc->digest, it->referrer, note, WALK_MAX_DEPTH);
        json_object_set_new(w->seen, key, json_true());

        r = oci_layout_read_blob(w->layout, &it->digest, LIMIT_MANIFEST_SIZE, &data, &len, err);
        if (r < 0) {
                if (it->kind == OCI_WALK_SUBJECT && err_code(err) == ERR_BLOB_UNKNOWN) {
                        err_clear(err);
                        return 0;
                }
                if (w->flags & OCI_WALK_SKIP_MISSING) {
                        err_clear(err);
                        return 0;
                }
                return err_prefix(err, "%s referenced by %s%s", kind_name(it->kind, it->desc->media_type), it->referrer,
                                  note);
        }
        /* The descriptor's media type is the Content-Type: the document must
         * be of that kind and its own mediaType (if any) must agree. */
        r = oci_document_parse(data, len, it->desc->media_type, &doc, err);
        if (r < 0) {
                if (w->flags & OCI_WALK_SKIP_MISSING) {
                        err_clear(err);
                        return 0;
                }
                return err_prefix(err, "%s %s referenced by %s%s", kind_name(it->kind, it->desc->media_type),
                                  it->desc->digest, it->referrer, note);
        }
        n = oci_document_children(&doc, &children);
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *ref = NULL;
                enum oci_walk_kind kind;

                switch (children[i].kind) {
                case OCI_CHILD_CONFIG:
                        kind = OCI_WALK_CONFIG;
                        ref = xasprintf("config of %s", it->desc->digest);
                        break;
                case OCI_CHILD_LAYER:
                        kind = OCI_WALK_LAYER;
                        ref = xasprintf("layers[%zu] of %s", i_layer++, it->desc->digest);
                        break;
                case OCI_CHILD_MANIFEST:
                        kind = OCI_WALK_MANIFEST;
                        ref = xasprintf("manifests[%zu] of %s", i_manifest++, it->desc->digest);
                        break;
                default:
                        kind = OCI_WALK_SUBJECT;
                        ref = xasprintf("subject of %s", it->desc->digest);
                        break;
                }
                r = visit(w, kind, children[i].desc, it->name, ref, it->depth + 1, err);
        }
        free(children);
        oci_document_clear(&doc);
        return r;
}

static int
visit(struct walk *w, enum oci_walk_kind kind, const struct oci_descriptor *d, const char *name, const char *referrer,
      int depth, struct err **err)
{
        struct oci_walk_item it = {
            .kind = kind,
            .desc = d,
            .name = name,
            .referrer = referrer,
            .depth = depth,
        };
        int r;

        r = oci_descriptor_validate(d, referrer, err);
        if (r < 0)
                return r;
        r = digest_parse(d->digest, &it.digest, err);
        if (r < 0)
                return err_prefix(err, "%s", referrer);
        w->count++;
        if (w->fn) {
                r = w->fn(&it, w->userdata, err);
                if (r < 0)
                        return r;
        }
        if (w->validate) {
                r = check_media_type(&it, err);
                if (r < 0)
                        return r;
                r = check_blob(w, &it, err);
                if (r < 0)
                        return r;
                if (kind == OCI_WALK_CONFIG) {
                        r = check_config(w, &it, err);
                        if (r < 0)
                                return r;
                }
        }
        if (kind == OCI_WALK_CONFIG || kind == OCI_WALK_LAYER)
                return 0;
        /* image-index.md: an unknown media type in manifests[] must not be
         * an error; such an entry is a plain blob. */
        if (!oci_mediatype_is_manifest_or_index(d->media_type))
                return 0;
        return recurse(w, &it, err);
}

static int
walk_index(struct walk *w, struct err **err)
{
        json_t *idx = NULL, *entry;
        size_t i;
        int r = 0;

        r = oci_layout_read_index(w->layout, &idx, err);
        if (r < 0)
                return r;
        json_array_foreach(json_object_get(idx, "manifests"), i, entry)
        {
                struct oci_descriptor d;
                char ref[64];

                snprintf(ref, sizeof(ref), "index.json manifests[%zu]", i);
                r = oci_descriptor_from_json(entry, ref, &d, err);
                if (r < 0) {
                        err_prefix(err, "%s", w->layout->path);
                        break;
                }
                r = visit(w, OCI_WALK_ROOT, &d, oci_descriptor_annotation(&d, OCI_ANNOTATION_REF_NAME), ref, 0, err);
                oci_descriptor_clear(&d);
                if (r < 0)
                        break;
        }
        json_decref(idx);
        return r;
}

int
oci_layout_walk(const struct oci_layout *layout, unsigned flags, oci_walk_fn fn, void *userdata, struct err **err)
{
        struct walk w = {.layout = layout, .flags = flags, .fn = fn, .userdata = userdata, .seen = json_object()};
        int r;

        r = walk_index(&w, err);
        json_decref(w.seen);
        return r;
}

int
oci_layout_walk_from(const struct oci_layout *layout, const struct oci_descriptor *desc, unsigned flags, oci_walk_fn fn,
                     void *userdata, struct err **err)
{
        struct walk w = {.layout = layout, .flags = flags, .fn = fn, .userdata = userdata, .seen = json_object()};
        int r;

        r = visit(&w, OCI_WALK_ROOT, desc, oci_descriptor_annotation(desc, OCI_ANNOTATION_REF_NAME), "descriptor", 0,
                  err);
        json_decref(w.seen);
        return r;
}

int
oci_layout_validate(const struct oci_layout *layout, unsigned flags, size_t *ret_blobs, struct err **err)
{
        struct walk w = {.layout = layout, .validate = true, .vflags = flags, .seen = json_object()};
        struct oci_layout *reopened = NULL;
        int r;

        /* Re-check the layout's own files as open does. */
        r = oci_layout_open(layout->path, &reopened, err);
        oci_layout_free(reopened);
        if (r >= 0)
                r = walk_index(&w, err);
        json_decref(w.seen);
        if (r < 0)
                return r;
        if (ret_blobs)
                *ret_blobs = w.count;
        return 0;
}
