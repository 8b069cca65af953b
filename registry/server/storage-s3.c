/* The S3 storage driver: everything in one bucket under the configured
 * prefix, so any number of ireg processes serve the same registry (upload
 * sessions in storage-s3-upload.c).  Keys (relative to the prefix):
 *   blobs/<alg>/<hh>/<hex>                             blob data
 *   repos/<name>/_layers/<alg>/<hex>                   link: the repo holds the blob
 *   repos/<name>/_manifests/revisions/<alg>/<hex>/link   the manifest's media type
 *   repos/<name>/_manifests/revisions/<alg>/<hex>/tags/<tag>  reverse index marker
 *   repos/<name>/_manifests/tags/<tag>                 "alg:hex" of the tagged manifest
 *   repos/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>  descriptor JSON
 *   repos/<name>/_uploads/<uuid>/...                   upload sessions
 *   index/blob-repos/<alg>/<hh>/<hex>/<name, '/' as '+'>  blob -> repositories
 *   index/repos/<name>                                 the repository index
 * S3 writes are atomic per object (a PUT or copy appears whole or not at
 * all), and the order of writes is the filesystem driver's: a crash
 * leaves unreferenced data for gc, never a link to missing content.
 * Listings are ordered by key, which for names and tags is strcmp order.
 *
 * The boolean ops (repo_exists, layer_exists, ...) cannot report a
 * failure: when the store cannot be asked they answer true, so the
 * request goes on to an op that reports the outage (503), never a 404
 * that would be a lie. */
#include "registry/server/storage-s3-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "common/sort.h"
#include "registry/server/route.h"

/* A link younger than this is not rewritten by layer_use (S3 has no
 * utimes: refreshing an mtime is a PUT). */
#define LINK_REFRESH_SECS 60

int
s3d_fail(int r, struct err **err, int nf_code, const char *what)
{
        _cleanup_free_ char *msg = NULL;
        int code = err_code(err);

        if (code == ENOENT && nf_code) {
                err_clear(err);
                err_set(err, nf_code, "%s not found", what);
                return -ENOENT;
        }
        msg = xstrdup(err_msg(err)[0] ? err_msg(err) : "object store error");
        err_clear(err);
        (void) r;
        return err_set(err, EAGAIN, "%s: %s", what, msg);
}

static void
strv_push(struct reg_strv *sv, const char *s)
{
        if (sv->n == 0 || (sv->n & (sv->n - 1)) == 0)
                sv->v = xrealloc(sv->v, sizeof(char *) * (sv->n ? sv->n * 2 : 8));
        sv->v[sv->n++] = xstrdup(s);
}

int
s3d_list_walk(struct s3_store *ss, const char *prefix, s3d_key_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *token = NULL;

        for (;;) {
                _cleanup_(s3_list_page_freep) struct s3_list_page *pg = NULL;
                struct s3_list_opts o = {.prefix = prefix, .token = token, .max_keys = 1000};
                size_t i;
                int r = s3_list(ss->c, &o, &pg, err);

                if (r < 0) {
                        _cleanup_free_ char *what = xasprintf("listing %s", prefix);
                        return s3d_fail(r, err, 0, what);
                }
                for (i = 0; i < pg->n_keys; i++) {
                        r = cb(&pg->keys[i], userdata);
                        if (r < 0)
                                return err_set(err, -r, "walking %s", prefix);
                }
                if (!pg->truncated || !pg->next_token)
                        return 0;
                free(token);
                token = xstrdup(pg->next_token);
        }
}

/* ---- keys ---- */

char *
s3d_blob_key(const struct digest *d)
{
        return xasprintf("blobs/%s/%.2s/%s", digest_alg_name(d->alg), S3HEX(d), S3HEX(d));
}

static char *
layer_key(const char *name, const struct digest *d)
{
        return xasprintf("repos/%s/_layers/%s/%s", name, digest_alg_name(d->alg), S3HEX(d));
}

static char *
holders_prefix(const struct digest *d)
{
        return xasprintf("index/blob-repos/%s/%.2s/%s/", digest_alg_name(d->alg), S3HEX(d), S3HEX(d));
}

static char *
holder_key(const char *name, const struct digest *d)
{
        _cleanup_free_ char *dir = holders_prefix(d);
        char *k = xasprintf("%s%s", dir, name), *q;

        for (q = k + strlen(dir); *q; q++)
                if (*q == '/')
                        *q = '+';
        return k;
}

static char *
rev_prefix(const char *name, const struct digest *d)
{
        return xasprintf("repos/%s/_manifests/revisions/%s/%s/", name, digest_alg_name(d->alg), S3HEX(d));
}

static char *
tag_key(const char *name, const char *tag)
{
        return xasprintf("repos/%s/_manifests/tags/%s", name, tag);
}

static char *
referrer_prefix(const char *name, const struct digest *subject)
{
        return xasprintf("repos/%s/_referrers/%s/%s/", name, digest_alg_name(subject->alg), S3HEX(subject));
}

/* "alg:hex" from the last two components of a key ".../<alg>/<hex>". */
static bool
alg_hex_item(const char *alg_hex, char *item, size_t len)
{
        const char *slash = strchr(alg_hex, '/');
        int n;

        if (!slash || strchr(slash + 1, '/') || !slash[1])
                return false;
        n = snprintf(item, len, "%.*s:%s", (int) (slash - alg_hex), alg_hex, slash + 1);
        return n > 0 && (size_t) n < len && digest_grammar_ok(item);
}

/* HEAD KEY: 1 when it exists, 0 when not, negative on failure (ERR set). */
static int
exists(struct s3_store *ss, const char *key, struct s3_object_info *info, struct err **err)
{
        S3D_ERR(err);
        struct s3_object_info tmp;
        int r = s3_head(ss->c, key, info ? info : &tmp, err);

        if (r == 0)
                return 1;
        if (err_code(err) == ENOENT) {
                err_clear(err);
                return 0;
        }
        return s3d_fail(r, err, 0, key);
}

static int
put_text(struct s3_store *ss, const char *key, const char *text, struct err **err)
{
        S3D_ERR(err);
        int r = s3_put(ss->c, key, text, strlen(text), NULL, err);

        return r < 0 ? s3d_fail(r, err, 0, key) : 0;
}

static int
del_key(struct s3_store *ss, const char *key, struct err **err)
{
        S3D_ERR(err);
        int r = s3_delete(ss->c, key, err);

        return r < 0 ? s3d_fail(r, err, 0, key) : 0;
}

/* ---- blobs ---- */

static int
s3_blob_stat(struct reg_store *s, const struct digest *d, uint64_t *ret_size, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = s3d_blob_key(d);
        _cleanup_free_ char *what = xasprintf("blob %s", d->str);
        struct s3_object_info info;
        int r = s3_head(S3S(s)->c, k, &info, err);

        if (r < 0)
                return s3d_fail(r, err, ERR_BLOB_UNKNOWN, what);
        if (ret_size)
                *ret_size = info.size;
        return 0;
}

static int
s3_blob_open(struct reg_store *s, const struct digest *d, struct reg_blob_reader **ret, struct err **err)
{
        S3D_ERR(err);
        uint64_t size;
        int r = s3_blob_stat(s, d, &size, err);

        if (r < 0)
                return r;
        *ret = s3d_reader_new(S3S(s), s3d_blob_key(d), size);
        return 0;
}

static int
s3_blob_read(struct reg_store *s, const struct digest *d, size_t cap, char **ret_data, size_t *ret_len,
             struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = s3d_blob_key(d);
        _cleanup_free_ char *what = xasprintf("blob %s", d->str);
        size_t len = 0;
        int r = s3_get(S3S(s)->c, k, cap, ret_data, &len, err);

        if (r < 0) {
                if (err_code(err) == EFBIG)
                        return err_prefix(err, "blob %s", d->str);
                return s3d_fail(r, err, ERR_BLOB_UNKNOWN, what);
        }
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int
s3_blob_put_buf(struct reg_store *s, const struct digest *d, const void *data, size_t len, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = s3d_blob_key(d);
        int r;

        /* Always written (small blobs: manifests): the fresh mtime is gc's
         * grace period for a re-pushed blob, and the PUT is atomic. */
        r = s3_put(S3S(s)->c, k, data, len, NULL, err);
        return r < 0 ? s3d_fail(r, err, 0, k) : 0;
}

/* Redirected blob GETs: a presigned URL valid this long (distribution's
 * default too). */
#define REDIRECT_EXPIRES (20 * 60)

static int
s3_blob_url(struct reg_store *s, const struct digest *d, char **ret_url, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = NULL;
        int r;

        if (!S3S(s)->redirect)
                return 0;
        r = s3_blob_stat(s, d, NULL, err);
        if (r < 0)
                return r;
        k = s3d_blob_key(d);
        r = s3_presign_get(S3S(s)->c, k, REDIRECT_EXPIRES, 0, ret_url, err);
        return r < 0 ? s3d_fail(r, err, 0, k) : 1;
}

struct holder_del {
        struct s3_store *ss;
        struct err **err;
};

static int
holder_del_cb(const struct s3_list_entry *e, void *userdata)
{
        struct holder_del *hd = userdata;

        s3_delete(hd->ss->c, e->key, NULL);
        return 0;
}

static int
s3_blob_delete(struct reg_store *s, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = s3d_blob_key(d);
        _cleanup_free_ char *hp = holders_prefix(d);
        struct holder_del hd = {S3S(s), err};
        int r = exists(S3S(s), k, NULL, err);

        if (r < 0)
                return r;
        if (r == 0)
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found", d->str), -ENOENT;
        r = del_key(S3S(s), k, err);
        if (r < 0)
                return r;
        /* Its index entries can only be stale now. */
        return s3d_list_walk(S3S(s), hp, holder_del_cb, &hd, err);
}

struct item_walk {
        reg_store_walk_cb cb;
        void *userdata;
        size_t skip;        /* prefix length to skip in each key */
        const char *suffix; /* keys must end with it (stripped); NULL: none */
        bool hh;            /* <alg>/<hh>/<hex>: drop the <hh> level */
        bool sizes;
};

static int
item_walk_cb(const struct s3_list_entry *e, void *userdata)
{
        struct item_walk *iw = userdata;
        char rel[256], item[DIGEST_STR_MAX + 8];
        size_t klen = strlen(e->key), sl = iw->suffix ? strlen(iw->suffix) : 0;
        const char *p;

        if (klen <= iw->skip || klen - iw->skip - sl >= sizeof(rel))
                return 0;
        if (sl && (klen - iw->skip < sl || strcmp(e->key + klen - sl, iw->suffix) != 0))
                return 0;
        snprintf(rel, sizeof(rel), "%.*s", (int) (klen - iw->skip - sl), e->key + iw->skip);
        if (iw->hh) {
                /* "alg/hh/hex" -> "alg/hex" */
                char *a = strchr(rel, '/'), *b = a ? strchr(a + 1, '/') : NULL;
                if (!b)
                        return 0;
                memmove(a + 1, b + 1, strlen(b + 1) + 1);
        }
        p = rel;
        if (!alg_hex_item(p, item, sizeof(item)))
                return 0;
        return iw->cb(item, iw->sizes ? e->size : 0, e->mtime, iw->userdata);
}

static int
s3_blob_walk(struct reg_store *s, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        struct item_walk iw = {cb, userdata, strlen("blobs/"), NULL, true, true};

        return s3d_list_walk(S3S(s), "blobs/", item_walk_cb, &iw, err);
}

static int
usage_cb(const char *item, uint64_t size, time_t mtime, void *userdata)
{
        *(uint64_t *) userdata += size;
        return 0;
}

static int
s3_blob_usage(struct reg_store *s, uint64_t *ret_bytes, struct err **err)
{
        S3D_ERR(err);
        uint64_t total = 0;
        int r = s3_blob_walk(s, usage_cb, &total, err);

        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}

/* ---- repositories ---- */

int
s3d_repo_add(struct s3_store *ss, const char *name, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = xasprintf("index/repos/%s", name);
        int r = exists(ss, k, NULL, err);

        if (r != 0)
                return r < 0 ? r : 0;
        return put_text(ss, k, "", err);
}

static bool
s3_repo_exists(struct reg_store *s, const char *name)
{
        _cleanup_free_ char *k = xasprintf("index/repos/%s", name);
        _cleanup_err_ struct err *e = NULL;

        return exists(S3S(s), k, NULL, &e) != 0;
}

static int
repo_cb(const struct s3_list_entry *e, void *userdata)
{
        strv_push(userdata, e->key + strlen("index/repos/"));
        return 0;
}

static int
s3_repo_list(struct reg_store *s, struct reg_strv *ret, struct err **err)
{
        S3D_ERR(err);
        struct reg_strv sv = {0};
        int r = s3d_list_walk(S3S(s), "index/repos/", repo_cb, &sv, err);

        if (r < 0) {
                reg_strv_free(&sv);
                return r;
        }
        /* Key order is byte order: already strcmp-sorted. */
        *ret = sv;
        return 0;
}

/* ---- layer links and the holders index ---- */

static int s3_holder_add(struct reg_store *s, const char *name, const struct digest *d, struct err **err);

int
s3d_layer_link(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = layer_key(name, d);
        int r;

        r = s3d_repo_add(S3S(s), name, err);
        if (r < 0)
                return r;
        /* Index entry first: a crash leaves a stale entry, never a link
         * the index misses.  The link is (re)written: a fresh mtime. */
        r = s3_holder_add(s, name, d, err);
        if (r < 0)
                return r;
        return put_text(S3S(s), k, d->str, err);
}

static bool
s3_layer_exists(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *k = layer_key(name, d);
        _cleanup_err_ struct err *e = NULL;

        return exists(S3S(s), k, NULL, &e) != 0;
}

static bool
s3_layer_use(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *k = layer_key(name, d);
        _cleanup_err_ struct err *e = NULL;
        struct s3_object_info info = {0};
        int r = exists(S3S(s), k, &info, &e);

        if (r == 1 && info.mtime && info.mtime + LINK_REFRESH_SECS < time(NULL))
                (void) put_text(S3S(s), k, d->str, NULL);
        return r != 0;
}

static int
s3_layer_unlink(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = layer_key(name, d);
        _cleanup_free_ char *hk = holder_key(name, d);
        int r = exists(S3S(s), k, NULL, err);

        if (r < 0)
                return r;
        if (r == 0)
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found in %s", d->str, name), -ENOENT;
        r = del_key(S3S(s), k, err);
        if (r < 0)
                return r;
        (void) s3_delete(S3S(s)->c, hk, NULL);
        return 0;
}

static int
s3_layer_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = xasprintf("repos/%s/_layers/", name);
        struct item_walk iw = {cb, userdata, strlen(p), NULL, false, false};

        return s3d_list_walk(S3S(s), p, item_walk_cb, &iw, err);
}

struct holder_walk {
        reg_store_walk_cb cb;
        void *userdata;
        size_t skip;
};

static int
holder_walk_cb(const struct s3_list_entry *e, void *userdata)
{
        struct holder_walk *hw = userdata;
        char name[LIMIT_REF_NAME + 1], *q;

        if (strlen(e->key + hw->skip) > LIMIT_REF_NAME || !e->key[hw->skip])
                return 0;
        snprintf(name, sizeof(name), "%s", e->key + hw->skip);
        for (q = name; *q; q++)
                if (*q == '+')
                        *q = '/';
        return hw->cb(name, 0, e->mtime, hw->userdata);
}

static int
s3_holder_walk(struct reg_store *s, const struct digest *d, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = holders_prefix(d);
        struct holder_walk hw = {cb, userdata, strlen(p)};

        return s3d_list_walk(S3S(s), p, holder_walk_cb, &hw, err);
}

static bool
s3_holder_exists(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *k = holder_key(name, d);
        _cleanup_err_ struct err *e = NULL;

        return exists(S3S(s), k, NULL, &e) != 0;
}

static int
s3_holder_add(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = holder_key(name, d);
        int r = exists(S3S(s), k, NULL, err);

        if (r != 0)
                return r < 0 ? r : 0;
        r = put_text(S3S(s), k, "", err);
        return r < 0 ? r : 1;
}

static int
s3_holder_remove(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = holder_key(name, d);

        return del_key(S3S(s), k, err);
}

/* ---- manifests ---- */

static int
s3_manifest_put(struct reg_store *s, const char *name, const struct digest *d, const char *media_type, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *rp = rev_prefix(name, d);
        _cleanup_free_ char *k = xasprintf("%slink", rp);
        int r = s3d_repo_add(S3S(s), name, err);

        return r < 0 ? r : put_text(S3S(s), k, media_type, err);
}

static int
s3_manifest_get(struct reg_store *s, const char *name, const struct digest *d, char *ret_mt, size_t mt_len,
                struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *rp = rev_prefix(name, d);
        _cleanup_free_ char *k = xasprintf("%slink", rp);
        _cleanup_free_ char *what = xasprintf("manifest %s in %s", d->str, name);
        _cleanup_free_ char *data = NULL;
        int r = s3_get(S3S(s)->c, k, 4096, &data, &(size_t){0}, err);

        if (r < 0)
                return s3d_fail(r, err, ERR_MANIFEST_UNKNOWN, what);
        snprintf(ret_mt, mt_len, "%s", data);
        return 0;
}

static int s3_tags_of(struct reg_store *s, const char *name, const struct digest *d, struct reg_strv *ret,
                      struct err **err);

static int
key_list_cb(const struct s3_list_entry *e, void *userdata)
{
        strv_push(userdata, e->key);
        return 0;
}

static int
s3_manifest_delete(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *rp = rev_prefix(name, d);
        _cleanup_free_ char *link = xasprintf("%slink", rp);
        struct reg_strv tags = {0}, keys = {0};
        size_t i;
        int r = exists(S3S(s), link, NULL, err);

        if (r < 0)
                return r;
        if (r == 0)
                return err_set(err, ERR_MANIFEST_UNKNOWN, "manifest %s not found in %s", d->str, name), -ENOENT;
        /* Tags first: a crash leaves an untagged revision, never a tag
         * naming a missing revision. */
        r = s3_tags_of(s, name, d, &tags, err);
        for (i = 0; r >= 0 && i < tags.n; i++) {
                _cleanup_free_ char *tk = tag_key(name, tags.v[i]);
                r = del_key(S3S(s), tk, err);
        }
        reg_strv_free(&tags);
        if (r < 0)
                return r;
        r = del_key(S3S(s), link, err);
        if (r < 0)
                return r;
        /* The revision's markers (at most its tags: a short list). */
        r = s3d_list_walk(S3S(s), rp, key_list_cb, &keys, err);
        for (i = 0; r >= 0 && i < keys.n; i++)
                r = del_key(S3S(s), keys.v[i], err);
        reg_strv_free(&keys);
        return r < 0 ? r : 0;
}

static int
s3_manifest_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = xasprintf("repos/%s/_manifests/revisions/", name);
        struct item_walk iw = {cb, userdata, strlen(p), "/link", false, false};

        return s3d_list_walk(S3S(s), p, item_walk_cb, &iw, err);
}

/* ---- tags ---- */

static int
s3_tag_get(struct reg_store *s, const char *name, const char *tag, struct digest *ret, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = tag_key(name, tag);
        _cleanup_free_ char *what = xasprintf("tag %s in %s", tag, name);
        _cleanup_free_ char *data = NULL;
        int r = s3_get(S3S(s)->c, k, DIGEST_STR_MAX + 2, &data, &(size_t){0}, err);

        if (r < 0)
                return s3d_fail(r, err, ERR_MANIFEST_UNKNOWN, what);
        data[strcspn(data, "\n")] = '\0';
        if (digest_parse(data, ret, err) < 0)
                return err_prefix(err, "corrupt tag object %s", k);
        return 0;
}

static int
s3_tag_put(struct reg_store *s, const char *name, const char *tag, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *tk = tag_key(name, tag);
        _cleanup_free_ char *rp = rev_prefix(name, d);
        _cleanup_free_ char *marker = xasprintf("%stags/%s", rp, tag);
        _cleanup_err_ struct err *ge = NULL;
        struct digest old;
        bool had_old;
        int r;

        r = s3_tag_get(s, name, tag, &old, &ge);
        if (r < 0 && r != -ENOENT) {
                *err = ge, ge = NULL;
                return r;
        }
        had_old = r == 0;
        if (had_old && strcmp(old.str, d->str) == 0)
                return put_text(S3S(s), marker, "", err); /* repairs a missing marker */
        /* Reverse marker, then the tag, then drop the old marker. */
        r = put_text(S3S(s), marker, "", err);
        if (r < 0)
                return r;
        r = put_text(S3S(s), tk, d->str, err);
        if (r < 0)
                return r;
        if (had_old) {
                _cleanup_free_ char *orp = rev_prefix(name, &old);
                _cleanup_free_ char *om = xasprintf("%stags/%s", orp, tag);
                (void) s3_delete(S3S(s)->c, om, NULL);
        }
        return 0;
}

static int
s3_tag_delete(struct reg_store *s, const char *name, const char *tag, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *tk = tag_key(name, tag);
        struct digest d;
        int r = s3_tag_get(s, name, tag, &d, err);

        if (r < 0)
                return r;
        r = del_key(S3S(s), tk, err);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *rp = rev_prefix(name, &d);
                _cleanup_free_ char *m = xasprintf("%stags/%s", rp, tag);
                (void) s3_delete(S3S(s)->c, m, NULL);
        }
        return 0;
}

struct suffix_list {
        struct reg_strv *sv;
        size_t skip;
};

static int
suffix_cb(const struct s3_list_entry *e, void *userdata)
{
        struct suffix_list *sl = userdata;

        if (e->key[sl->skip] && !strchr(e->key + sl->skip, '/'))
                strv_push(sl->sv, e->key + sl->skip);
        return 0;
}

static int
s3_tag_list(struct reg_store *s, const char *name, struct reg_strv *ret, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = xasprintf("repos/%s/_manifests/tags/", name);
        _cleanup_free_ char *rk = xasprintf("index/repos/%s", name);
        struct reg_strv sv = {0};
        struct suffix_list sl = {&sv, strlen(p)};
        int r = exists(S3S(s), rk, NULL, err);

        if (r < 0)
                return r;
        if (r == 0)
                return err_set(err, ERR_NAME_UNKNOWN, "repository %s not known", name), -ENOENT;
        r = s3d_list_walk(S3S(s), p, suffix_cb, &sl, err);
        if (r < 0) {
                reg_strv_free(&sv);
                return r;
        }
        *ret = sv;
        return 0;
}

static int
s3_tags_of(struct reg_store *s, const char *name, const struct digest *d, struct reg_strv *ret, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *rp = rev_prefix(name, d);
        _cleanup_free_ char *p = xasprintf("%stags/", rp);
        struct reg_strv sv = {0}, out = {0};
        struct suffix_list sl = {&sv, strlen(p)};
        size_t i;
        int r = s3d_list_walk(S3S(s), p, suffix_cb, &sl, err);

        if (r < 0) {
                reg_strv_free(&sv);
                return r;
        }
        for (i = 0; i < sv.n; i++) {
                struct digest cur;
                if (s3_tag_get(s, name, sv.v[i], &cur, NULL) == 0 && strcmp(cur.str, d->str) == 0)
                        strv_push(&out, sv.v[i]);
        }
        reg_strv_free(&sv);
        *ret = out;
        return 0;
}

/* ---- referrers ---- */

static int
s3_referrer_add(struct reg_store *s, const char *name, const struct digest *subject, const struct digest *d,
                const char *desc, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = referrer_prefix(name, subject);
        _cleanup_free_ char *k = xasprintf("%s%s-%s", p, digest_alg_name(d->alg), S3HEX(d));

        return put_text(S3S(s), k, desc, err);
}

static int
s3_referrer_remove(struct reg_store *s, const char *name, const struct digest *subject, const struct digest *d,
                   struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = referrer_prefix(name, subject);
        _cleanup_free_ char *k = xasprintf("%s%s-%s", p, digest_alg_name(d->alg), S3HEX(d));

        return del_key(S3S(s), k, err);
}

struct ref_list {
        struct s3_store *ss;
        struct reg_strv *out;
};

static int
ref_cb(const struct s3_list_entry *e, void *userdata)
{
        struct ref_list *rl = userdata;
        _cleanup_free_ char *data = NULL;

        if (s3_get(rl->ss->c, e->key, LIMIT_JSON_SIZE, &data, &(size_t){0}, NULL) == 0)
                strv_push(rl->out, data);
        return 0;
}

static int
s3_referrer_list_impl(struct reg_store *s, const char *name, const struct digest *subject, struct reg_strv *ret,
                      struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = referrer_prefix(name, subject);
        struct reg_strv out = {0};
        struct ref_list rl = {S3S(s), &out};
        int r = s3d_list_walk(S3S(s), p, ref_cb, &rl, err);

        if (r < 0) {
                reg_strv_free(&out);
                return r;
        }
        *ret = out;
        return 0;
}

static void
s3_free(struct reg_store *s)
{
        s3_client_free(S3S(s)->c);
        free(s);
}

static const struct reg_store_ops s3_ops = {
    .blob_stat = s3_blob_stat,
    .blob_open = s3_blob_open,
    .blob_read = s3_blob_read,
    .blob_put_buf = s3_blob_put_buf,
    .blob_url = s3_blob_url,
    .blob_delete = s3_blob_delete,
    .blob_walk = s3_blob_walk,
    .blob_usage = s3_blob_usage,
    .repo_exists = s3_repo_exists,
    .repo_list = s3_repo_list,
    .layer_link = s3d_layer_link,
    .layer_exists = s3_layer_exists,
    .layer_use = s3_layer_use,
    .layer_unlink = s3_layer_unlink,
    .layer_walk = s3_layer_walk,
    .holder_walk = s3_holder_walk,
    .holder_exists = s3_holder_exists,
    .holder_add = s3_holder_add,
    .holder_remove = s3_holder_remove,
    .manifest_put = s3_manifest_put,
    .manifest_get = s3_manifest_get,
    .manifest_delete = s3_manifest_delete,
    .manifest_walk = s3_manifest_walk,
    .tag_put = s3_tag_put,
    .tag_get = s3_tag_get,
    .tag_delete = s3_tag_delete,
    .tag_list = s3_tag_list,
    .tags_of = s3_tags_of,
    .referrer_add = s3_referrer_add,
    .referrer_remove = s3_referrer_remove,
    .referrer_list = s3_referrer_list_impl,
    .upload_create = s3d_upload_create,
    .upload_status = s3d_upload_status,
    .upload_writer = s3d_upload_writer,
    .upload_commit = s3d_upload_commit,
    .upload_delete = s3d_upload_delete,
    .upload_walk = s3d_upload_walk,
    .free = s3_free,
};

struct reg_store *
reg_store_s3_new(const struct s3_config *cfg, bool redirect, struct err **err)
{
        S3D_ERR(err);
        struct s3_client *c = NULL;
        struct s3_store *ss;

        if (s3_client_new(cfg, &c, err) < 0)
                return NULL;
        if (s3_check_bucket(c, err) < 0) {
                s3_client_free(c);
                return NULL;
        }
        ss = xcalloc(1, sizeof(*ss));
        ss->base.ops = &s3_ops;
        ss->c = c;
        ss->redirect = redirect;
        return &ss->base;
}
