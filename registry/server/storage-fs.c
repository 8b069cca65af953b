/* The filesystem storage driver (layout in storage.h): blobs, links,
 * manifests, tags and referrers; upload sessions in storage-fs-upload.c. */
#include "registry/server/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/server/route.h"
#include "registry/server/storage-fs-internal.h"

static void
strv_push(struct reg_strv *sv, const char *s)
{
        if ((sv->n & (sv->n - 1)) == 0 || sv->n == 0)
                sv->v = xrealloc(sv->v, sizeof(char *) * (sv->n ? sv->n * 2 : 8));
        sv->v[sv->n++] = xstrdup(s);
}

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
strv_sort(struct reg_strv *sv)
{
        if (sv->n > 1)
                sort_array(sv->v, sv->n, sizeof(char *), cmp_str);
}

/* ---- paths ---- */

char *
fsd_blob_path(struct fs_store *fs, const struct digest *d)
{
        return xasprintf("%s/blobs/%s/%.2s/%s", fs->root, digest_alg_name(d->alg), HEX(d), HEX(d));
}

char *
fsd_repo_path(struct fs_store *fs, const char *name, const char *sub)
{
        return xasprintf("%s/repos/%s%s%s", fs->root, name, sub ? "/" : "", sub ? sub : "");
}

static char *
layer_path(struct fs_store *fs, const char *name, const struct digest *d)
{
        return xasprintf("%s/repos/%s/_layers/%s/%s", fs->root, name, digest_alg_name(d->alg), HEX(d));
}

static char *
holders_dir(struct fs_store *fs, const struct digest *d)
{
        return xasprintf("%s/index/blob-repos/%s/%.2s/%s", fs->root, digest_alg_name(d->alg), HEX(d),
                         HEX(d));
}

/* NAME as one path component: '/' (never '+' in a valid name) as '+'. */
static char *
holder_path(struct fs_store *fs, const char *name, const struct digest *d)
{
        _cleanup_free_ char *dir = holders_dir(fs, d);
        char *p = xasprintf("%s/%s", dir, name), *q;

        for (q = p + strlen(dir) + 1; *q; q++)
                if (*q == '/')
                        *q = '+';
        return p;
}

static char *
rev_path(struct fs_store *fs, const char *name, const struct digest *d)
{
        return xasprintf("%s/repos/%s/_manifests/revisions/%s/%s", fs->root, name,
                         digest_alg_name(d->alg), HEX(d));
}

static char *
tag_path(struct fs_store *fs, const char *name, const char *tag)
{
        return xasprintf("%s/repos/%s/_manifests/tags/%s", fs->root, name, tag);
}

char *
fsd_upload_path(struct fs_store *fs, const char *name, const char *uuid)
{
        return xasprintf("%s/repos/%s/_uploads/%s", fs->root, name, uuid);
}

static char *
referrer_dir(struct fs_store *fs, const char *name, const struct digest *subject)
{
        return xasprintf("%s/repos/%s/_referrers/%s/%s", fs->root, name,
                         digest_alg_name(subject->alg), HEX(subject));
}

/* Parent directory of PATH created (mkdir -p). */
int
fsd_mkparent(const char *path, struct err **err)
{
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');

        if (slash)
                *slash = '\0';
        return fs_mkdir_p(dir, 0755, err);
}

int
fsd_write_file(const char *path, const void *data, size_t len, struct err **err)
{
        int r = fs_write_atomic(path, data, len, 0644, err);

        if (r == -ENOENT) {
                err_clear(err);
                r = fsd_mkparent(path, err);
                if (r < 0)
                        return r;
                r = fs_write_atomic(path, data, len, 0644, err);
        }
        return r;
}

static bool
is_temp(const char *n)
{
        return n[0] == '.';
}

/* ---- blobs ---- */

static int
fs_blob_stat(struct reg_store *s, const struct digest *d, uint64_t *ret_size, struct err **err)
{
        _cleanup_free_ char *p = fsd_blob_path(FS(s), d);
        struct stat st;

        if (stat(p, &st) < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found", d->str), -ENOENT;
                return err_set(err, errno, "stat %s: %s", p, strerror(errno));
        }
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        return 0;
}

/* A blob reader on an open file: blobs are renamed into place and never
 * rewritten, so the fd's bytes are the blob's for as long as it is open. */
struct fs_reader {
        struct reg_blob_reader base;
        int fd;
        char what[DIGEST_STR_MAX];
};

static ssize_t
fs_reader_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len, struct err **err)
{
        struct fs_reader *fr = (struct fs_reader *) br;
        ssize_t n;

        do
                n = pread(fr->fd, buf, len, (off_t) off);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_set(err, errno, "reading blob %s: %s", fr->what, strerror(errno));
        return n;
}

static int
fs_reader_fd(struct reg_blob_reader *br)
{
        return ((struct fs_reader *) br)->fd;
}

static void
fs_reader_close(struct reg_blob_reader *br)
{
        struct fs_reader *fr = (struct fs_reader *) br;

        close(fr->fd);
        free(fr);
}

static const struct reg_blob_reader_ops fs_reader_ops = {
        .read_at = fs_reader_read_at,
        .fd = fs_reader_fd,
        .close = fs_reader_close,
};

static int
fs_blob_open(struct reg_store *s, const struct digest *d, struct reg_blob_reader **ret,
             struct err **err)
{
        _cleanup_free_ char *p = fsd_blob_path(FS(s), d);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        struct fs_reader *fr;
        struct stat st;

        if (fd < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found", d->str), -ENOENT;
                return err_set(err, errno, "open %s: %s", p, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "stat %s: %s", p, strerror(errno));
        fr = xcalloc(1, sizeof(*fr));
        fr->base.ops = &fs_reader_ops;
        fr->base.size = (uint64_t) st.st_size;
        fr->fd = steal_fd(&fd);
        snprintf(fr->what, sizeof(fr->what), "%s", d->str);
        *ret = &fr->base;
        return 0;
}

static int
fs_blob_read(struct reg_store *s, const struct digest *d, size_t cap, char **ret_data,
             size_t *ret_len, struct err **err)
{
        _cleanup_free_ char *p = fsd_blob_path(FS(s), d);
        int r = fs_read_file(p, cap, ret_data, ret_len, err);

        if (r == -ENOENT) {
                err_clear(err);
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found", d->str), -ENOENT;
        }
        return r;
}

static int
fs_blob_put_buf(struct reg_store *s, const struct digest *d, const void *data, size_t len,
                struct err **err)
{
        _cleanup_free_ char *p = fsd_blob_path(FS(s), d);

        if (access(p, F_OK) == 0) {
                /* Fresh mtime: gc's grace period protects a blob being re-pushed. */
                utimensat(AT_FDCWD, p, NULL, 0);
                return 0;
        }
        return fsd_write_file(p, data, len, err);
}

static int
fs_blob_delete(struct reg_store *s, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *p = fsd_blob_path(FS(s), d);

        if (unlink(p) < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found", d->str), -ENOENT;
                return err_set(err, errno, "unlink %s: %s", p, strerror(errno));
        }
        {
                /* Its index entries can only be stale now. */
                _cleanup_free_ char *hd = holders_dir(FS(s), d);
                fs_rm_rf(hd, NULL);
        }
        return 0;
}

/* Walk DIR/<alg>/<hh>/<hex> (blobs) calling CB with "alg:hex". */
static int
fs_blob_walk(struct reg_store *s, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        static const char *const algs[] = { "sha256", "sha512" };
        size_t a;

        for (a = 0; a < 2; a++) {
                _cleanup_free_ char *adir = xasprintf("%s/blobs/%s", FS(s)->root, algs[a]);
                _cleanup_closedir_ DIR *ad = opendir(adir);
                struct dirent *e;

                if (!ad)
                        continue;
                while ((e = readdir(ad))) {
                        _cleanup_free_ char *sub = NULL;
                        _cleanup_closedir_ DIR *sd = NULL;
                        struct dirent *f;

                        if (strlen(e->d_name) != 2)
                                continue;
                        sub = xasprintf("%s/%s", adir, e->d_name);
                        sd = opendir(sub);
                        if (!sd)
                                continue;
                        while ((f = readdir(sd))) {
                                char item[DIGEST_STR_MAX + 8];
                                struct stat st;
                                int r;

                                if (is_temp(f->d_name) || fstatat(dirfd(sd), f->d_name, &st, 0) < 0 ||
                                    !S_ISREG(st.st_mode))
                                        continue;
                                snprintf(item, sizeof(item), "%s:%.*s", algs[a], DIGEST_STR_MAX - 8,
                                         f->d_name);
                                r = cb(item, (uint64_t) st.st_size, st.st_mtime, userdata);
                                if (r < 0)
                                        return err_set(err, -r, "walking blobs");
                        }
                }
        }
        return 0;
}

static int
usage_cb(const char *item, uint64_t size, time_t mtime, void *userdata)
{
        *(uint64_t *) userdata += size;
        return 0;
}

static int
fs_blob_usage(struct reg_store *s, uint64_t *ret_bytes, struct err **err)
{
        uint64_t total = 0;
        int r = fs_blob_walk(s, usage_cb, &total, err);

        if (r < 0)
                return r;
        *ret_bytes = total;
        return 0;
}

/* ---- repositories ---- */

static bool
fs_repo_exists(struct reg_store *s, const char *name)
{
        _cleanup_free_ char *m = fsd_repo_path(FS(s), name, "_manifests");
        _cleanup_free_ char *l = fsd_repo_path(FS(s), name, "_layers");
        _cleanup_free_ char *u = fsd_repo_path(FS(s), name, "_uploads");

        return access(m, F_OK) == 0 || access(l, F_OK) == 0 || access(u, F_OK) == 0;
}

static void
repo_scan(const char *dir, const char *prefix, struct reg_strv *out, int depth)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;
        bool is_repo = false;

        if (!d || depth > 64)
                return;
        while ((e = readdir(d))) {
                _cleanup_free_ char *sub = NULL, *name = NULL;
                struct stat st;

                if (e->d_name[0] == '.')
                        continue;
                if (e->d_name[0] == '_') {
                        /* A repository with only an upload in progress is one too
                         * (gc must find its stale sessions). */
                        if (strcmp(e->d_name, "_manifests") == 0 || strcmp(e->d_name, "_layers") == 0 ||
                            strcmp(e->d_name, "_uploads") == 0)
                                is_repo = true;
                        continue;
                }
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                sub = xasprintf("%s/%s", dir, e->d_name);
                name = prefix[0] ? xasprintf("%s/%s", prefix, e->d_name) : xstrdup(e->d_name);
                repo_scan(sub, name, out, depth + 1);
        }
        if (is_repo && prefix[0])
                strv_push(out, prefix);
}

static int
fs_repo_list(struct reg_store *s, struct reg_strv *ret, struct err **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/repos", FS(s)->root);
        struct reg_strv sv = { 0 };

        repo_scan(dir, "", &sv, 0);
        strv_sort(&sv);
        *ret = sv;
        return 0;
}

/* ---- layer links ---- */

static int fs_holder_add(struct reg_store *s, const char *name, const struct digest *d,
                         struct err **err);

int
fsd_layer_link(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *p = layer_path(FS(s), name, d);
        int r;

        if (access(p, F_OK) == 0) {
                utimensat(AT_FDCWD, p, NULL, 0);
                return 0;
        }
        /* Index entry first: a crash leaves a stale entry, never a link
         * the index misses. */
        r = fs_holder_add(s, name, d, err);
        if (r < 0)
                return r;
        return fsd_write_file(p, d->str, strlen(d->str), err);
}

static bool
fs_layer_use(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *p = layer_path(FS(s), name, d);

        if (utimensat(AT_FDCWD, p, NULL, 0) == 0)
                return true;
        /* Read-only store or foreign owner: existence is still the answer. */
        return errno != ENOENT && errno != ENOTDIR && access(p, F_OK) == 0;
}

static bool
fs_layer_exists(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *p = layer_path(FS(s), name, d);

        return access(p, F_OK) == 0;
}

static int
fs_layer_unlink(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *p = layer_path(FS(s), name, d);

        if (unlink(p) < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not found in %s", d->str, name),
                               -ENOENT;
                return err_set(err, errno, "unlink %s: %s", p, strerror(errno));
        }
        {
                _cleanup_free_ char *hp = holder_path(FS(s), name, d);
                unlink(hp);
        }
        return 0;
}

/* ---- blob -> repositories index ---- */

static int
fs_holder_walk(struct reg_store *s, const struct digest *d, reg_store_walk_cb cb, void *userdata,
               struct err **err)
{
        _cleanup_free_ char *dir = holders_dir(FS(s), d);
        _cleanup_closedir_ DIR *dh = opendir(dir);
        struct dirent *e;

        if (!dh)
                return 0;
        while ((e = readdir(dh))) {
                char name[LIMIT_REF_NAME + 1], *q;
                struct stat st;
                int r;

                if (is_temp(e->d_name) || strlen(e->d_name) > LIMIT_REF_NAME ||
                    fstatat(dirfd(dh), e->d_name, &st, 0) < 0)
                        continue;
                snprintf(name, sizeof(name), "%s", e->d_name);
                for (q = name; *q; q++)
                        if (*q == '+')
                                *q = '/';
                r = cb(name, 0, st.st_mtime, userdata);
                if (r < 0)
                        return err_set(err, -r, "walking %s", dir);
        }
        return 0;
}

static bool
fs_holder_exists(struct reg_store *s, const char *name, const struct digest *d)
{
        _cleanup_free_ char *p = holder_path(FS(s), name, d);

        return access(p, F_OK) == 0;
}

static int
fs_holder_add(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *p = holder_path(FS(s), name, d);
        int r;

        if (access(p, F_OK) == 0)
                return 0;
        r = fsd_write_file(p, "", 0, err);
        return r < 0 ? r : 1;
}

static int
fs_holder_remove(struct reg_store *s, const char *name, const struct digest *d, struct err **err)
{
        _cleanup_free_ char *p = holder_path(FS(s), name, d);

        if (unlink(p) < 0 && errno != ENOENT)
                return err_set(err, errno, "unlink %s: %s", p, strerror(errno));
        return 0;
}

/* Walk DIR/<alg>/<hex> entries calling CB with "alg:hex"; directories
 * (revisions) or files (links) alike. */
static int
walk_alg_dir(const char *dir, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        static const char *const algs[] = { "sha256", "sha512" };
        size_t a;

        for (a = 0; a < 2; a++) {
                _cleanup_free_ char *adir = xasprintf("%s/%s", dir, algs[a]);
                _cleanup_closedir_ DIR *ad = opendir(adir);
                struct dirent *e;

                if (!ad)
                        continue;
                while ((e = readdir(ad))) {
                        char item[DIGEST_STR_MAX + 8];
                        struct stat st;
                        int r;

                        if (is_temp(e->d_name) || fstatat(dirfd(ad), e->d_name, &st, 0) < 0)
                                continue;
                        snprintf(item, sizeof(item), "%s:%.*s", algs[a], DIGEST_STR_MAX - 8, e->d_name);
                        r = cb(item, 0, st.st_mtime, userdata);
                        if (r < 0)
                                return err_set(err, -r, "walking %s", dir);
                }
        }
        return 0;
}

static int
fs_layer_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata,
              struct err **err)
{
        _cleanup_free_ char *dir = fsd_repo_path(FS(s), name, "_layers");

        return walk_alg_dir(dir, cb, userdata, err);
}

/* ---- manifests ---- */

static int
fs_manifest_put(struct reg_store *s, const char *name, const struct digest *d,
                const char *media_type, struct err **err)
{
        _cleanup_free_ char *dir = rev_path(FS(s), name, d);
        _cleanup_free_ char *link = xasprintf("%s/link", dir);

        return fsd_write_file(link, media_type, strlen(media_type), err);
}

static int
fs_manifest_get(struct reg_store *s, const char *name, const struct digest *d, char *ret_mt,
                size_t mt_len, struct err **err)
{
        _cleanup_free_ char *dir = rev_path(FS(s), name, d);
        _cleanup_free_ char *link = xasprintf("%s/link", dir);
        _cleanup_close_ int fd = open(link, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_MANIFEST_UNKNOWN, "manifest %s not found in %s", d->str,
                                       name),
                               -ENOENT;
                return err_set(err, errno, "open %s: %s", link, strerror(errno));
        }
        n = read(fd, ret_mt, mt_len - 1);
        if (n < 0)
                return err_set(err, errno, "read %s: %s", link, strerror(errno));
        ret_mt[n] = '\0';
        return 0;
}

static int
fs_tags_of(struct reg_store *s, const char *name, const struct digest *d, struct reg_strv *ret,
           struct err **err);
static int
fs_tag_get(struct reg_store *s, const char *name, const char *tag, struct digest *ret,
           struct err **err);

static int
fs_manifest_delete(struct reg_store *s, const char *name, const struct digest *d,
                   struct err **err)
{
        _cleanup_free_ char *dir = rev_path(FS(s), name, d);
        _cleanup_free_ char *link = xasprintf("%s/link", dir);
        struct reg_strv tags = { 0 };
        size_t i;
        int r;

        if (access(link, F_OK) < 0)
                return err_set(err, ERR_MANIFEST_UNKNOWN, "manifest %s not found in %s", d->str, name),
                       -ENOENT;
        /* Tags first: a crash then leaves an untagged revision, never a tag
         * naming a missing revision. */
        r = fs_tags_of(s, name, d, &tags, err);
        if (r < 0)
                return r;
        for (i = 0; i < tags.n; i++) {
                _cleanup_free_ char *tp = tag_path(FS(s), name, tags.v[i]);
                if (unlink(tp) < 0 && errno != ENOENT) {
                        r = err_set(err, errno, "unlink %s: %s", tp, strerror(errno));
                        break;
                }
        }
        reg_strv_free(&tags);
        if (r < 0)
                return r;
        if (unlink(link) < 0 && errno != ENOENT)
                return err_set(err, errno, "unlink %s: %s", link, strerror(errno));
        return fs_rm_rf(dir, err);
}

static int
fs_manifest_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata,
                 struct err **err)
{
        _cleanup_free_ char *dir = fsd_repo_path(FS(s), name, "_manifests/revisions");

        return walk_alg_dir(dir, cb, userdata, err);
}

/* ---- tags ---- */

static int
fs_tag_get(struct reg_store *s, const char *name, const char *tag, struct digest *ret,
           struct err **err)
{
        _cleanup_free_ char *p = tag_path(FS(s), name, tag);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        char buf[DIGEST_STR_MAX + 2];
        ssize_t n;

        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return err_set(err, ERR_MANIFEST_UNKNOWN, "tag %s not found in %s", tag, name),
                               -ENOENT;
                return err_set(err, errno, "open %s: %s", p, strerror(errno));
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return err_set(err, errno, "read %s: %s", p, strerror(errno));
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (digest_parse(buf, ret, err) < 0)
                return err_prefix(err, "corrupt tag file %s", p);
        return 0;
}

static int
fs_tag_put(struct reg_store *s, const char *name, const char *tag, const struct digest *d,
           struct err **err)
{
        _cleanup_free_ char *tp = tag_path(FS(s), name, tag);
        _cleanup_free_ char *rdir = rev_path(FS(s), name, d);
        _cleanup_free_ char *marker = xasprintf("%s/tags/%s", rdir, tag);
        struct digest old;
        bool had_old;
        int r;

        had_old = fs_tag_get(s, name, tag, &old, NULL) == 0;
        if (had_old && strcmp(old.str, d->str) == 0) {
                /* Repair a missing marker (crash between the two writes). */
                if (access(marker, F_OK) < 0)
                        return fsd_write_file(marker, "", 0, err);
                return 0;
        }
        /* Reverse marker first, then the tag, then drop the old marker: a
         * crash leaves at worst a stale marker, which readers verify. */
        r = fsd_write_file(marker, "", 0, err);
        if (r < 0)
                return r;
        r = fsd_write_file(tp, d->str, strlen(d->str), err);
        if (r < 0)
                return r;
        if (had_old) {
                _cleanup_free_ char *ordir = rev_path(FS(s), name, &old);
                _cleanup_free_ char *omarker = xasprintf("%s/tags/%s", ordir, tag);
                unlink(omarker);
        }
        return 0;
}

static int
fs_tag_delete(struct reg_store *s, const char *name, const char *tag, struct err **err)
{
        _cleanup_free_ char *tp = tag_path(FS(s), name, tag);
        struct digest d;
        int r;

        r = fs_tag_get(s, name, tag, &d, err);
        if (r < 0)
                return r;
        if (unlink(tp) < 0) {
                if (errno == ENOENT)
                        return err_set(err, ERR_MANIFEST_UNKNOWN, "tag %s not found in %s", tag, name),
                               -ENOENT;
                return err_set(err, errno, "unlink %s: %s", tp, strerror(errno));
        }
        {
                _cleanup_free_ char *rdir = rev_path(FS(s), name, &d);
                _cleanup_free_ char *marker = xasprintf("%s/tags/%s", rdir, tag);
                unlink(marker);
        }
        return 0;
}

static int
list_dir(const char *dir, struct reg_strv *ret, bool *ret_exists)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct reg_strv sv = { 0 };
        struct dirent *e;

        *ret_exists = d != NULL;
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        while ((e = readdir(d)))
                if (!is_temp(e->d_name))
                        strv_push(&sv, e->d_name);
        strv_sort(&sv);
        *ret = sv;
        return 0;
}

static int
fs_tag_list(struct reg_store *s, const char *name, struct reg_strv *ret, struct err **err)
{
        _cleanup_free_ char *dir = fsd_repo_path(FS(s), name, "_manifests/tags");
        struct reg_strv sv = { 0 };
        bool exists;
        int r;

        if (!fs_repo_exists(s, name))
                return err_set(err, ERR_NAME_UNKNOWN, "repository %s not known", name), -ENOENT;
        r = list_dir(dir, &sv, &exists);
        if (r < 0)
                return err_set(err, -r, "listing %s: %s", dir, strerror(-r));
        *ret = sv;
        return 0;
}

static int
fs_tags_of(struct reg_store *s, const char *name, const struct digest *d, struct reg_strv *ret,
           struct err **err)
{
        _cleanup_free_ char *rdir = rev_path(FS(s), name, d);
        _cleanup_free_ char *dir = xasprintf("%s/tags", rdir);
        struct reg_strv sv = { 0 }, out = { 0 };
        bool exists;
        size_t i;
        int r;

        r = list_dir(dir, &sv, &exists);
        if (r < 0)
                return err_set(err, -r, "listing %s: %s", dir, strerror(-r));
        for (i = 0; i < sv.n; i++) {
                struct digest cur;
                if (fs_tag_get(s, name, sv.v[i], &cur, NULL) == 0 && strcmp(cur.str, d->str) == 0)
                        strv_push(&out, sv.v[i]);
        }
        reg_strv_free(&sv);
        *ret = out;
        return 0;
}

/* ---- referrers ---- */

static int
fs_referrer_add(struct reg_store *s, const char *name, const struct digest *subject,
                const struct digest *d, const char *desc, struct err **err)
{
        _cleanup_free_ char *dir = referrer_dir(FS(s), name, subject);
        _cleanup_free_ char *p = xasprintf("%s/%s-%s", dir, digest_alg_name(d->alg), HEX(d));

        return fsd_write_file(p, desc, strlen(desc), err);
}

static int
fs_referrer_remove(struct reg_store *s, const char *name, const struct digest *subject,
                   const struct digest *d, struct err **err)
{
        _cleanup_free_ char *dir = referrer_dir(FS(s), name, subject);
        _cleanup_free_ char *p = xasprintf("%s/%s-%s", dir, digest_alg_name(d->alg), HEX(d));

        if (unlink(p) < 0 && errno != ENOENT)
                return err_set(err, errno, "unlink %s: %s", p, strerror(errno));
        rmdir(dir);
        return 0;
}

static int
fs_referrer_list(struct reg_store *s, const char *name, const struct digest *subject,
                 struct reg_strv *ret, struct err **err)
{
        _cleanup_free_ char *dir = referrer_dir(FS(s), name, subject);
        struct reg_strv files = { 0 }, out = { 0 };
        bool exists;
        size_t i;
        int r;

        r = list_dir(dir, &files, &exists);
        if (r < 0)
                return err_set(err, -r, "listing %s: %s", dir, strerror(-r));
        for (i = 0; i < files.n; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, files.v[i]);
                _cleanup_free_ char *data = NULL;
                if (fs_read_file(p, LIMIT_JSON_SIZE, &data, NULL, NULL) == 0)
                        strv_push(&out, data);
        }
        reg_strv_free(&files);
        *ret = out;
        return 0;
}

static void
fs_free(struct reg_store *s)
{
        free(FS(s)->root);
        free(s);
}

static const struct reg_store_ops fs_ops = {
        .blob_stat = fs_blob_stat,
        .blob_open = fs_blob_open,
        .blob_read = fs_blob_read,
        .blob_put_buf = fs_blob_put_buf,
        .blob_delete = fs_blob_delete,
        .blob_walk = fs_blob_walk,
        .blob_usage = fs_blob_usage,
        .repo_exists = fs_repo_exists,
        .repo_list = fs_repo_list,
        .layer_link = fsd_layer_link,
        .layer_exists = fs_layer_exists,
        .layer_use = fs_layer_use,
        .holder_walk = fs_holder_walk,
        .holder_exists = fs_holder_exists,
        .holder_add = fs_holder_add,
        .holder_remove = fs_holder_remove,
        .layer_unlink = fs_layer_unlink,
        .layer_walk = fs_layer_walk,
        .manifest_put = fs_manifest_put,
        .manifest_get = fs_manifest_get,
        .manifest_delete = fs_manifest_delete,
        .manifest_walk = fs_manifest_walk,
        .tag_put = fs_tag_put,
        .tag_get = fs_tag_get,
        .tag_delete = fs_tag_delete,
        .tag_list = fs_tag_list,
        .tags_of = fs_tags_of,
        .referrer_add = fs_referrer_add,
        .referrer_remove = fs_referrer_remove,
        .referrer_list = fs_referrer_list,
        .upload_create = fsd_upload_create,
        .upload_status = fsd_upload_status,
        .upload_writer = fsd_upload_writer,
        .upload_commit = fsd_upload_commit,
        .upload_delete = fsd_upload_delete,
        .upload_walk = fsd_upload_walk,
        .free = fs_free,
};

/* The kernel's id of this boot (a random UUID), or "" when unreadable. */
static void
read_boot_id(char *buf, size_t len)
{
        _cleanup_free_ char *text = NULL;
        size_t n = 0;

        buf[0] = '\0';
        if (fs_read_file("/proc/sys/kernel/random/boot_id", 64, &text, &n, NULL) < 0)
                return;
        text[strcspn(text, "\n")] = '\0';
        if (strlen(text) >= 32 && strlen(text) < len && strspn(text, "0123456789abcdef-") == strlen(text))
                snprintf(buf, len, "%s", text);
}

struct reg_store *
reg_store_fs_new(const char *root, struct err **err)
{
        struct fs_store *fs;
        _cleanup_free_ char *blobs = xasprintf("%s/blobs", root);
        _cleanup_free_ char *repos = xasprintf("%s/repos", root);
        char *abs;

        if (fs_mkdir_p(blobs, 0755, err) < 0 || fs_mkdir_p(repos, 0755, err) < 0) {
                err_prefix(err, "registry root %s", root);
                return NULL;
        }
        abs = realpath(root, NULL);
        if (!abs) {
                err_set(err, errno, "registry root %s: %s", root, strerror(errno));
                return NULL;
        }
        fs = xcalloc(1, sizeof(*fs));
        fs->base.ops = &fs_ops;
        fs->root = abs;
        read_boot_id(fs->boot_id, sizeof(fs->boot_id));
        return &fs->base;
}
