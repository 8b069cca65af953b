/* The build executor: stages, bases, config instructions, RUN, the cache
 * and the final manifest.  COPY/ADD live in exec-copy.c, outputs in exec-output.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec-internal.h"
#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"
#include "oci/platform.h"
#include "registry/client/client.h"

/* Bytes of a failing RUN's output repeated in the error. */
#define RUN_TAIL 2048

void
build_exec_opts_init(struct build_exec_opts *o)
{
        memset(o, 0, sizeof(*o));
        o->pull = BUILD_PULL_MISSING;
        o->network = BUILD_SANDBOX_NET_HOST;
        o->compression = OCI_LAYER_GZIP;
        o->source_date_epoch = -1;
        o->output_fd = -1;
}

void
build_exec_result_clear(struct build_exec_result *r)
{
        if (!r)
                return;
        oci_descriptor_clear(&r->manifest);
        free(r->config_digest);
        memset(r, 0, sizeof(*r));
}

static void
event(struct xctx *x, enum build_event ev, double secs, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
event(struct xctx *x, enum build_event ev, double secs, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        if (!x->o->event)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        x->o->event(x->o->event_data, ev, s ? s : "", secs);
}

static double
now_sec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *
created_now(const struct xctx *x)
{
        char buf[64];
        time_t t = x->o->source_date_epoch >= 0 ? (time_t) x->o->source_date_epoch : time(NULL);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return xstrdup(buf);
}

const char *
xlayer_media_type(enum oci_layer_compression c)
{
        switch (c) {
        case OCI_LAYER_GZIP:
                return OCI_MT_LAYER_GZIP;
        case OCI_LAYER_ZSTD:
                return OCI_MT_LAYER_ZSTD;
        default:
                return OCI_MT_LAYER_TAR;
        }
}

char *
xabs_path(const char *workdir, const char *p)
{
        _cleanup_free_ char *joined = NULL;
        char *clean;

        if (p[0] == '/')
                joined = xstrdup(p);
        else
                joined = xasprintf("%s/%s", workdir && *workdir ? workdir : "/", p);
        clean = build_path_clean(joined);
        if (clean[0] != '/') {
                char *a = xasprintf("/%s", clean);

                free(clean);
                clean = a;
        }
        return clean;
}

/* ---- stages and layers ------------------------------------------------- */

static void
xlayer_clear(struct xlayer *l)
{
        oci_descriptor_clear(&l->desc);
        free(l->diff_id);
        free(l->snapshot);
}

static void
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
static void
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
                        event(x, BUILD_EVENT_INFO, 0, "warning: layer %s: %s", l->desc.digest, warnings);
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
xstage_list(struct xctx *x, struct xstage *s, const char *path, struct xmerged **ret, size_t *ret_n,
            struct err **err)
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

static void
write_opts(const struct xctx *x, struct oci_layer_write_opts *wo)
{
        oci_layer_write_opts_init(wo);
        wo->compression = x->o->compression;
        wo->threads = x->o->jobs > 1 ? x->o->jobs : 1;
        wo->source_date_epoch = x->o->source_date_epoch;
}

int
xwrite_entries_layer(struct xctx *x, struct xstage *s, const struct oci_layer_entry *e, size_t n,
                     struct err **err)
{
        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_result res;
        struct oci_descriptor desc;
        struct digest got;
        uint64_t size;
        int r;

        write_opts(x, &wo);
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

/* ---- the cache --------------------------------------------------------- */

static void
key_add(struct digest_ctx *c, const char *tag, const char *s)
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
static int
cache_get(struct xctx *x, struct xstage *s, const char *key)
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
        if (xread_json_blob(x->layout, json_string_value(json_object_get(j, "config")), LIMIT_CONFIG_SIZE, &cbuf,
                            &clen, &e) < 0 ||
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
static int
put_config(struct xctx *x, struct xstage *s, char **ret_digest, size_t *ret_size, struct err **err)
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

static int
cache_put(struct xctx *x, struct xstage *s, const char *key, struct err **err)
{
        _cleanup_free_ char *cfg = NULL, *path = NULL, *buf = NULL;
        json_t *j, *arr;
        int r;

        r = put_config(x, s, &cfg, NULL, err);
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

/* ---- config instructions ------------------------------------------------ */

static void
add_history(struct xctx *x, struct xstage *s, const char *created_by, bool empty)
{
        struct oci_history h = {0};

        h.created = created_now(x);
        h.created_by = xstrdup(created_by);
        h.comment = xstrdup("buildkit.dockerfile.v0");
        h.empty_layer = empty;
        oci_image_config_add_history(s->cfg, &h);
        oci_history_clear(&h);
}

/* CMD/ENTRYPOINT/HEALTHCHECK argument vector: exec form as is, shell form
 * through the SHELL. */
static char **
command_vec(const struct xstage *s, char *const *args, size_t n, bool json)
{
        char **v = oci_strv_new_empty();

        if (json) {
                for (size_t i = 0; i < n; i++)
                        v = oci_strv_append(v, args[i]);
                return v;
        }
        if (s->cfg->config.shell && s->cfg->config.shell[0]) {
                for (char **p = s->cfg->config.shell; *p; p++)
                        v = oci_strv_append(v, *p);
        } else {
                v = oci_strv_append(v, "/bin/sh");
                v = oci_strv_append(v, "-c");
        }
        if (n > 0)
                v = oci_strv_append(v, args[0]);
        return v;
}

static int
do_healthcheck(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        const struct build_df_instr *node = in->node;
        struct oci_healthcheck *h;
        static const char *const names[] = {"interval", "timeout", "start-period", "start-interval", "retries"};

        (void) x;
        h = xcalloc(1, sizeof(*h));
        if (in->n_args == 0 || strcasecmp(in->args[0], "NONE") == 0) {
                h->test = oci_strv_append(NULL, "NONE");
        } else if (node->json) {
                h->test = oci_strv_append(NULL, "CMD");
                for (size_t i = 1; i < in->n_args; i++)
                        h->test = oci_strv_append(h->test, in->args[i]);
        } else {
                h->test = oci_strv_append(NULL, "CMD-SHELL");
                h->test = oci_strv_append(h->test, in->n_args > 1 ? in->args[1] : "");
        }
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                int64_t v = 0;
                size_t k;

                for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                        if (strcmp(f->name, names[k]) == 0)
                                break;
                if (k == sizeof(names) / sizeof(names[0]) || !f->value)
                        continue;
                if (k == 4) {
                        char *end;

                        errno = 0;
                        v = strtoll(f->value, &end, 10);
                        if (errno || *end || v < 0) {
                                oci_healthcheck_free(h);
                                return err_set(err, ERR_PARSE, "%s:%d: HEALTHCHECK --retries=%s: not a number",
                                               x->df_name, in->line, f->value);
                        }
                        h->retries = v;
                        continue;
                }
                if (build_exec_parse_duration(f->value, &v, err) < 0) {
                        oci_healthcheck_free(h);
                        return err_prefix(err, "%s:%d: HEALTHCHECK --%s", x->df_name, in->line, f->name);
                }
                if (k == 0)
                        h->interval = v;
                else if (k == 1)
                        h->timeout = v;
                else if (k == 2)
                        h->start_period = v;
                else
                        h->start_interval = v;
        }
        oci_healthcheck_free(s->cfg->config.healthcheck);
        s->cfg->config.healthcheck = h;
        return 0;
}

int
build_exec_parse_duration(const char *s, int64_t *ret_ns, struct err **err)
{
        const char *p = s;
        double total = 0;

        if (!*p)
                return err_set(err, EINVAL, "empty duration");
        if (strcmp(p, "0") == 0) {
                *ret_ns = 0;
                return 0;
        }
        while (*p) {
                /* Go's number syntax: digits, optionally '.' digits; strtod
                 * alone would also take "nan", "inf", "0x1p3", "1e3", signs
                 * and spaces (NaN then reached an undefined cast; found by
                 * fuzz_duration). */
                size_t n = strspn(p, "0123456789"), frac = 0;
                _cleanup_free_ char *num = NULL;
                double v;
                double unit;

                if (p[n] == '.')
                        frac = 1 + strspn(p + n + 1, "0123456789");
                if (n + frac == 0 || (n == 0 && frac == 1))
                        return err_set(err, EINVAL, "invalid duration '%s'", s);
                num = xstrndup(p, n + frac);
                errno = 0;
                v = strtod(num, NULL);
                if (errno)
                        return err_set(err, EINVAL, "invalid duration '%s'", s);
                p += n + frac;
                if (strncmp(p, "ns", 2) == 0)
                        unit = 1, p += 2;
                else if (strncmp(p, "us", 2) == 0 || strncmp(p, "µs", 3) == 0)
                        unit = 1e3, p += (*p == 'u' ? 2 : 3);
                else if (strncmp(p, "ms", 2) == 0)
                        unit = 1e6, p += 2;
                else if (*p == 's')
                        unit = 1e9, p++;
                else if (*p == 'm')
                        unit = 60e9, p++;
                else if (*p == 'h')
                        unit = 3600e9, p++;
                else
                        return err_set(err, EINVAL, "invalid duration '%s': missing or unknown unit", s);
                total += v * unit;
        }
        if (total > 9.2e18)
                return err_set(err, EINVAL, "duration '%s' too large", s);
        *ret_ns = (int64_t) total;
        return 0;
}

/* The text after the keyword of an ONBUILD trigger, as Docker stores it. */
static char *
onbuild_text(const struct build_df_instr *node)
{
        const char *p = node->original;

        while (*p == ' ' || *p == '\t')
                p++;
        p += strlen("ONBUILD");
        while (*p == ' ' || *p == '\t')
                p++;
        return xstrdup(p);
}

/* WORKDIR: the dir is created as a layer when missing from the image. */
static int
do_workdir(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, bool *ret_layer, struct err **err)
{
        _cleanup_free_ char *dir = xabs_path(s->cfg->config.working_dir, in->args[0]), *host = NULL;
        struct oci_layer_entry e;
        struct stat st;
        int r;

        free(s->cfg->config.working_dir);
        s->cfg->config.working_dir = xstrdup(dir);
        *ret_layer = false;
        if (strcmp(dir, "/") == 0)
                return 0;
        r = xstage_lookup(x, s, dir, &host, &st, err);
        if (r == 0)
                return 0;
        if (r != -ENOENT)
                return r;
        oci_layer_entry_init(&e);
        e.path = dir;
        e.uid = 0;
        e.gid = 0;
        e.mode = 0755;
        r = xwrite_entries_layer(x, s, &e, 1, err);
        if (r < 0)
                return r;
        *ret_layer = true;
        return 0;
}

static int
apply_config(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, bool *ret_layer, struct err **err)
{
        struct oci_exec_config *c = &s->cfg->config;
        const struct build_df_instr *node = in->node;

        *ret_layer = false;
        s->cfg->has_config = true;
        switch (in->kind) {
        case BUILD_DF_ENV:
                for (size_t i = 0; i + 1 < in->n_args; i += 2)
                        oci_image_config_setenv(s->cfg, in->args[i], in->args[i + 1]);
                return 0;
        case BUILD_DF_LABEL:
                for (size_t i = 0; i + 1 < in->n_args; i += 2)
                        oci_map_set(&c->labels, in->args[i], in->args[i + 1]);
                return 0;
        case BUILD_DF_EXPOSE:
                for (size_t i = 0; i < in->n_args; i++) {
                        _cleanup_free_ char *p = strchr(in->args[i], '/') ? xstrdup(in->args[i])
                                                                         : xasprintf("%s/tcp", in->args[i]);

                        for (char *q = p; *q; q++)
                                *q = (char) (*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
                        if (!oci_strv_contains(c->exposed_ports, p))
                                c->exposed_ports = oci_strv_append(c->exposed_ports, p);
                }
                return 0;
        case BUILD_DF_VOLUME:
                for (size_t i = 0; i < in->n_args; i++) {
                        if (!*in->args[i])
                                return err_set(err, ERR_PARSE, "%s:%d: VOLUME with an empty path", x->df_name,
                                               in->line);
                        if (!oci_strv_contains(c->volumes, in->args[i]))
                                c->volumes = oci_strv_append(c->volumes, in->args[i]);
                }
                return 0;
        case BUILD_DF_USER:
                free(c->user);
                c->user = xstrdup(in->n_args ? in->args[0] : "");
                return 0;
        case BUILD_DF_WORKDIR:
                return do_workdir(x, s, in, ret_layer, err);
        case BUILD_DF_CMD:
                oci_strv_free(c->cmd);
                c->cmd = command_vec(s, in->args, in->n_args, node->json);
                s->cmd_set = true;
                return 0;
        case BUILD_DF_ENTRYPOINT:
                oci_strv_free(c->entrypoint);
                c->entrypoint = command_vec(s, in->args, in->n_args, node->json);
                /* Docker: an ENTRYPOINT resets a CMD inherited from the base. */
                if (!s->cmd_set) {
                        oci_strv_free(c->cmd);
                        c->cmd = NULL;
                }
                return 0;
        case BUILD_DF_STOPSIGNAL:
                free(c->stop_signal);
                c->stop_signal = xstrdup(in->args[0]);
                return 0;
        case BUILD_DF_HEALTHCHECK:
                return do_healthcheck(x, s, in, err);
        case BUILD_DF_SHELL:
                oci_strv_free(c->shell);
                c->shell = oci_strv_from((const char *const *) in->args, in->n_args);
                return 0;
        case BUILD_DF_ONBUILD:
                if (node->sub) {
                        _cleanup_free_ char *t = onbuild_text(node);

                        c->on_build = oci_strv_append(c->on_build, t);
                }
                return 0;
        case BUILD_DF_MAINTAINER:
                free(s->cfg->author);
                s->cfg->author = xstrdup(in->n_args ? in->args[0] : "");
                return 0;
        default:
                return 0;
        }
}

/* ---- RUN ---------------------------------------------------------------- */

struct tee {
        int in, out;
        const char *prefix;
        bool bol; /* at the beginning of a line */
        char tail[RUN_TAIL];
        size_t len;
};

static void *
tee_main(void *p)
{
        struct tee *t = p;
        char buf[8192];
        ssize_t n;

        while ((n = read(t->in, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
                if (n <= 0)
                        continue;
                if (t->out >= 0 && !t->prefix) {
                        fs_write_all(t->out, buf, (size_t) n, NULL);
                } else if (t->out >= 0) {
                        /* Prefix every line (a TTY shows which step speaks). */
                        const char *q = buf, *end = buf + n;

                        while (q < end) {
                                const char *nl = memchr(q, '\n', (size_t) (end - q));
                                size_t len = nl ? (size_t) (nl - q) + 1 : (size_t) (end - q);

                                if (t->bol)
                                        fs_write_all(t->out, t->prefix, strlen(t->prefix), NULL);
                                fs_write_all(t->out, q, len, NULL);
                                t->bol = nl != NULL;
                                q += len;
                        }
                }
                if ((size_t) n >= RUN_TAIL) {
                        memcpy(t->tail, buf + n - RUN_TAIL, RUN_TAIL);
                        t->len = RUN_TAIL;
                } else {
                        size_t keep = t->len + (size_t) n > RUN_TAIL ? RUN_TAIL - (size_t) n : t->len;

                        memmove(t->tail, t->tail + t->len - keep, keep);
                        memcpy(t->tail + keep, buf, (size_t) n);
                        t->len = keep + (size_t) n;
                }
        }
        return NULL;
}

/* "<<EOF" alone (after optional "-" and quotes): the heredoc is the script. */
static bool
bare_heredoc(const char *cmd, const struct build_df_instr *node)
{
        const char *p = cmd;

        if (node->n_heredocs != 1)
                return false;
        while (*p == ' ' || *p == '\t')
                p++;
        if (strncmp(p, "<<", 2) != 0)
                return false;
        p += 2;
        if (*p == '-')
                p++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
                p++;
        while (*p == ' ' || *p == '\t' || *p == '\n')
                p++;
        return *p == '\0';
}

static char **
run_argv(const struct xstage *s, const struct build_plan_instr *in)
{
        const struct build_df_instr *node = in->node;
        char **v;

        if (node->json)
                return oci_strv_from((const char *const *) in->args, in->n_args);
        if (node->n_heredocs && in->n_args) {
                _cleanup_free_ char *script = NULL;
                char *a[1];

                if (bare_heredoc(in->args[0], node)) {
                        script = xstrdup(node->heredocs[0].content);
                } else {
                        size_t cap = strlen(in->args[0]) + 2;
                        size_t len;

                        for (size_t h = 0; h < node->n_heredocs; h++)
                                cap += strlen(node->heredocs[h].content) + strlen(node->heredocs[h].name) + 2;
                        script = xmalloc(cap + 1);
                        len = (size_t) sprintf(script, "%s\n", in->args[0]);
                        for (size_t h = 0; h < node->n_heredocs; h++)
                                len += (size_t) sprintf(script + len, "%s%s\n", node->heredocs[h].content,
                                                        node->heredocs[h].name);
                }
                a[0] = script;
                v = command_vec(s, a, 1, false);
                return v;
        }
        return command_vec(s, in->args, in->n_args, false);
}

/* The stage a RUN --mount from=FROM names: a stage name, else a stage
 * index (as BuildKit accepts); -1 when neither. */
static int
mount_from_stage(struct xctx *x, const char *from)
{
        int si = build_plan_find_stage(x->plan, from);
        char *endp;
        long idx = strtol(from, &endp, 10);

        if (si < 0 && *endp == '\0' && idx >= 0 && (size_t) idx < x->plan->n_stages)
                si = (int) idx;
        return si;
}

static int parse_mounts(struct xctx *x, const struct build_plan_instr *in, struct build_mount **ret, size_t *ret_n,
                        char ***ret_owned, size_t **ret_ssh_idx, size_t *ret_n_ssh, struct err **err);

/* `RUN <<EOF` whose body starts with "#!": BuildKit runs the body as a
 * script with that interpreter.  The body is given on stdin and read through
 * /proc/self/fd/0, so nothing is written into the image.  *ret_argv is the
 * interpreter (with its one optional argument, as the kernel splits a
 * shebang line) and the script path; *ret_fd the script's fd. */
static int
shebang_argv(struct xctx *x, const struct build_plan_instr *in, char ***ret_argv, int *ret_fd, struct err **err)
{
        const char *body = in->node->heredocs[0].content;
        const char *nl = strchr(body, '\n');
        _cleanup_free_ char *line = xstrndup(body + 2, nl ? (size_t) (nl - body - 2) : strlen(body + 2));
        _cleanup_free_ char *path = xasprintf("%s/run-heredoc-%d", x->work, in->line);
        char *p = line, *interp, *arg = NULL, **v;
        int fd, r;

        while (*p == ' ' || *p == '\t')
                p++;
        interp = p;
        while (*p && *p != ' ' && *p != '\t')
                p++;
        if (*p) {
                *p++ = '\0';
                while (*p == ' ' || *p == '\t')
                        p++;
                arg = *p ? p : NULL;
                if (arg) {
                        size_t l = strlen(arg);

                        while (l && (arg[l - 1] == ' ' || arg[l - 1] == '\t' || arg[l - 1] == '\r'))
                                arg[--l] = '\0';
                }
        }
        if (!*interp)
                return err_set(err, ERR_PARSE, "%s:%d: RUN heredoc: empty #! line", x->df_name, in->line);
        r = fs_write_atomic(path, body, strlen(body), 0600, err);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        unlink(path);
        if (fd < 0)
                return err_set(err, errno, "%s: %s", path, strerror(errno));
        v = oci_strv_append(NULL, interp);
        if (arg)
                v = oci_strv_append(v, arg);
        v = oci_strv_append(v, "/proc/self/fd/0");
        *ret_argv = v;
        *ret_fd = fd;
        return 0;
}

static int
do_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *step = NULL, *upper = NULL, *work = NULL, *ssh_env = NULL;
        _cleanup_free_ const char **lowers = NULL;
        _cleanup_free_ struct build_mount *mounts = NULL;
        _cleanup_free_ size_t *ssh_idx = NULL;
        struct xssh_fwd *fwd = NULL;
        char **argv = NULL, **env = NULL, **owned = NULL;
        struct build_sandbox_config cfg = {0};
        struct build_sandbox_result res = {0};
        struct tee tee = {.out = x->o->output_fd, .prefix = x->o->output_prefix, .bol = true};
        pthread_t th;
        int pfd[2] = {-1, -1}, script_fd = -1;
        size_t n_lowers = 0, n_mounts = 0, n_ssh = 0;
        int r;

        r = xstage_unpack(x, s, err);
        if (r < 0)
                return r;
        r = parse_mounts(x, in, &mounts, &n_mounts, &owned, &ssh_idx, &n_ssh, err);
        if (r < 0)
                return r;
        if (n_ssh) /* SSH_AUTH_SOCK: the first ssh mount's target */
                ssh_env = xasprintf("SSH_AUTH_SOCK=%s", mounts[ssh_idx[0]].target);
        /* Each ssh mount: a socket of the step's own, relayed to the agent
         * until the step ends. */
        r = xssh_fwd_start(x, mounts, ssh_idx, n_ssh, &fwd, err);
        if (r < 0) {
                err_prefix(err, "%s:%d", x->df_name, in->line);
                oci_strv_free(owned);
                return r;
        }
        lowers = xstage_lowers(x, s, &n_lowers);
        r = build_snapshot_new_step(oci_store_snapshots_dir(x->store), &step, &upper, &work, err);
        if (r < 0)
                goto out;
        if (!in->node->json && in->node->n_heredocs && in->n_args && bare_heredoc(in->args[0], in->node) &&
            strncmp(in->node->heredocs[0].content, "#!", 2) == 0) {
                r = shebang_argv(x, in, &argv, &script_fd, err);
                if (r < 0)
                        goto out;
        } else {
                argv = run_argv(s, in);
        }
        if (!argv[0]) {
                r = err_set(err, ERR_PARSE, "%s:%d: RUN with no command", x->df_name, in->line);
                goto out;
        }
        env = oci_strv_from((const char *const *) in->env, in->n_env);
        /* An ssh agent mount: this step only (as BuildKit, unless the
         * environment already has SSH_AUTH_SOCK). */
        if (ssh_env) {
                bool have = false;

                for (size_t i = 0; env[i]; i++)
                        if (strncmp(env[i], "SSH_AUTH_SOCK=", 14) == 0)
                                have = true;
                if (!have)
                        env = oci_strv_append(env, ssh_env);
        }
        cfg.argv = argv;
        cfg.env = env;
        cfg.cwd = s->cfg->config.working_dir && *s->cfg->config.working_dir ? s->cfg->config.working_dir : "/";
        cfg.user = s->cfg->config.user && *s->cfg->config.user ? s->cfg->config.user : NULL;
        cfg.net = x->o->network;
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, "network") == 0 && in->flags[i].value) {
                        if (strcmp(in->flags[i].value, "none") == 0)
                                cfg.net = BUILD_SANDBOX_NET_NONE;
                        else if (strcmp(in->flags[i].value, "host") == 0 || strcmp(in->flags[i].value, "default") == 0)
                                cfg.net = x->o->network;
                        else {
                                r = err_set(err, ERR_PARSE, "%s:%d: RUN --network=%s: use default, none or host",
                                            x->df_name, in->line, in->flags[i].value);
                                goto out;
                        }
                }
        cfg.lowers = lowers;
        cfg.n_lowers = n_lowers;
        cfg.upper = upper;
        cfg.work = work;
        cfg.mounts = mounts;
        cfg.n_mounts = n_mounts;
        {
                _cleanup_free_ char *cr = xasprintf("%s/mounts", oci_store_cache_dir(x->store));

                if (fs_mkdir_p(cr, 0755, err) < 0) {
                        r = -1;
                        goto out;
                }
                owned = oci_strv_append(owned, cr);
                cfg.cache_root = owned[oci_strv_len(owned) - 1];
        }
        cfg.run_dir = x->work;
        cfg.idmap = x->idmap;
        cfg.memory_max = x->o->memory_max;
        cfg.pids_max = x->o->pids_max;
        cfg.cpu_millis = x->o->cpu_millis;
        cfg.stdin_fd = script_fd;
        cfg.cancel = x->o->cancel;
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "pipe: %s", strerror(errno));
                goto out;
        }
        cfg.stdout_fd = pfd[1];
        cfg.stderr_fd = pfd[1];
        tee.in = pfd[0];
        if (pthread_create(&th, NULL, tee_main, &tee) != 0) {
                r = err_set(err, EAGAIN, "starting an output thread");
                goto out;
        }
        r = build_sandbox_run(&cfg, &res, err);
        close(pfd[1]);
        pfd[1] = -1;
        pthread_join(th, NULL);
        /* The step's processes are gone: no need to relay through the
         * layer commit. */
        xssh_fwd_stop(fwd);
        fwd = NULL;
        if (r < 0) {
                err_prefix(err, "%s:%d: %s", x->df_name, in->line, in->text);
                goto out;
        }
        if (res.warnings)
                event(x, BUILD_EVENT_INFO, 0, "warning: %s", res.warnings);
        if (res.cancelled) {
                r = err_set(err, ECANCELED, "%s:%d: %s: cancelled", x->df_name, in->line, in->text);
                goto out;
        }
        if (res.exit_code != 0) {
                r = err_set(err, ECHILD, "%s:%d: %s: %s %d%s%.*s", x->df_name, in->line, in->text,
                            res.timed_out ? "timed out, status" : "exit status", res.exit_code,
                            tee.len ? "\n--- output (tail) ---\n" : "", (int) tee.len, tee.tail);
                goto out;
        }
        {
                _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
                struct oci_layer_write_opts wo;
                struct build_snapshot_layer layer = {0};
                struct oci_descriptor desc;
                struct digest got;
                uint64_t size;

                write_opts(x, &wo);
                wo.source_mode = OCI_LAYER_SOURCE_OVERLAY;
                r = oci_layout_blob_writer_new(x->layout, DIGEST_SHA256, &w, err);
                if (r < 0)
                        goto out;
                r = build_snapshot_commit(&x->idmap, upper, oci_store_snapshots_dir(x->store), &wo,
                                          oci_blob_writer_fd(w), &layer, err);
                if (r < 0) {
                        err_prefix(err, "%s:%d: committing the RUN layer", x->df_name, in->line);
                        goto out;
                }
                r = oci_blob_writer_commit(w, &layer.blob_digest, (int64_t) layer.blob_size, &got, &size, err);
                if (r < 0) {
                        free(layer.snapshot_dir);
                        goto out;
                }
                oci_descriptor_init(&desc, xlayer_media_type(x->o->compression), got.str, (int64_t) size);
                xstage_add_layer(s, &desc, layer.diff_id.str, layer.snapshot_dir);
                oci_image_config_add_diff_id(s->cfg, layer.diff_id.str);
                oci_descriptor_clear(&desc);
                free(layer.snapshot_dir);
        }
        r = 0;
out:
        xssh_fwd_stop(fwd);
        if (script_fd >= 0)
                close(script_fd);
        if (pfd[0] >= 0)
                close(pfd[0]);
        if (pfd[1] >= 0)
                close(pfd[1]);
        if (step) {
                struct err *e2 = NULL;

                build_sandbox_remove_workdir(work, &e2);
                err_clear(&e2);
                build_snapshot_remove(&x->idmap, step, &e2);
                err_clear(&e2);
        }
        build_sandbox_result_clear(&res);
        oci_strv_free(argv);
        oci_strv_free(env);
        oci_strv_free(owned);
        return r;
}

/* RUN --mount=type=...,k=v,... ; *ret_ssh_idx (caller frees): the
 * indexes of the ssh mounts in *ret (binds of the agent socket, with the
 * mount's uid/gid/mode, for xssh_fwd_start), *ret_n_ssh of them. */
static int
parse_mounts(struct xctx *x, const struct build_plan_instr *in, struct build_mount **ret, size_t *ret_n,
             char ***ret_owned, size_t **ret_ssh_idx, size_t *ret_n_ssh, struct err **err)
{
        struct build_mount *v = NULL;
        _cleanup_free_ size_t *ssh_idx = NULL;
        size_t n = 0, n_ssh = 0, n_ssh_idx = 0;
        char **owned = NULL;
        int r = 0;

        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                _cleanup_free_ char *spec = NULL;
                struct build_mount_spec ms;
                struct build_mount *m;
                const char *type, *from, *src;
                bool required = false;

                if (strcmp(f->name, "mount") != 0 || !f->value)
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                m = &v[n++];
                memset(m, 0, sizeof(*m));
                m->mode = (mode_t) -1;
                m->sharing = BUILD_MOUNT_SHARED;
                r = build_mount_spec_parse(f->value, &ms, err);
                if (r < 0) {
                        err_prefix(err, "%s:%d", x->df_name, in->line);
                        n--;
                        break;
                }
                spec = steal_ptr(&ms.buf);
                type = ms.type;
                m->target = ms.target;
                src = ms.source;
                from = ms.from;
                m->id = ms.id;
                m->rw = ms.rw;
                m->readonly = ms.readonly;
                required = ms.required;
                m->sharing = ms.sharing;
                m->mode = ms.mode;
                m->uid = ms.uid;
                m->gid = ms.gid;
                m->size = ms.size;
                if (ms.env) {
                        r = err_set(err, ERR_UNSUPPORTED, "%s:%d: --mount env=%s (a secret as an environment variable) is not supported; read /run/secrets/ID",
                                    x->df_name, in->line, ms.env);
                        break;
                }
                if (strcmp(type, "ssh") == 0) {
                        /* A bind of the agent socket here; xssh_fwd_start
                         * puts a forwarding socket with the mount's
                         * uid/gid/mode (BuildKit's defaults 0, 0, 0600) in
                         * its place. */
                        const char *id = m->id && *m->id ? m->id : "default";
                        const char *sock = xssh_socket(x, id);
                        size_t idx = n_ssh++;

                        if (!sock) {
                                if (required) {
                                        r = err_set(err, ENOENT,
                                                    "%s:%d: ssh agent '%s' was not given (--ssh %s=SOCKET|KEY)",
                                                    x->df_name, in->line, id, id);
                                        break;
                                }
                                n--; /* a missing optional agent is skipped */
                                continue;
                        }
                        m->type = BUILD_MOUNT_BIND;
                        m->rw = true; /* connect() needs write access to the socket */
                        m->source = sock;
                        m->id = id;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0600;
                        ssh_idx = xrealloc(ssh_idx, (n_ssh_idx + 1) * sizeof(*ssh_idx));
                        ssh_idx[n_ssh_idx++] = n - 1;
                        if (!m->target) {
                                _cleanup_free_ char *t = xasprintf("/run/buildkit/ssh_agent.%zu", idx);

                                owned = oci_strv_append(owned, t);
                                m->target = owned[oci_strv_len(owned) - 1];
                        }
                } else if (strcmp(type, "cache") == 0) {
                        m->type = BUILD_MOUNT_CACHE;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0755;
                } else if (strcmp(type, "tmpfs") == 0) {
                        m->type = BUILD_MOUNT_TMPFS;
                } else if (strcmp(type, "secret") == 0) {
                        const struct build_secret *sec = NULL;
                        const char *id = m->id;

                        m->type = BUILD_MOUNT_SECRET;
                        if (!id && m->target) {
                                id = strrchr(m->target, '/') ? strrchr(m->target, '/') + 1 : m->target;
                        }
                        for (size_t k = 0; id && k < x->o->n_secrets; k++)
                                if (strcmp(x->o->secrets[k].id, id) == 0)
                                        sec = &x->o->secrets[k];
                        if (!sec) {
                                if (required) {
                                        r = err_set(err, ENOENT, "%s:%d: secret '%s' was not given (--secret id=%s,...)",
                                                    x->df_name, in->line, id ? id : "", id ? id : "ID");
                                        break;
                                }
                                n--; /* a missing optional secret is skipped */
                                continue;
                        }
                        if (sec->src) {
                                m->source = sec->src;
                        } else {
                                /* An env secret: into a private file the sandbox copies. */
                                const char *val = getenv(sec->env ? sec->env : sec->id);
                                _cleanup_free_ char *p = xasprintf("%s/secret-%s", x->work, sec->id);

                                if (!val) {
                                        r = err_set(err, ENOENT, "secret %s: environment variable %s is not set",
                                                    sec->id, sec->env ? sec->env : sec->id);
                                        break;
                                }
                                r = fs_write_atomic(p, val, strlen(val), 0600, err);
                                if (r < 0)
                                        break;
                                owned = oci_strv_append(owned, p);
                                m->source = owned[oci_strv_len(owned) - 1];
                        }
                        if (!m->id)
                                m->id = id;
                        if (m->mode == (mode_t) -1)
                                m->mode = 0400;
                } else if (strcmp(type, "bind") == 0) {
                        _cleanup_free_ char *rel = NULL, *host = NULL;
                        struct stat st;

                        m->type = BUILD_MOUNT_BIND;
                        if (from) {
                                int si = mount_from_stage(x, from);

                                if (si < 0) {
                                        r = err_set(err, ERR_UNSUPPORTED, "%s:%d: --mount from=%s: only stages are supported",
                                                    x->df_name, in->line, from);
                                        break;
                                }
                                {
                                        _cleanup_free_ char *abs = xabs_path("/", src ? src : "/");

                                        r = xstage_lookup(x, &x->stages[si], abs, &host, &st, err);
                                        if (r == -ENOENT)
                                                r = err_set(err, ENOENT, "%s:%d: --mount from=%s: %s not found",
                                                            x->df_name, in->line, from, abs);
                                        if (r < 0)
                                                break;
                                }
                        } else {
                                r = xresolve_in_root(x->ctx_fd, src ? src : ".", true, &rel, err);
                                if (r < 0) {
                                        err_prefix(err, "%s:%d: --mount source", x->df_name, in->line);
                                        break;
                                }
                                host = xasprintf("%s/%s", x->context, rel);
                        }
                        owned = oci_strv_append(owned, host);
                        m->source = owned[oci_strv_len(owned) - 1];
                } else {
                        r = err_set(err, ERR_PARSE, "%s:%d: --mount type=%s: unknown type", x->df_name, in->line, type);
                        break;
                }
                if (!m->target) {
                        if (m->type == BUILD_MOUNT_SECRET) {
                                _cleanup_free_ char *t = xasprintf("/run/secrets/%s", m->id);

                                owned = oci_strv_append(owned, t);
                                m->target = owned[oci_strv_len(owned) - 1];
                        } else {
                                r = err_set(err, ERR_PARSE, "%s:%d: --mount needs target=", x->df_name, in->line);
                                break;
                        }
                }
                /* The spec string is freed: keep the values alive (a
                 * secret's src= belongs to the caller's options). */
                {
                        const char **fields[] = {&m->target, &m->id};

                        for (size_t k = 0; k < 2; k++)
                                if (*fields[k]) {
                                        owned = oci_strv_append(owned, *fields[k]);
                                        *fields[k] = owned[oci_strv_len(owned) - 1];
                                }
                }
        }
        if (r < 0) {
                free(v);
                oci_strv_free(owned);
                return r;
        }
        *ret = v;
        *ret_n = n;
        *ret_owned = owned;
        *ret_ssh_idx = steal_ptr(&ssh_idx);
        *ret_n_ssh = n_ssh_idx;
        return 0;
}

/* ---- steps --------------------------------------------------------------- */

static int
step_key(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, const char *sources,
         char ret[DIGEST_STR_MAX])
{
        struct digest_ctx *c = digest_ctx_new(DIGEST_SHA256);
        struct digest d;

        key_add(c, "parent", s->key);
        key_add(c, "instr", in->text);
        key_add(c, "compression", oci_layer_compression_name(x->o->compression));
        for (size_t i = 0; i < in->n_build_args; i++)
                key_add(c, "arg", in->build_args[i]);
        if (in->kind == BUILD_DF_RUN)
                for (size_t i = 0; i < in->n_env; i++)
                        key_add(c, "env", in->env[i]);
        for (size_t i = 0; i < in->node->n_heredocs; i++)
                key_add(c, "heredoc", in->node->heredocs[i].content);
        for (size_t i = 0; i < in->n_heredocs; i++)
                key_add(c, "heredocx", in->heredocs[i]);
        key_add(c, "sources", sources);
        if (x->o->source_date_epoch >= 0) {
                char e[32];

                snprintf(e, sizeof(e), "%" PRId64, x->o->source_date_epoch);
                key_add(c, "epoch", e);
        }
        /* Secrets are not part of the key (their content never is). */
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        memcpy(ret, d.str, DIGEST_STR_MAX);
        return 0;
}

/* For RUN's cache key: what every --mount=type=bind shows, in order: a
 * context source's content digest (as COPY digests it), a stage source's
 * cache key, with the mount's source and target.  Other mount types add
 * nothing (caches and tmpfs are not inputs; secrets stay out of the key). */
static int
run_sources(struct xctx *x, const struct build_plan_instr *in, char **ret, struct err **err)
{
        _cleanup_free_ char *acc = xstrdup("");

        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_plan_flag *f = &in->flags[i];
                _cleanup_free_ char *spec = NULL, *part = NULL;
                const char *type = "bind", *from = NULL, *src = NULL, *target = "";
                char *save = NULL, *tok;
                char *n;

                if (strcmp(f->name, "mount") != 0 || !f->value)
                        continue;
                spec = xstrdup(f->value);
                for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                        char *eq = strchr(tok, '=');
                        const char *k = tok, *val = eq ? eq + 1 : "true";

                        if (eq)
                                *eq = '\0';
                        if (strcmp(k, "type") == 0)
                                type = val;
                        else if (strcmp(k, "target") == 0 || strcmp(k, "dst") == 0 || strcmp(k, "destination") == 0)
                                target = val;
                        else if (strcmp(k, "source") == 0 || strcmp(k, "src") == 0)
                                src = val;
                        else if (strcmp(k, "from") == 0)
                                from = val;
                }
                if (strcmp(type, "bind") != 0)
                        continue;
                if (from) {
                        int si = mount_from_stage(x, from);

                        if (si < 0)
                                continue; /* parse_mounts names the error */
                        part = xasprintf("bind stage %s %s %s", x->stages[si].key, src ? src : "/", target);
                } else {
                        _cleanup_free_ char *rel = NULL, *d = NULL;
                        int r = xresolve_in_root(x->ctx_fd, src ? src : ".", true, &rel, err);

                        if (r < 0)
                                return err_prefix(err, "%s:%d: --mount source", x->df_name, in->line);
                        r = xcontext_digest(x, rel, &d, err);
                        if (r < 0)
                                return err_prefix(err, "%s:%d: --mount source %s", x->df_name, in->line, rel);
                        part = xasprintf("bind context %s %s %s", d, rel, target);
                }
                n = xasprintf("%s%s\n", acc, part);
                free(acc);
                acc = n;
        }
        *ret = steal_ptr(&acc);
        return 0;
}

static int
run_step(struct xctx *x, int si, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *sources = NULL;
        char key[DIGEST_STR_MAX];
        double t0 = now_sec();
        bool layer = false;
        int r;

        x->pos++;
        event(x, BUILD_EVENT_STEP, 0, "[stage %d/%zu] %s%s", si + 1, x->plan->n_stages,
              in->onbuild ? "(onbuild) " : "", in->text);
        if ((x->o->cancel && *x->o->cancel) || x->failed)
                return err_set(err, ECANCELED, "cancelled");
        if (in->kind == BUILD_DF_ARG)
                return 0; /* ARG changes nothing in the image: its value is in later keys */
        if (in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD) {
                r = xcopy_prepare(x, s, in, &sources, err);
                if (r < 0)
                        return r;
        } else if (in->kind == BUILD_DF_RUN) {
                r = run_sources(x, in, &sources, err);
                if (r < 0)
                        return r;
        }
        step_key(x, s, in, sources, key);
        pthread_mutex_lock(&x->lock);
        x->steps++;
        pthread_mutex_unlock(&x->lock);
        if (!x->o->no_cache && cache_get(x, s, key) == 0) {
                memcpy(s->key, key, sizeof(key));
                pthread_mutex_lock(&x->lock);
                x->cached++;
                pthread_mutex_unlock(&x->lock);
                event(x, BUILD_EVENT_CACHED, now_sec() - t0, "CACHED");
                return 0;
        }
        if (in->kind == BUILD_DF_RUN)
                r = do_run(x, s, in, err);
        else if (in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD)
                r = xcopy_run(x, s, in, err);
        else
                r = apply_config(x, s, in, &layer, err);
        if (r < 0)
                return r;
        if (in->kind == BUILD_DF_RUN || in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD)
                layer = true;
        {
                _cleanup_free_ char *by = in->kind == BUILD_DF_RUN || in->kind == BUILD_DF_COPY ||
                                                          in->kind == BUILD_DF_ADD
                                                  ? xasprintf("%s # buildkit", in->text)
                                                  : xstrdup(in->text);

                add_history(x, s, by, !layer);
        }
        memcpy(s->key, key, sizeof(key));
        r = cache_put(x, s, key, err);
        if (r < 0)
                return r;
        event(x, BUILD_EVENT_DONE, now_sec() - t0, "done");
        return 0;
}

/* Start stage SI from its base. */
static int
stage_begin(struct xctx *x, int si, struct err **err)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        struct xstage *s = &x->stages[si];
        const char *platform = ps->platform ? ps->platform : x->plan->target_platform;
        struct digest_ctx *c;
        struct digest d;

        c = digest_ctx_new(DIGEST_SHA256);
        key_add(c, "platform", platform);
        if (ps->base == BUILD_PLAN_BASE_STAGE) {
                struct xstage *b = &x->stages[ps->base_stage];

                xstage_set(s, oci_image_config_dup(b->cfg), NULL, 0);
                for (size_t i = 0; i < b->n_layers; i++)
                        xstage_add_layer(s, &b->layers[i].desc, b->layers[i].diff_id, b->layers[i].snapshot);
                key_add(c, "stage", b->key);
                s->base_name = b->base_name ? xstrdup(b->base_name) : NULL;
                s->base_digest = b->base_digest ? xstrdup(b->base_digest) : NULL;
        } else if (ps->base == BUILD_PLAN_BASE_SCRATCH) {
                struct oci_platform *p = NULL;

                if (oci_platform_parse(platform, &p, err) < 0) {
                        digest_ctx_free(c);
                        return -1;
                }
                xstage_set(s, oci_image_config_new(p->os, p->architecture, p->variant), NULL, 0);
                oci_platform_free(p);
                key_add(c, "scratch", "");
        } else {
                struct xbase *b;
                int r = xbase_get(x, ps->base_image, platform, &b, err);

                if (r < 0) {
                        digest_ctx_free(c);
                        return err_prefix(err, "%s:%d", x->df_name, ps->from->start_line);
                }
                xstage_set(s, oci_image_config_dup(b->cfg), b->layers, b->n_layers);
                key_add(c, "image", b->digest);
                s->base_name = xstrdup(ps->base_image);
                s->base_digest = xstrdup(b->digest);
                /* Accept bases without history: write one entry per layer
                 * so the history matches the layers (as buildah wants). */
                {
                        size_t nonempty = 0;

                        for (size_t i = 0; i < s->cfg->n_history; i++)
                                nonempty += !s->cfg->history[i].empty_layer;
                        for (; nonempty < s->n_layers; nonempty++) {
                                struct oci_history h = {0};

                                h.created_by = xasprintf("(layer of %s)", ps->base_image);
                                oci_image_config_add_history(s->cfg, &h);
                                oci_history_clear(&h);
                        }
                }
        }
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        memcpy(s->key, d.str, sizeof(s->key));
        /* BuildKit gives an image without PATH the default one. */
        if (!oci_image_config_getenv(s->cfg, "PATH")) {
                oci_image_config_setenv(s->cfg, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
                s->cfg->has_config = true;
        }
        free(s->cfg->created);
        s->cfg->created = NULL;
        /* A stage's OnBuild is its own ONBUILD lines only: the triggers of
         * its base (a stage or an image) run in it and are not inherited
         * by grandchildren (reference.md, ONBUILD; BuildKit's
         * dispatchState.init clears them for stage bases too). */
        oci_strv_free(s->cfg->config.on_build);
        s->cfg->config.on_build = NULL;
        return 0;
}

/* Is a qemu-user handler for P's architecture registered with binfmt_misc
 * (the names qemu-user-static's binfmt-support files use)? */
static bool
binfmt_emulated(const struct oci_platform *p)
{
        static const char *const names[][2] = {
                {"arm64", "aarch64"}, {"amd64", "x86_64"}, {"arm", "arm"},         {"386", "i386"},
                {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}, {"mips64le", "mips64el"},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (p->architecture && strcmp(p->architecture, names[i][0]) == 0) {
                        _cleanup_free_ char *f = xasprintf("/proc/sys/fs/binfmt_misc/qemu-%s", names[i][1]);

                        return access(f, F_OK) == 0;
                }
        return false;
}

/* A stage for a platform this host cannot run (as buildah does, warn: the
 * build goes on, and only RUN needs to execute anything). */
static void
warn_foreign_platform(struct xctx *x, int si)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        const char *platform = ps->platform ? ps->platform : x->plan->target_platform;
        _cleanup_(oci_platform_freep) struct oci_platform *want = NULL, *host = NULL;
        _cleanup_free_ char *host_s = NULL;
        size_t runs = 0;

        if (oci_platform_parse(platform, &want, NULL) < 0 || oci_platform_host(&host, NULL) < 0 ||
            oci_platform_match(host, want))
                return;
        for (size_t i = 0; i < ps->n_instrs; i++)
                runs += ps->instrs[i].kind == BUILD_DF_RUN;
        host_s = oci_platform_format(host);
        if (runs && binfmt_emulated(want))
                event(x, BUILD_EVENT_INFO, 0,
                      "warning: stage %d is for platform %s, not this host's %s: its RUN steps run under the "
                      "emulator registered in binfmt_misc (slow)",
                      si + 1, platform, host_s);
        else if (runs)
                event(x, BUILD_EVENT_INFO, 0,
                      "warning: stage %d is for platform %s, not this host's %s: its %zu RUN step%s need%s "
                      "emulation for %s (binfmt_misc with qemu-user-static) and fail without it",
                      si + 1, platform, host_s, runs, runs == 1 ? "" : "s", runs == 1 ? "s" : "", platform);
        else
                event(x, BUILD_EVENT_INFO, 0,
                      "warning: stage %d is for platform %s, not this host's %s (it has no RUN step: nothing "
                      "needs to execute)",
                      si + 1, platform, host_s);
}

static int
run_stage(struct xctx *x, int si, struct err **err)
{
        const struct build_plan_stage *ps = &x->plan->stages[si];
        struct xstage *s = &x->stages[si];
        int r;

        event(x, BUILD_EVENT_STEP, 0, "[stage %d/%zu] FROM %s%s%s", si + 1, x->plan->n_stages, ps->base_image,
              ps->name ? " AS " : "", ps->name ? ps->name : "");
        warn_foreign_platform(x, si);
        r = stage_begin(x, si, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ps->n_instrs; i++) {
                r = run_step(x, si, s, &ps->instrs[i], err);
                if (r < 0)
                        return r;
        }
        /* The image is as old as its last step: a fully cached rebuild
         * gives the same config, hence the same digest. */
        free(s->cfg->created);
        s->cfg->created = s->cfg->n_history && s->cfg->history[s->cfg->n_history - 1].created
                                  ? xstrdup(s->cfg->history[s->cfg->n_history - 1].created)
                                  : created_now(x);
        s->done = true;
        return 0;
}

/* ---- the build ----------------------------------------------------------- */

/* Independent stages in parallel: one thread per stage that waits for the
 * stages it needs, at most jobs of them running. */
enum { ST_WAIT, ST_RUN, ST_DONE, ST_FAILED };

struct sched {
        struct xctx *x;
        pthread_mutex_t m;
        pthread_cond_t c;
        int running;
        int *state; /* per stage */
        struct err *first;
        int rc;
};

struct job {
        struct sched *s;
        int stage;
};

static void *
stage_thread(void *p)
{
        struct job *j = p;
        struct sched *s = j->s;
        const struct build_plan_stage *ps = &s->x->plan->stages[j->stage];
        struct err *err = NULL;
        bool dep_failed;
        int r;

        pthread_mutex_lock(&s->m);
        for (;;) {
                bool ready = true;

                dep_failed = false;
                for (size_t d = 0; d < ps->n_deps; d++) {
                        if (s->state[ps->deps[d]] == ST_FAILED)
                                dep_failed = true;
                        if (s->state[ps->deps[d]] != ST_DONE)
                                ready = false;
                }
                if (dep_failed || s->rc < 0 || (ready && s->running < s->x->o->jobs))
                        break;
                pthread_cond_wait(&s->c, &s->m);
        }
        if (dep_failed || s->rc < 0) {
                s->state[j->stage] = ST_FAILED;
                pthread_cond_broadcast(&s->c);
                pthread_mutex_unlock(&s->m);
                return NULL;
        }
        s->running++;
        s->state[j->stage] = ST_RUN;
        pthread_mutex_unlock(&s->m);

        r = run_stage(s->x, j->stage, &err);

        pthread_mutex_lock(&s->m);
        s->running--;
        s->state[j->stage] = r < 0 ? ST_FAILED : ST_DONE;
        if (r < 0) {
                if (s->rc >= 0) {
                        s->rc = r;
                        s->first = err;
                        err = NULL;
                }
                s->x->failed = 1;
        }
        pthread_cond_broadcast(&s->c);
        pthread_mutex_unlock(&s->m);
        err_clear(&err);
        return NULL;
}

static int
run_parallel(struct xctx *x, struct err **err)
{
        struct sched s = {.x = x};
        size_t n = x->plan->n_order;
        pthread_t *th = xcalloc(n, sizeof(*th));
        struct job *jobs = xcalloc(n, sizeof(*jobs));
        size_t started = 0;

        pthread_mutex_init(&s.m, NULL);
        pthread_cond_init(&s.c, NULL);
        s.state = xcalloc(x->plan->n_stages, sizeof(int));
        /* Stages the target does not need stay ST_WAIT and are never deps. */
        for (size_t i = 0; i < n; i++) {
                jobs[i].s = &s;
                jobs[i].stage = x->plan->order[i];
                if (pthread_create(&th[i], NULL, stage_thread, &jobs[i]) != 0) {
                        pthread_mutex_lock(&s.m);
                        if (s.rc >= 0)
                                s.rc = err_set(&s.first, EAGAIN, "starting a stage thread");
                        pthread_cond_broadcast(&s.c);
                        pthread_mutex_unlock(&s.m);
                        break;
                }
                started++;
        }
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
        free(jobs);
        free(s.state);
        pthread_mutex_destroy(&s.m);
        pthread_cond_destroy(&s.c);
        if (s.rc < 0) {
                *err = s.first;
                return s.rc;
        }
        return 0;
}

static int
finish(struct xctx *x, struct xstage *s, struct build_exec_result *ret, struct err **err)
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
                _cleanup_free_ char *k = eq ? xstrndup(x->o->labels[i], (size_t) (eq - x->o->labels[i]))
                                            : xstrdup(x->o->labels[i]);

                oci_map_set(&s->cfg->config.labels, k, eq ? eq + 1 : "");
                s->cfg->has_config = true;
        }
        r = put_config(x, s, &cfg_digest, &cfg_size, err);
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

int
build_exec_run(const struct build_exec_opts *o, struct build_exec_result *ret, struct err **err)
{
        struct xctx x = {0};
        _cleanup_free_ char *dfpath = NULL, *warning = NULL;
        struct build_exec_result res = {0};
        int r;

        x.o = o;
        pthread_mutex_init(&x.lock, NULL);
        pthread_mutex_init(&x.bases_lock, NULL);
        x.store = o->store;
        x.layout = oci_store_layout(o->store);
        x.ctx_fd = -1;
        x.context = realpath(o->context, NULL);
        if (!x.context)
                return err_set(err, errno, "build context %s: %s", o->context, strerror(errno));
        x.ctx_fd = open(x.context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (x.ctx_fd < 0) {
                r = err_set(err, errno, "build context %s: %s", o->context, strerror(errno));
                goto out;
        }
        if (o->dockerfile)
                dfpath = xstrdup(o->dockerfile);
        else
                dfpath = xasprintf("%s/Dockerfile", x.context);
        r = build_df_parse_path(dfpath, &x.df, err);
        if (r >= 0)
                r = build_df_validate(x.df, err);
        if (r < 0)
                goto out;
        x.df_name = x.df->name ? x.df->name : dfpath;
        r = build_idmap_detect(NULL, NULL, &x.idmap, &warning, err);
        if (r < 0)
                goto out;
        if (warning)
                event(&x, BUILD_EVENT_INFO, 0, "warning: %s", warning);
        x.hashcache = xhashcache_open(oci_store_cache_dir(o->store), o->no_cache);
        r = fs_mkdtemp_in(oci_store_tmp_dir(o->store), "build-", &x.work, err);
        if (r < 0)
                goto out;
        x.empty_dir = xasprintf("%s/empty", x.work);
        if (mkdir(x.empty_dir, 0755) < 0) {
                r = err_set(err, errno, "%s: %s", x.empty_dir, strerror(errno));
                goto out;
        }
        r = xssh_agents_start(&x, err);
        if (r < 0)
                goto out;
        r = build_ignore_load(x.context, o->dockerfile && strcmp(o->dockerfile, "-") == 0 ? "-" : dfpath, &x.ignore,
                              err);
        if (r < 0)
                goto out;
        {
                struct build_plan_opts po = {
                        .build_args = o->build_args,
                        .n_build_args = o->n_build_args,
                        .target = o->target,
                        .platform = o->platform,
                        .base_config = xplan_base_config,
                        .base_config_data = &x,
                };
                _cleanup_free_ char *host = build_plan_host_platform();

                x.plan_platform = o->platform ? o->platform : host;
                r = build_plan_new(x.df, &po, &x.plan, err);
                x.plan_platform = NULL;
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < x.plan->n_warnings; i++)
                event(&x, BUILD_EVENT_INFO, 0, "warning: %s", x.plan->warnings[i]);
        if (x.plan->n_unused_build_args) {
                for (size_t i = 0; i < x.plan->n_unused_build_args; i++)
                        event(&x, BUILD_EVENT_INFO, 0, "warning: build arg %s was not consumed",
                              x.plan->unused_build_args[i]);
        }
        x.stages = xcalloc(x.plan->n_stages, sizeof(*x.stages));
        if (o->jobs > 1 && x.plan->n_order > 1) {
                r = run_parallel(&x, err);
                if (r < 0)
                        goto out;
        } else {
                for (size_t i = 0; i < x.plan->n_order; i++) {
                        r = run_stage(&x, x.plan->order[i], err);
                        if (r < 0)
                                goto out;
                }
        }
        r = finish(&x, &x.stages[x.plan->target], &res, err);
        if (r < 0)
                goto out;
        *ret = res;
        memset(&res, 0, sizeof(res));
        r = 0;
out:
        build_exec_result_clear(&res);
        if (x.stages)
                for (size_t i = 0; i < x.plan->n_stages; i++)
                        xstage_clear(&x.stages[i]);
        free(x.stages);
        xssh_agents_stop(x.ssh);
        if (x.work) {
                struct err *e2 = NULL;

                build_snapshot_remove(&x.idmap, x.work, &e2);
                err_clear(&e2);
                free(x.work);
        }
        free(x.empty_dir);
        {
                struct err *e2 = NULL;

                /* Only a cache: failing to write it loses nothing. */
                xhashcache_close(x.hashcache, &e2);
                err_clear(&e2);
        }
        build_context_free(x.ctxlist);
        build_ignore_free(x.ignore);
        build_plan_free(x.plan);
        build_df_file_free(x.df);
        if (x.ctx_fd >= 0)
                close(x.ctx_fd);
        free(x.context);
        xbases_free(&x);
        pthread_mutex_destroy(&x.bases_lock);
        pthread_mutex_destroy(&x.lock);
        return r;
}
