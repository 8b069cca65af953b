/* A stage's image as it is built: its config and layers, each layer's
 * snapshot dir (unpacked on first use), the merged view of those snapshots
 * (a lookup and a listing that honour overlay whiteouts and opaque dirs),
 * layer blobs written from an entry list, and images loaded as temporary
 * stages (COPY --from=image). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "builder/exec/exec-internal.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "oci/layout.h"

/* ---- stages and layers ------------------------------------------------- */

static void
xlayer_clear(struct xlayer *l)
{
        oci_descriptor_clear(&l->desc);
        free(l->diff_id);
        free(l->snapshot);
}

void
xstage_clear(struct xstage *s)
{
        oci_image_config_free(s->cfg);
        for (size_t i = 0; i < s->n_layers; i++)
                xlayer_clear(&s->layers[i]);
        free(s->layers);
        free(s->base_name);
        free(s->base_digest);
        memset(s, 0, sizeof(*s));
}

void
xstage_add_layer(struct xstage *s, const struct oci_descriptor *desc, const char *diff_id, const char *snapshot)
{
        struct xlayer *l;

        s->layers = xrealloc(s->layers, (s->n_layers + 1) * sizeof(*s->layers));
        l = &s->layers[s->n_layers++];
        memset(l, 0, sizeof(*l));
        oci_descriptor_copy(&l->desc, desc);
        l->diff_id = xstrdup(diff_id);
        l->snapshot = snapshot ? xstrdup(snapshot) : NULL;
}

/* Replace S's config and layers with a copy of CFG and LAYERS. */
void
xstage_set(struct xstage *s, struct oci_image_config *cfg, const struct oci_descriptor *layers, size_t n)
{
        oci_image_config_free(s->cfg);
        for (size_t i = 0; i < s->n_layers; i++)
                xlayer_clear(&s->layers[i]);
        free(s->layers);
        s->layers = NULL;
        s->n_layers = 0;
        s->cfg = cfg;
        for (size_t i = 0; i < n; i++)
                xstage_add_layer(s, &layers[i], cfg->diff_ids[i], NULL);
}

static int xstage_unpack_locked(struct xctx *x, struct xstage *s, struct err **err);

int
xstage_unpack(struct xctx *x, struct xstage *s, struct err **err)
{
        int r;

        /* A finished stage may be read by several parallel stages at once. */
        pthread_mutex_lock(&x->lock);
        r = xstage_unpack_locked(x, s, err);
        pthread_mutex_unlock(&x->lock);
        return r;
}

static int
xstage_unpack_locked(struct xctx *x, struct xstage *s, struct err **err)
{
        for (size_t i = 0; i < s->n_layers; i++) {
                struct xlayer *l = &s->layers[i];
                struct digest d, diff;
                _cleanup_free_ char *blob = NULL, *warnings = NULL;
                int r;

                if (l->snapshot)
                        continue;
                r = digest_parse(l->desc.digest, &d, err);
                if (r < 0)
                        return r;
                r = digest_parse(l->diff_id, &diff, err);
                if (r < 0)
                        return r;
                blob = oci_layout_blob_path(x->layout, &d);
                r = build_snapshot_unpack(&x->idmap, oci_store_snapshots_dir(x->store), blob, &diff, &l->snapshot,
                                          &warnings, err);
                if (r < 0)
                        return err_prefix(err, "unpacking layer %s", l->desc.digest);
                if (warnings)
                        xevent(x, BUILD_EVENT_INFO, 0, "warning: layer %s: %s", l->desc.digest, warnings);
        }
        return 0;
}

const char **
xstage_lowers(struct xctx *x, struct xstage *s, size_t *ret_n)
{
        const char **v = xcalloc(s->n_layers + 1, sizeof(*v));
        size_t n = 0;

        for (size_t i = s->n_layers; i > 0; i--)
                v[n++] = s->layers[i - 1].snapshot;
        if (n == 0)
                v[n++] = x->empty_dir;
        *ret_n = n;
        return v;
}

static bool
is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool
is_opaque(const char *path)
{
        char v[4];
        ssize_t n = lgetxattr(path, "user.overlay.opaque", v, sizeof(v));

        if (n <= 0)
                n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v));
        return n == 1 && v[0] == 'y';
}

int
xstage_lookup(struct xctx *x, struct xstage *s, const char *path, char **ret_host, struct stat *ret_st,
              struct err **err)
{
        int r = xstage_unpack(x, s, err);

        if (r < 0)
                return r;
        for (size_t i = s->n_layers; i > 0; i--) {
                const char *snap = s->layers[i - 1].snapshot;
                _cleanup_free_ char *rel = xstrdup(path), *host = NULL;
                struct stat st;
                bool hidden_below = false;
                char *p;

                /* A parent that is a whiteout or opaque in this layer hides
                 * everything lower. */
                for (p = strchr(rel + 1, '/'); p; p = strchr(p + 1, '/')) {
                        _cleanup_free_ char *h = NULL;

                        *p = '\0';
                        h = xasprintf("%s%s", snap, rel);
                        *p = '/';
                        if (lstat(h, &st) == 0) {
                                if (is_whiteout(&st))
                                        return -ENOENT;
                                if (S_ISDIR(st.st_mode) && is_opaque(h))
                                        hidden_below = true;
                        }
                }
                host = strcmp(path, "/") == 0 ? xstrdup(snap) : xasprintf("%s%s", snap, path);
                if (lstat(host, &st) == 0) {
                        if (is_whiteout(&st))
                                return -ENOENT;
                        *ret_host = steal_ptr(&host);
                        *ret_st = st;
                        return 0;
                }
                if (hidden_below)
                        return -ENOENT;
        }
        if (strcmp(path, "/") == 0) {
                if (lstat(x->empty_dir, ret_st) < 0)
                        return err_set(err, errno, "%s: %s", x->empty_dir, strerror(errno));
                *ret_host = xstrdup(x->empty_dir);
                return 0;
        }
        return -ENOENT;
}

/* ---- merged listing (COPY --from a stage) ------------------------------ */

struct seen {
        char **v;
        size_t n, cap;
};

static int
cmpstr(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
seen_has(const struct seen *s, size_t sorted_n, const char *k)
{
        return sorted_n && bsearch(&k, s->v, sorted_n, sizeof(char *), cmpstr) != NULL;
}

static void
seen_add(struct seen *s, const char *k)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->v = xrealloc(s->v, s->cap * sizeof(char *));
        }
        s->v[s->n++] = xstrdup(k);
}

struct mlist {
        struct xmerged *v;
        size_t n, cap;
};

/* Is REL or one of its parents in HIDE (sorted, first N)? */
static bool
hidden(const struct seen *hide, size_t n, const char *rel)
{
        _cleanup_free_ char *c = xstrdup(rel);
        char *p;

        if (seen_has(hide, n, c))
                return true;
        while ((p = strrchr(c, '/'))) {
                *p = '\0';
                if (seen_has(hide, n, c))
                        return true;
        }
        return false;
}

/* Opaque dirs of upper layers hide lower content of that dir, not the dir. */
static bool
under_opaque(const struct seen *opq, size_t n, const char *rel)
{
        _cleanup_free_ char *c = xstrdup(rel);
        char *p;

        while ((p = strrchr(c, '/'))) {
                *p = '\0';
                if (seen_has(opq, n, c))
                        return true;
        }
        return n && seen_has(opq, n, "");
}

static int
walk_layer(const char *dir, const char *rel, struct seen *seen, size_t n_seen, struct seen *hide, size_t n_hide,
           struct seen *opq_new, const struct seen *opq, size_t n_opq, struct mlist *out, struct err **err)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : err_set(err, errno, "reading %s: %s", dir, strerror(errno));
        while ((de = readdir(d))) {
                _cleanup_free_ char *host = NULL, *r = NULL;
                struct stat st;
                int rc;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                host = xasprintf("%s/%s", dir, de->d_name);
                r = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                if (lstat(host, &st) < 0)
                        return err_set(err, errno, "%s: %s", host, strerror(errno));
                if (hidden(hide, n_hide, r) || under_opaque(opq, n_opq, r))
                        continue;
                if (is_whiteout(&st)) {
                        seen_add(hide, r);
                        continue;
                }
                if (!seen_has(seen, n_seen, r)) {
                        if (out->n == out->cap) {
                                out->cap = out->cap ? out->cap * 2 : 256;
                                out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
                        }
                        out->v[out->n].rel = xstrdup(r);
                        out->v[out->n].host = xstrdup(host);
                        out->v[out->n].st = st;
                        out->n++;
                        seen_add(seen, r);
                }
                if (S_ISDIR(st.st_mode)) {
                        if (is_opaque(host))
                                seen_add(opq_new, r);
                        rc = walk_layer(host, r, seen, n_seen, hide, n_hide, opq_new, opq, n_opq, out, err);
                        if (rc < 0)
                                return rc;
                }
        }
        return 0;
}

static void
seen_free(struct seen *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
}

void
xmerged_free(struct xmerged *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].rel);
                free(m[i].host);
        }
        free(m);
}

static int
cmp_merged(const void *a, const void *b)
{
        return strcmp(((const struct xmerged *) a)->rel, ((const struct xmerged *) b)->rel);
}

int
xstage_list(struct xctx *x, struct xstage *s, const char *path, struct xmerged **ret, size_t *ret_n, struct err **err)
{
        struct seen seen = {0}, hide = {0}, opq = {0};
        struct mlist out = {0};
        int r = xstage_unpack(x, s, err);

        if (r < 0)
                return r;
        for (size_t i = s->n_layers; i > 0 && r >= 0; i--) {
                _cleanup_free_ char *dir = NULL;
                struct seen opq_new = {0};
                size_t n_seen = seen.n, n_hide = hide.n, n_opq = opq.n;
                struct stat st;

                sort_array(seen.v, seen.n, sizeof(char *), cmpstr);
                sort_array(hide.v, hide.n, sizeof(char *), cmpstr);
                sort_array(opq.v, opq.n, sizeof(char *), cmpstr);
                dir = strcmp(path, "/") == 0 ? xstrdup(s->layers[i - 1].snapshot)
                                             : xasprintf("%s%s", s->layers[i - 1].snapshot, path);
                if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
                        r = walk_layer(dir, "", &seen, n_seen, &hide, n_hide, &opq_new, &opq, n_opq, &out, err);
                        if (r >= 0 && is_opaque(dir))
                                seen_add(&opq_new, "");
                } else if (lstat(dir, &st) == 0 && is_whiteout(&st)) {
                        seen_free(&opq_new);
                        break;
                }
                for (size_t k = 0; k < opq_new.n; k++)
                        seen_add(&opq, opq_new.v[k]);
                seen_free(&opq_new);
        }
        seen_free(&seen);
        seen_free(&hide);
        seen_free(&opq);
        if (r < 0) {
                xmerged_free(out.v, out.n);
                return r;
        }
        if (out.n)
                sort_array(out.v, out.n, sizeof(*out.v), cmp_merged);
        *ret = out.v;
        *ret_n = out.n;
        return 0;
}

/* ---- writing layers and blobs ------------------------------------------ */

void
xwrite_opts(const struct xctx *x, struct oci_layer_write_opts *wo)
{
        oci_layer_write_opts_init(wo);
        wo->compression = x->o->compression;
        wo->threads = x->o->jobs > 1 ? x->o->jobs : 1;
        wo->source_date_epoch = x->o->source_date_epoch;
}

int
xwrite_entries_layer(struct xctx *x, struct xstage *s, const struct oci_layer_entry *e, size_t n, struct err **err)
{
        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_result res;
        struct oci_descriptor desc;
        struct digest got;
        uint64_t size;
        int r;

        xwrite_opts(x, &wo);
        r = oci_layout_blob_writer_new(x->layout, DIGEST_SHA256, &w, err);
        if (r < 0)
                return r;
        r = oci_layer_write_entries(e, n, &wo, oci_blob_writer_fd(w), &res, err);
        if (r < 0)
                return r;
        r = oci_blob_writer_commit(w, &res.blob_digest, (int64_t) res.blob_size, &got, &size, err);
        if (r < 0)
                return r;
        oci_descriptor_init(&desc, xlayer_media_type(x->o->compression), got.str, (int64_t) size);
        xstage_add_layer(s, &desc, res.diff_id.str, NULL);
        oci_image_config_add_diff_id(s->cfg, res.diff_id.str);
        oci_descriptor_clear(&desc);
        return 0;
}

/* ---- bases (loaded in exec-base.c) --------------------------------------- */

int
xstage_from_image(struct xctx *x, const char *ref, struct xstage *s, struct err **err)
{
        struct xbase *b;
        int r = xbase_get(x, ref, x->plan->target_platform, &b, err);

        if (r < 0)
                return r;
        memset(s, 0, sizeof(*s));
        xstage_set(s, oci_image_config_dup(b->cfg), b->layers, b->n_layers);
        return 0;
}

void
xstage_release(struct xstage *s)
{
        xstage_clear(s);
}
