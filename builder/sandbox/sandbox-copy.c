/* The copy snapshotter: the fallback when native overlayfs is unavailable.
 *
 * Before the step the lower dirs are merged (bottom-up, honouring overlay
 * whiteouts and opaque dirs) into a plain directory that becomes the root;
 * afterwards that tree is compared with the merged lowers and every
 * difference is written to the upper dir in overlay form (changed entries
 * copied, deleted ones as char 0/0 whiteouts), so the rest of the builder
 * cannot tell the difference.  It walks and copies whole trees: slow, and
 * it only notices a changed file through its metadata (type, mode, owner,
 * size, mtime, link target, xattrs), as buildah's vfs driver does.
 *
 * Both passes run in a user-namespace helper with the build's mapping, after
 * every process of the step has exited, so nothing changes under the walk;
 * entries are never followed through symlinks (lstat, O_NOFOLLOW). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"

#define XATTR_LIST_MAX_LOCAL (64 * 1024)

/* Inodes already copied, so a second name becomes a hard link again. */
struct links {
        size_t n, cap;
        struct {
                dev_t dev;
                ino_t ino;
                char *path;
        } *v;
};

static const char *
links_find(struct links *lk, const struct stat *st)
{
        for (size_t i = 0; lk && i < lk->n; i++)
                if (lk->v[i].dev == st->st_dev && lk->v[i].ino == st->st_ino)
                        return lk->v[i].path;
        return NULL;
}

static void
links_add(struct links *lk, const struct stat *st, const char *path)
{
        if (!lk || st->st_nlink < 2)
                return;
        if (lk->n == lk->cap) {
                lk->cap = lk->cap ? lk->cap * 2 : 64;
                lk->v = xrealloc(lk->v, lk->cap * sizeof(lk->v[0]));
        }
        lk->v[lk->n].dev = st->st_dev;
        lk->v[lk->n].ino = st->st_ino;
        lk->v[lk->n].path = xstrdup(path);
        lk->n++;
}

static void
links_free(struct links *lk)
{
        for (size_t i = 0; i < lk->n; i++)
                free(lk->v[i].path);
        free(lk->v);
}

static bool
is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == (dev_t) makedev(0, 0);
}

static bool
is_opaque(const char *path)
{
        char v[4];
        ssize_t n = lgetxattr(path, "user.overlay.opaque", v, sizeof(v));

        if (n < 0)
                n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v));
        return n == 1 && v[0] == 'y';
}

static bool
overlay_xattr(const char *name)
{
        return strncmp(name, "user.overlay.", 13) == 0 || strncmp(name, "trusted.overlay.", 16) == 0;
}

/* Call FN for each xattr of PATH (not followed) except overlayfs' own;
 * names that cannot be read are skipped. */
static void
each_xattr(const char *path, void (*fn)(const char *name, const char *val, size_t len, void *arg), void *arg)
{
        char list[XATTR_LIST_MAX_LOCAL];
        ssize_t n = llistxattr(path, list, sizeof(list));

        for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t) strlen(list + off) + 1) {
                const char *name = list + off;
                char val[XATTR_LIST_MAX_LOCAL];
                ssize_t vl;

                if (overlay_xattr(name))
                        continue;
                vl = lgetxattr(path, name, val, sizeof(val));
                if (vl >= 0)
                        fn(name, val, (size_t) vl, arg);
        }
}

static void
set_xattr(const char *name, const char *val, size_t len, void *dst)
{
        lsetxattr(dst, name, val, len, 0);
}

/* Copy the xattrs of SRC to DST (both paths, not followed), except
 * overlayfs' own; unsupported or refused names are skipped. */
static void
copy_xattrs(const char *src, const char *dst)
{
        each_xattr(src, set_xattr, (void *) dst);
}

struct blob {
        char *data;
        size_t len;
};

static void
blob_add(const char *name, const char *val, size_t len, void *arg)
{
        struct blob *b = arg;
        size_t nl = strlen(name) + 1;

        b->data = xrealloc(b->data, b->len + nl + len + 1);
        memcpy(b->data + b->len, name, nl);
        memcpy(b->data + b->len + nl, val, len);
        b->len += nl + len;
}

/* All xattrs of PATH except overlay ones, as one comparable blob. */
static char *
xattr_blob(const char *path, size_t *ret_len)
{
        struct blob b = {.data = xmalloc(1)};

        each_xattr(path, blob_add, &b);
        *ret_len = b.len;
        return b.data;
}

static int
copy_file_data(const char *src, const char *dst, mode_t mode, struct err **err)
{
        _cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int out = -1;
        char buf[65536];

        if (in < 0)
                return err_set(err, errno, "open %s: %s", src, strerror(errno));
        out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
        if (out < 0)
                return err_set(err, errno, "create %s: %s", dst, strerror(errno));
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
                        return err_set(err, errno, "copy %s: %s", src, strerror(errno));
                break;
        }
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(err, errno, "read %s: %s", src, strerror(errno));
                if (n == 0)
                        return 0;
                if (fs_write_all(out, buf, (size_t) n, err) < 0)
                        return err_prefix(err, "%s", dst);
        }
}

/* Owner, mode (after chown, which clears setuid), xattrs and times. */
static void
copy_meta(const char *src, const char *dst, const struct stat *st)
{
        struct timespec ts[2] = {st->st_atim, st->st_mtim};

        lchown(dst, st->st_uid, st->st_gid);
        if (!S_ISLNK(st->st_mode))
                chmod(dst, st->st_mode & 07777);
        copy_xattrs(src, dst);
        utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
}

/* Copy one non-directory entry. */
static int
copy_leaf(const char *src, const char *dst, const struct stat *st, struct links *lk, struct err **err)
{
        const char *first = S_ISDIR(st->st_mode) ? NULL : links_find(lk, st);
        int r = 0;

        if (first) {
                if (link(first, dst) == 0)
                        return 0;
                /* the first copy was replaced meanwhile: copy again */
        }
        if (S_ISREG(st->st_mode)) {
                r = copy_file_data(src, dst, st->st_mode, err);
        } else if (S_ISLNK(st->st_mode)) {
                char target[LIMIT_PATH];
                ssize_t n = readlink(src, target, sizeof(target) - 1);
                if (n < 0)
                        return err_set(err, errno, "readlink %s: %s", src, strerror(errno));
                target[n] = '\0';
                if (symlink(target, dst) < 0)
                        r = err_set(err, errno, "symlink %s: %s", dst, strerror(errno));
        } else if (S_ISFIFO(st->st_mode)) {
                if (mkfifo(dst, st->st_mode & 0777) < 0)
                        r = err_set(err, errno, "mkfifo %s: %s", dst, strerror(errno));
        } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                /* Unprivileged namespaces cannot make device nodes other than
                 * whiteouts: skip them, as the unpacker does. */
                if (mknod(dst, st->st_mode, st->st_rdev) < 0 && errno != EPERM)
                        r = err_set(err, errno, "mknod %s: %s", dst, strerror(errno));
                if (r == 0 && access(dst, F_OK) != 0)
                        return 0;
        } else {
                return 0; /* sockets */
        }
        if (r == 0) {
                copy_meta(src, dst, st);
                links_add(lk, st, dst);
        }
        return r;
}

static int copy_tree(const char *src, const char *dst, struct links *lk, struct err **err);

/* Apply lower dir SRC (overlay form) onto DST: whiteouts delete, opaque dirs
 * replace, everything else is copied over. */
static int
apply_layer(const char *src, const char *dst, struct links *lk, struct err **err)
{
        _cleanup_closedir_ DIR *d = opendir(src);
        struct dirent *de;
        int r;

        if (!d)
                return err_set(err, errno, "opendir %s: %s", src, strerror(errno));
        while ((de = readdir(d))) {
                _cleanup_free_ char *s = NULL, *t = NULL;
                struct stat st, dt;
                bool have;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                s = xasprintf("%s/%s", src, de->d_name);
                t = xasprintf("%s/%s", dst, de->d_name);
                if (lstat(s, &st) < 0)
                        return err_set(err, errno, "stat %s: %s", s, strerror(errno));
                have = lstat(t, &dt) == 0;
                if (is_whiteout(&st)) {
                        if (have && (r = fs_rm_rf(t, err)) < 0)
                                return r;
                        continue;
                }
                if (S_ISDIR(st.st_mode) && have && S_ISDIR(dt.st_mode) && !is_opaque(s)) {
                        r = apply_layer(s, t, lk, err);
                        if (r < 0)
                                return r;
                        copy_meta(s, t, &st);
                        continue;
                }
                if (have && (r = fs_rm_rf(t, err)) < 0)
                        return r;
                r = copy_tree(s, t, lk, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Copy SRC (any type) to the new path DST, dirs recursively; whiteouts
 * inside are dropped (nothing below them to hide). */
static int
copy_tree(const char *src, const char *dst, struct links *lk, struct err **err)
{
        struct stat st;
        int r;

        if (lstat(src, &st) < 0)
                return err_set(err, errno, "stat %s: %s", src, strerror(errno));
        if (is_whiteout(&st))
                return 0;
        if (!S_ISDIR(st.st_mode))
                return copy_leaf(src, dst, &st, lk, err);
        if (mkdir(dst, 0700) < 0)
                return err_set(err, errno, "mkdir %s: %s", dst, strerror(errno));
        r = apply_layer(src, dst, lk, err);
        if (r < 0)
                return r;
        copy_meta(src, dst, &st);
        return 0;
}

int
sandbox_copy_populate(const struct build_sandbox_config *cfg, const char *dest, struct err **err)
{
        struct links lk = {0};
        int r = 0;

        for (size_t i = cfg->n_lowers; i > 0 && r == 0; i--) {
                /* Hard links only ever join names within one layer. */
                links_free(&lk);
                memset(&lk, 0, sizeof(lk));
                r = apply_layer(cfg->lowers[i - 1], dest, &lk, err);
                if (r < 0)
                        err_prefix(err, "copying lower dir %s", cfg->lowers[i - 1]);
        }
        links_free(&lk);
        return r;
}

/* ---- diff ------------------------------------------------------------- */

struct diff {
        struct links lk;
        const struct build_sandbox_config *cfg;
        const char *root;
        char *const *ignore; /* mount points the sandbox created */
        size_t n_ignore;
};

/* REL in the merged lowers: 1 with *st and *ret_path (caller frees) when
 * it exists, 0 when absent (never there, whited out, or hidden by an
 * opaque dir or a non-dir above). */
static int
lower_lookup(struct diff *df, const char *rel, struct stat *st, char **ret_path)
{
        const struct build_sandbox_config *cfg = df->cfg;

        for (size_t i = 0; i < cfg->n_lowers; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", cfg->lowers[i], rel);
                _cleanup_free_ char *anc = xstrdup(rel);
                bool hidden_below = false;

                if (lstat(p, st) == 0) {
                        if (is_whiteout(st))
                                return 0;
                        *ret_path = steal_ptr(&p);
                        return 1;
                }
                /* An opaque or non-dir ancestor in this layer hides the
                 * layers below it. */
                for (char *slash = strrchr(anc, '/'); slash; slash = strrchr(anc, '/')) {
                        struct stat ast;
                        _cleanup_free_ char *ap = NULL;

                        *slash = '\0';
                        ap = xasprintf("%s/%s", cfg->lowers[i], anc);
                        if (lstat(ap, &ast) == 0 && (!S_ISDIR(ast.st_mode) || is_opaque(ap))) {
                                hidden_below = true;
                                break;
                        }
                }
                if (hidden_below)
                        return 0;
        }
        return 0;
}

/* Names in merged lower dir REL (NUL-separated in *ret_names). */
static void
lower_names(struct diff *df, const char *rel, char **ret_names, size_t *ret_len)
{
        char *names = xmalloc(1);
        size_t len = 0;

        for (size_t i = 0; i < df->cfg->n_lowers; i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", df->cfg->lowers[i], rel);
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;
                struct stat st;

                if (lstat(p, &st) < 0)
                        continue;
                if (!S_ISDIR(st.st_mode))
                        break;
                d = opendir(p);
                while (d && (de = readdir(d))) {
                        bool seen = false;

                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        for (size_t off = 0; off < len && !seen; off += strlen(names + off) + 1)
                                seen = strcmp(names + off, de->d_name) == 0;
                        if (!seen) {
                                names = xrealloc(names, len + strlen(de->d_name) + 1);
                                memcpy(names + len, de->d_name, strlen(de->d_name) + 1);
                                len += strlen(de->d_name) + 1;
                        }
                }
                if (is_opaque(p))
                        break;
        }
        *ret_names = names;
        *ret_len = len;
}

static bool
same_entry(const char *a, const struct stat *sa, const char *b, const struct stat *sb)
{
        size_t la, lb;
        _cleanup_free_ char *xa = NULL, *xb = NULL;

        if ((sa->st_mode & S_IFMT) != (sb->st_mode & S_IFMT) || sa->st_mode != sb->st_mode ||
            sa->st_uid != sb->st_uid || sa->st_gid != sb->st_gid)
                return false;
        if (!S_ISDIR(sa->st_mode) &&
            (sa->st_size != sb->st_size || sa->st_mtim.tv_sec != sb->st_mtim.tv_sec ||
             sa->st_mtim.tv_nsec != sb->st_mtim.tv_nsec))
                return false;
        if ((S_ISCHR(sa->st_mode) || S_ISBLK(sa->st_mode)) && sa->st_rdev != sb->st_rdev)
                return false;
        if (S_ISLNK(sa->st_mode)) {
                char ta[LIMIT_PATH], tb[LIMIT_PATH];
                ssize_t na = readlink(a, ta, sizeof(ta)), nb = readlink(b, tb, sizeof(tb));
                if (na != nb || na < 0 || memcmp(ta, tb, (size_t) na) != 0)
                        return false;
        }
        xa = xattr_blob(a, &la);
        xb = xattr_blob(b, &lb);
        return la == lb && memcmp(xa, xb, la) == 0;
}

/* Make sure upper/REL's parent dirs exist, copying the metadata of the
 * same dirs in the step's tree. */
static int
upper_parents(struct diff *df, const char *rel, struct err **err)
{
        _cleanup_free_ char *p = xstrdup(rel);

        for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
                _cleanup_free_ char *u = NULL, *src = NULL;
                struct stat st;

                *s = '\0';
                u = xasprintf("%s/%s", df->cfg->upper, p);
                if (lstat(u, &st) != 0) {
                        src = xasprintf("%s/%s", df->root, p);
                        if (lstat(src, &st) < 0 || mkdir(u, 0700) < 0) {
                                *s = '/';
                                return err_set(err, errno, "mkdir %s: %s", u, strerror(errno));
                        }
                        copy_meta(src, u, &st);
                }
                *s = '/';
        }
        return 0;
}

/* REL is a mount point (EXACT) or also a parent dir of one. */
static bool
ignored(struct diff *df, const char *rel, bool exact)
{
        size_t n = strlen(rel);

        for (size_t i = 0; i < df->n_ignore; i++) {
                const char *m = df->ignore[i] + strspn(df->ignore[i], "/");
                if (strncmp(m, rel, n) == 0 && (m[n] == '\0' || (!exact && m[n] == '/')))
                        return true;
        }
        return false;
}

static int
diff_dir(struct diff *df, const char *rel, struct err **err)
{
        _cleanup_free_ char *dir = *rel ? xasprintf("%s/%s", df->root, rel) : xstrdup(df->root);
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ char *names = NULL;
        size_t nlen;
        struct dirent *de;
        int r;

        if (!d)
                return err_set(err, errno, "opendir %s: %s", dir, strerror(errno));
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL, *cur = NULL, *low = NULL, *up = NULL;
                struct stat cs, ls;
                int found;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                cur = xasprintf("%s/%s", df->root, sub);
                up = xasprintf("%s/%s", df->cfg->upper, sub);
                if (lstat(cur, &cs) < 0)
                        return err_set(err, errno, "stat %s: %s", cur, strerror(errno));
                found = lower_lookup(df, sub, &ls, &low);
                /* The sandbox's own mount points: empty placeholder files and
                 * dirs it created.  A created dir may still hold what the
                 * step wrote next to a mount, so look inside without adding
                 * the dir itself. */
                if (ignored(df, sub, false) && !found && S_ISDIR(cs.st_mode)) {
                        r = diff_dir(df, sub, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (ignored(df, sub, true) && S_ISREG(cs.st_mode) && cs.st_size == 0 &&
                    (!found || !S_ISDIR(ls.st_mode)))
                        continue;
                if (found && S_ISDIR(cs.st_mode) && S_ISDIR(ls.st_mode)) {
                        if (!same_entry(cur, &cs, low, &ls)) {
                                r = upper_parents(df, sub, err);
                                if (r == 0 && mkdir(up, 0700) < 0 && errno != EEXIST)
                                        r = err_set(err, errno, "mkdir %s: %s", up, strerror(errno));
                                if (r < 0)
                                        return r;
                                copy_meta(cur, up, &cs);
                        }
                        r = diff_dir(df, sub, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (found && same_entry(cur, &cs, low, &ls))
                        continue;
                r = upper_parents(df, sub, err);
                if (r == 0)
                        r = copy_tree(cur, up, &df->lk, err);
                if (r < 0)
                        return r;
        }
        /* Deleted: in the lowers, not in the step's tree. */
        lower_names(df, rel, &names, &nlen);
        for (size_t off = 0; off < nlen; off += strlen(names + off) + 1) {
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, names + off) : xstrdup(names + off);
                _cleanup_free_ char *cur = xasprintf("%s/%s", df->root, sub);
                _cleanup_free_ char *low = NULL, *up = NULL;
                struct stat st;

                if (lstat(cur, &st) == 0 || lower_lookup(df, sub, &st, &low) == 0)
                        continue;
                up = xasprintf("%s/%s", df->cfg->upper, sub);
                r = upper_parents(df, sub, err);
                if (r < 0)
                        return r;
                if (mknod(up, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
                        return err_set(err, errno, "whiteout %s: %s", up, strerror(errno));
        }
        return 0;
}

int
sandbox_copy_diff(const struct build_sandbox_config *cfg, const char *root, char *const *ignore, size_t n_ignore,
                  struct err **err)
{
        struct diff df = {.cfg = cfg, .root = root, .ignore = ignore, .n_ignore = n_ignore};
        int r = diff_dir(&df, "", err);

        links_free(&df.lk);
        return r < 0 ? err_prefix(err, "comparing %s with its lower dirs", root) : 0;
}
