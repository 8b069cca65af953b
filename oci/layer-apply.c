/* Layer apply: fd → (detect gzip/zstd/tar) → decompress → sha256 (diffID)
 * → libarchive tar reader → entries created inside the target with *at()
 * calls only, parents resolved beneath the target root. */
#include "oci/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/sort.h"
#include "common/limits.h"
#include "oci/layer-internal.h"

#define INBUF_SIZE (256 * 1024)
#define OUTBUF_SIZE (256 * 1024)
/* Symlinks followed while resolving one parent (the kernel's limit). */
#define MAX_SYMLINKS 40
/* Warnings kept in the result; more are counted in one last warning. */
#define MAX_WARNINGS_KEPT 1000
/* Recursion of rm -rf and opaque clearing. */
#define RM_MAX_DEPTH 1024

/* ---- Input: fd → decompressor → tar bytes, hashing both sides ---- */

struct source {
        int fd;
        enum oci_layer_compression comp;
        unsigned char *in;
        size_t in_pos, in_len;
        bool in_eof;
        unsigned char *out;
        z_stream z;
        bool z_init;
        bool z_end; /* the last gzip member ended */
        ZSTD_DCtx *zd;
        size_t zret; /* last ZSTD_decompressStream result: 0 at a frame end */
        struct digest_ctx *blob_hash;
        struct digest_ctx *tar_hash;
        uint64_t blob_size, tar_size;
        struct err *err;
};

static int
source_fill(struct source *s)
{
        ssize_t n;

        if (s->in_pos < s->in_len || s->in_eof)
                return 0;
        do
                n = read(s->fd, s->in, INBUF_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return err_set(&s->err, errno, "reading layer: %s", strerror(errno));
        s->in_pos = 0;
        s->in_len = (size_t) n;
        if (n == 0)
                s->in_eof = true;
        digest_ctx_update(s->blob_hash, s->in, (size_t) n);
        s->blob_size += (uint64_t) n;
        return 0;
}

/* Produce the next decompressed bytes into s->out: returns the count, 0 at
 * the end of the stream, < 0 on error (s->err set). */
static ssize_t
source_next(struct source *s)
{
        for (;;) {
                if (source_fill(s) < 0)
                        return -1;
                switch (s->comp) {
                case OCI_LAYER_UNCOMPRESSED: {
                        size_t n = s->in_len - s->in_pos;

                        if (n == 0)
                                return 0;
                        memcpy(s->out, s->in + s->in_pos, n);
                        s->in_pos = s->in_len;
                        return (ssize_t) n;
                }
                case OCI_LAYER_GZIP: {
                        int zr;
                        size_t produced;

                        if (s->in_pos == s->in_len) {
                                if (!s->z_end)
                                        return err_set(&s->err, EINVAL, "layer: gzip stream is truncated");
                                return 0;
                        }
                        if (s->z_end) {
                                /* RFC 1952: a gzip file is a series of members. */
                                inflateReset(&s->z);
                                s->z_end = false;
                        }
                        s->z.next_in = s->in + s->in_pos;
                        s->z.avail_in = (uInt) (s->in_len - s->in_pos);
                        s->z.next_out = s->out;
                        s->z.avail_out = OUTBUF_SIZE;
                        zr = inflate(&s->z, Z_NO_FLUSH);
                        s->in_pos = s->in_len - s->z.avail_in;
                        if (zr == Z_STREAM_END)
                                s->z_end = true;
                        else if (zr != Z_OK && zr != Z_BUF_ERROR)
                                return err_set(&s->err, EINVAL, "layer: gzip data is corrupt (%s)",
                                               s->z.msg ? s->z.msg : "inflate failed");
                        produced = OUTBUF_SIZE - s->z.avail_out;
                        if (produced > 0)
                                return (ssize_t) produced;
                        continue;
                }
                case OCI_LAYER_ZSTD: {
                        ZSTD_inBuffer in = { s->in + s->in_pos, s->in_len - s->in_pos, 0 };
                        ZSTD_outBuffer out = { s->out, OUTBUF_SIZE, 0 };

                        if (in.size == 0) {
                                if (s->zret != 0)
                                        return err_set(&s->err, EINVAL, "layer: zstd stream is truncated");
                                return 0;
                        }
                        s->zret = ZSTD_decompressStream(s->zd, &out, &in);
                        s->in_pos += in.pos;
                        if (ZSTD_isError(s->zret))
                                return err_set(&s->err, EINVAL, "layer: zstd data is corrupt (%s)",
                                               ZSTD_getErrorName(s->zret));
                        if (out.pos > 0)
                                return (ssize_t) out.pos;
                        continue;
                }
                }
                return err_set(&s->err, EINVAL, "bad compression");
        }
}

static la_ssize_t
archive_read_cb(struct archive *a, void *userdata, const void **buf)
{
        struct source *s = userdata;
        ssize_t n = source_next(s);

        if (n < 0) {
                archive_set_error(a, EIO, "%s", err_msg(&s->err));
                return -1;
        }
        digest_ctx_update(s->tar_hash, s->out, (size_t) n);
        s->tar_size += (uint64_t) n;
        *buf = s->out;
        return n;
}

static int
source_open(struct source *s, int fd, struct err **err)
{
        memset(s, 0, sizeof(*s));
        s->fd = fd;
        s->in = xmalloc(INBUF_SIZE);
        s->out = xmalloc(OUTBUF_SIZE);
        s->blob_hash = digest_ctx_new(DIGEST_SHA256);
        s->tar_hash = digest_ctx_new(DIGEST_SHA256);
        /* Detect the compression from the magic, reading until 4 bytes or
         * the end; the bytes stay in the buffer for the decompressor. */
        while (s->in_len < 4 && !s->in_eof) {
                ssize_t n = read(fd, s->in + s->in_len, INBUF_SIZE - s->in_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(err, errno, "reading layer: %s", strerror(errno));
                if (n == 0)
                        s->in_eof = true;
                digest_ctx_update(s->blob_hash, s->in + s->in_len, (size_t) n);
                s->in_len += (size_t) n;
                s->blob_size += (uint64_t) n;
        }
        if (s->in_len == 0)
                return err_set(err, EINVAL, "layer is empty (0 bytes): not a tar archive");
        s->comp = oci_layer_detect_compression(s->in, s->in_len);
        if (s->comp == OCI_LAYER_GZIP) {
                if (inflateInit2(&s->z, 15 + 16) != Z_OK)
                        return err_set(err, ENOMEM, "inflateInit2 failed");
                s->z_init = true;
        } else if (s->comp == OCI_LAYER_ZSTD) {
                s->zd = ZSTD_createDCtx();
                if (!s->zd)
                        return err_set(err, ENOMEM, "ZSTD_createDCtx failed");
                /* Cap the window (zstd's default 2^27): a frame asking for
                 * more is refused instead of allocating it. */
                ZSTD_DCtx_setParameter(s->zd, ZSTD_d_windowLogMax, 27);
        }
        return 0;
}

static void
source_close(struct source *s)
{
        if (s->z_init)
                inflateEnd(&s->z);
        ZSTD_freeDCtx(s->zd);
        digest_ctx_free(s->blob_hash);
        digest_ctx_free(s->tar_hash);
        free(s->in);
        free(s->out);
        err_clear(&s->err);
}

/* ---- Apply state ---- */

struct dir_fixup {
        char *path; /* cleaned path */
        mode_t perm;
        struct timespec mtime;
};

struct applier {
        const struct oci_layer_apply_opts *opts;
        int root;
        bool use_openat2;
        bool chown_ok; /* false after a tolerated chown failure */
        struct oci_layer_strset created; /* every path this layer created */
        struct dir_fixup *dirs;
        size_t ndirs, capdirs;
        struct oci_layer_warning *warnings;
        size_t nwarnings, capwarnings;
        uint64_t dropped_warnings;
        const char *entry; /* the entry name as in the archive, for messages */
};

static int
warn(struct applier *ap, const char *path, struct err **err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
warn(struct applier *ap, const char *path, struct err **err, const char *fmt, ...)
{
        va_list va;
        char *msg;

        va_start(va, fmt);
        if (vasprintf(&msg, fmt, va) < 0)
                abort();
        va_end(va);
        if (ap->opts->max_warnings && ap->nwarnings + ap->dropped_warnings + 1 > ap->opts->max_warnings) {
                int r = err_set(err, EPERM, "%s: %s (too many warnings)", path, msg);
                free(msg);
                return r;
        }
        if (ap->nwarnings >= MAX_WARNINGS_KEPT) {
                ap->dropped_warnings++;
                free(msg);
                return 0;
        }
        if (ap->nwarnings == ap->capwarnings) {
                ap->capwarnings = ap->capwarnings ? ap->capwarnings * 2 : 16;
                ap->warnings = xrealloc(ap->warnings, ap->capwarnings * sizeof(*ap->warnings));
        }
        ap->warnings[ap->nwarnings++] = (struct oci_layer_warning){ xstrdup(path), msg };
        return 0;
}

/* Clean an archive path lexically into "a/b/c" (no leading "/", no "."
 * or empty components, ".." folded).  Absolute paths and a ".." that
 * climbs above the root are ERR_UNSAFE_PATH.  *ret may be "" (the root). */
static int
clean_path(const char *what, const char *p, char **ret, struct err **err)
{
        size_t len = strlen(p);
        _cleanup_free_ char *out = NULL;
        size_t o = 0;

        if (len == 0)
                return err_set(err, EINVAL, "%s: empty path", what);
        if (len >= LIMIT_PATH)
                return err_set(err, ENAMETOOLONG, "%s '%.64s...': path longer than %d bytes", what, p, LIMIT_PATH);
        if (p[0] == '/')
                return err_set(err, ERR_UNSAFE_PATH, "%s '%s': absolute path", what, p);
        out = xmalloc(len + 1);
        for (const char *c = p; *c;) {
                const char *end = strchrnul(c, '/');
                size_t n = (size_t) (end - c);

                if (n == 2 && c[0] == '.' && c[1] == '.') {
                        if (o == 0)
                                return err_set(err, ERR_UNSAFE_PATH, "%s '%s': '..' leads outside the root", what,
                                               p);
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--; /* the slash */
                } else if (n > 0 && !(n == 1 && c[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, c, n);
                        o += n;
                }
                c = *end ? end + 1 : end;
        }
        out[o] = 0;
        *ret = steal_ptr(&out);
        return 0;
}

/* Resolve directory PATH ("" = root) beneath ap->root without creating
 * anything: returns an O_PATH fd, or -errno (EXDEV: it would leave the
 * root through an absolute symlink or "..").  Symlinks inside PATH are
 * followed as long as they stay beneath the root (RESOLVE_BENEATH). */
static int
lookup_kernel(struct applier *ap, const char *path)
{
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_MAGICLINKS |
                           (ap->opts->symlinks_in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
        };
        long fd;

        for (int tries = 0; tries < 16; tries++) {
                fd = syscall(SYS_openat2, ap->root, *path ? path : ".", &how, sizeof(how));
                if (fd >= 0)
                        return (int) fd;
                if (errno != EAGAIN)
                        break;
        }
        return -errno;
}

/* The same walk in userspace, for kernels without openat2 (< 5.6) or where
 * seccomp forbids it: one component at a time with O_NOFOLLOW, symlinks
 * expanded by hand, ".." popping a stack of directory fds.  At the root a
 * ".." and an absolute symlink are refused (BENEATH) or restart from the
 * root (IN_ROOT). */
static int
lookup_user(struct applier *ap, const char *path)
{
        _cleanup_free_ char *rest = xstrdup(path);
        int stack[LIMIT_PATH / 2 + MAX_SYMLINKS + 2];
        size_t depth = 0;
        int links = 0, r = 0;
        char *p = rest;

        stack[0] = fcntl(ap->root, F_DUPFD_CLOEXEC, 3);
        if (stack[0] < 0)
                return -errno;
        while (*p) {
                char *end = strchrnul(p, '/');
                char save = *end;
                struct stat st;

                *end = 0;
                if (*p == 0 || strcmp(p, ".") == 0) {
                        /* nothing */
                } else if (strcmp(p, "..") == 0) {
                        if (depth == 0) {
                                if (ap->opts->symlinks_in_root)
                                        goto next; /* "/.." is "/" */
                                r = -EXDEV;
                                break;
                        }
                        close(stack[depth--]);
                } else if (fstatat(stack[depth], p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                } else if (S_ISLNK(st.st_mode)) {
                        char target[LIMIT_PATH];
                        ssize_t n;
                        char *nrest;

                        if (++links > MAX_SYMLINKS) {
                                r = -ELOOP;
                                break;
                        }
                        n = readlinkat(stack[depth], p, target, sizeof(target) - 1);
                        if (n < 0) {
                                r = -errno;
                                break;
                        }
                        target[n] = 0;
                        if (target[0] == '/') {
                                if (!ap->opts->symlinks_in_root) {
                                        r = -EXDEV; /* RESOLVE_BENEATH refuses absolute symlinks */
                                        break;
                                }
                                /* IN_ROOT: an absolute target starts again at the root. */
                                while (depth > 0)
                                        close(stack[depth--]);
                        }
                        if ((size_t) n + strlen(save ? end + 1 : "") + 2 > LIMIT_PATH) {
                                r = -ENAMETOOLONG;
                                break;
                        }
                        nrest = xasprintf("%s/%s", target, save ? end + 1 : "");
                        free(rest);
                        rest = nrest;
                        p = rest;
                        continue;
                } else if (!S_ISDIR(st.st_mode)) {
                        r = -ENOTDIR;
                        break;
                } else {
                        int fd = openat(stack[depth], p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (fd < 0) {
                                r = -errno;
                                break;
                        }
                        if (depth + 1 >= sizeof(stack) / sizeof(stack[0])) {
                                close(fd);
                                r = -ENAMETOOLONG;
                                break;
                        }
                        stack[++depth] = fd;
                }
        next:
                p = save ? end + 1 : end;
        }
        if (r < 0) {
                for (size_t i = 0; i <= depth; i++)
                        close(stack[i]);
                return r;
        }
        for (size_t i = 0; i < depth; i++)
                close(stack[i]);
        return stack[depth];
}

static int
lookup_dir(struct applier *ap, const char *path)
{
        if (ap->use_openat2) {
                int fd = lookup_kernel(ap, path);

                if (fd != -ENOSYS && fd != -EPERM)
                        return fd;
                ap->use_openat2 = false; /* no openat2 here: fall back for good */
        }
        return lookup_user(ap, path);
}

static int
lookup_failed(struct applier *ap, const char *dir, int r, struct err **err)
{
        if (r == -EXDEV || r == -ELOOP)
                return err_set(err, ERR_UNSAFE_PATH, "entry '%s': '%s' resolves outside the target (through a symlink)",
                               ap->entry, dir);
        return err_set(err, -r, "entry '%s': parent '%s': %s", ap->entry, dir, strerror(-r));
}

/* Resolve (and with CREATE make, 0755) directory PATH inside the root;
 * *ret_fd is an O_PATH fd.  Created directories are recorded as this
 * layer's.  Without CREATE a missing directory gives *ret_fd = -1. */
static int
resolve_dir(struct applier *ap, const char *path, bool create, int *ret_fd, struct err **err)
{
        _cleanup_free_ char *prefix = NULL;
        _cleanup_close_ int cur = -1;
        int fd = lookup_dir(ap, path);
        const char *p;

        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (fd != -ENOENT)
                return lookup_failed(ap, path, fd, err);
        if (!create) {
                *ret_fd = -1;
                return 0;
        }
        /* Find the missing component, then create it and the rest. */
        prefix = xmalloc(strlen(path) + 1);
        cur = lookup_dir(ap, "");
        if (cur < 0)
                return lookup_failed(ap, ".", cur, err);
        for (p = path; *p;) {
                const char *end = strchrnul(p, '/');
                size_t plen = (size_t) (end - path);
                _cleanup_free_ char *name = xstrndup(p, (size_t) (end - p));

                memcpy(prefix, path, plen);
                prefix[plen] = 0;
                fd = lookup_dir(ap, prefix);
                if (fd == -ENOENT) {
                        if (mkdirat(cur, name, 0755) < 0) {
                                /* EEXIST here: a dangling symlink or a file. */
                                return err_set(err, errno == EEXIST ? ENOTDIR : errno,
                                               "entry '%s': cannot create directory '%s': %s", ap->entry, prefix,
                                               errno == EEXIST ? "a non-directory is in the way" : strerror(errno));
                        }
                        oci_layer_strset_add(&ap->created, prefix);
                        fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return err_set(err, errno, "entry '%s': open '%s': %s", ap->entry, prefix,
                                               strerror(errno));
                } else if (fd < 0)
                        return lookup_failed(ap, prefix, fd, err);
                close(cur);
                cur = fd;
                p = *end ? end + 1 : end;
        }
        *ret_fd = steal_fd(&cur);
        return 0;
}

/* rm -rf NAME (archive path PATH) in directory DFD without following any
 * symlink; ENOENT is success.  KEEP_SELF (opaque whiteouts): NAME itself
 * stays, its children that this layer created stay (directories among them
 * are cleared the same way), everything else in it goes. */
static int
remove_tree(struct applier *ap, int dfd, const char *name, const char *path, bool keep_self, int depth,
            struct err **err)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct stat st;
        struct dirent *de;
        int fd;

        if (depth > RM_MAX_DEPTH)
                return err_set(err, ELOOP, "entry '%s': '%s' nested too deep to remove", ap->entry, path);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return err_set(err, errno, "entry '%s': stat '%s': %s", ap->entry, path, strerror(errno));
        }
        if (!S_ISDIR(st.st_mode)) {
                if (keep_self)
                        return 0;
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return err_set(err, errno, "entry '%s': remove '%s': %s", ap->entry, path, strerror(errno));
                return 0;
        }
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "entry '%s': open '%s': %s", ap->entry, path, strerror(errno));
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return err_set(err, errno, "entry '%s': opendir '%s': %s", ap->entry, path, strerror(errno));
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *cpath = NULL;
                int r;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                cpath = *path ? xasprintf("%s/%s", path, de->d_name) : xstrdup(de->d_name);
                /* Clearing an opaque dir: this layer's own entries stay
                 * (and directories among them are cleared in turn). */
                r = remove_tree(ap, dirfd(d), de->d_name, cpath,
                                keep_self && oci_layer_strset_has(&ap->created, cpath), depth + 1, err);
                if (r < 0)
                        return r;
        }
        if (!keep_self && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return err_set(err, errno, "entry '%s': remove '%s': %s", ap->entry, path, strerror(errno));
        return 0;
}

/* ---- Metadata ---- */

static int
map_to_host(struct applier *ap, struct archive_entry *e, uid_t *ret_uid, gid_t *ret_gid, struct err **err)
{
        uint32_t uid, gid;
        la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);

        if (u < 0 || u > UINT32_MAX - 1 || g < 0 || g > UINT32_MAX - 1)
                return err_set(err, EINVAL, "entry '%s': owner %lld:%lld out of range", ap->entry, (long long) u,
                               (long long) g);
        if (oci_layer_map_id(ap->opts->idmap, false, false, (uint32_t) u, &uid) < 0)
                return err_set(err, EOVERFLOW, "entry '%s': uid %lld has no mapping on this host", ap->entry,
                               (long long) u);
        if (oci_layer_map_id(ap->opts->idmap, true, false, (uint32_t) g, &gid) < 0)
                return err_set(err, EOVERFLOW, "entry '%s': gid %lld has no mapping on this host", ap->entry,
                               (long long) g);
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

/* chown FD (or NAME in DFD without following, when FD < 0). */
static int
set_owner(struct applier *ap, struct archive_entry *e, int fd, int dfd, const char *name, struct err **err)
{
        uid_t uid = 0;
        gid_t gid = 0;
        int r;

        if (ap->opts->chown == OCI_LAYER_CHOWN_SKIP || !ap->chown_ok)
                return 0;
        r = map_to_host(ap, e, &uid, &gid, err);
        if (r < 0)
                return r;
        if (fd >= 0)
                r = fchown(fd, uid, gid);
        else
                r = fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
        if (r == 0)
                return 0;
        if (ap->opts->chown == OCI_LAYER_CHOWN_AUTO && (errno == EPERM || errno == EINVAL)) {
                /* Not root here (or the id is unmapped in our user namespace):
                 * one warning, then stop trying. */
                ap->chown_ok = false;
                return warn(ap, ap->entry, err, "ownership not applied from here on: chown %u:%u: %s", (unsigned) uid,
                            (unsigned) gid, strerror(errno));
        }
        return err_set(err, errno, "entry '%s': chown %u:%u: %s", ap->entry, (unsigned) uid, (unsigned) gid,
                       strerror(errno));
}

static int
set_xattrs(struct applier *ap, struct archive_entry *e, int fd, struct err **err)
{
        const char *name;
        const void *value;
        size_t size;

        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!name || !*name)
                        continue;
                /* A layer must not steer overlayfs (redirects, metacopy, opaque
                 * markers) in a lower dir built from it. */
                if (oci_layer_is_overlay_xattr(name)) {
                        int r = warn(ap, ap->entry, err, "xattr %s ignored (reserved for overlayfs)", name);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        int r;

                        if (errno != EPERM && errno != ENOTSUP && errno != EACCES && errno != EINVAL &&
                            errno != ERANGE && errno != E2BIG)
                                return err_set(err, errno, "entry '%s': setxattr %s: %s", ap->entry, name,
                                               strerror(errno));
                        r = warn(ap, ap->entry, err, "xattr %s not set: %s", name, strerror(errno));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static struct timespec
entry_mtime(struct archive_entry *e)
{
        struct timespec t = { 0, 0 };

        if (archive_entry_mtime_is_set(e)) {
                t.tv_sec = archive_entry_mtime(e);
                t.tv_nsec = archive_entry_mtime_nsec(e);
                if (t.tv_nsec < 0 || t.tv_nsec > 999999999)
                        t.tv_nsec = 0;
        }
        return t;
}

/* ---- Entries ---- */

static int
write_file_data(struct applier *ap, struct archive *a, int fd, struct err **err)
{
        const void *buf;
        size_t size;
        la_int64_t off;

        for (;;) {
                int r = archive_read_data_block(a, &buf, &size, &off);

                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return err_set(err, EINVAL, "entry '%s': reading data: %s", ap->entry, archive_error_string(a));
                for (size_t done = 0; done < size;) {
                        ssize_t n = pwrite(fd, (const char *) buf + done, size - done, off + (off_t) done);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return err_set(err, errno, "entry '%s': write: %s", ap->entry, strerror(errno));
                        }
                        done += (size_t) n;
                }
        }
        return 0;
}

static int
apply_regular(struct applier *ap, struct archive *a, struct archive_entry *e, int pfd, const char *name,
              struct err **err)
{
        _cleanup_close_ int fd = -1;
        struct timespec ts[2];
        int r;

        fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return err_set(err, errno, "entry '%s': create: %s", ap->entry, strerror(errno));
        r = write_file_data(ap, a, fd, err);
        if (r < 0)
                return r;
        if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
                return err_set(err, errno, "entry '%s': truncate: %s", ap->entry, strerror(errno));
        /* chown clears setuid/setgid and file capabilities: chown, then
         * chmod, then xattrs. */
        r = set_owner(ap, e, fd, -1, NULL, err);
        if (r < 0)
                return r;
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return err_set(err, errno, "entry '%s': chmod: %s", ap->entry, strerror(errno));
        r = set_xattrs(ap, e, fd, err);
        if (r < 0)
                return r;
        ts[0] = ts[1] = entry_mtime(e);
        if (futimens(fd, ts) < 0)
                return err_set(err, errno, "entry '%s': utimens: %s", ap->entry, strerror(errno));
        return 0;
}

static int
apply_dir(struct applier *ap, struct archive_entry *e, int pfd, const char *name, const char *path, bool exists,
          struct err **err)
{
        _cleanup_close_ int fd = -1;
        mode_t perm = archive_entry_perm(e) & 07777;
        int r;

        if (!exists && mkdirat(pfd, name, 0700) < 0)
                return err_set(err, errno, "entry '%s': mkdir: %s", ap->entry, strerror(errno));
        fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "entry '%s': open: %s", ap->entry, strerror(errno));
        r = set_owner(ap, e, fd, -1, NULL, err);
        if (r < 0)
                return r;
        /* Owner-writable until the end so the layer can fill it; the exact
         * mode and mtime are set once everything is in (dir_fixup). */
        if (fchmod(fd, perm | S_IRWXU) < 0)
                return err_set(err, errno, "entry '%s': chmod: %s", ap->entry, strerror(errno));
        r = set_xattrs(ap, e, fd, err);
        if (r < 0)
                return r;
        if (ap->ndirs == ap->capdirs) {
                ap->capdirs = ap->capdirs ? ap->capdirs * 2 : 64;
                ap->dirs = xrealloc(ap->dirs, ap->capdirs * sizeof(*ap->dirs));
        }
        ap->dirs[ap->ndirs++] = (struct dir_fixup){ xstrdup(path), perm, entry_mtime(e) };
        return 0;
}

static int
apply_special(struct applier *ap, struct archive_entry *e, int pfd, const char *name, struct err **err)
{
        mode_t type = archive_entry_filetype(e);
        mode_t perm = archive_entry_perm(e) & 07777;
        dev_t dev = 0;
        struct timespec ts[2];
        int r;

        if (type == AE_IFCHR || type == AE_IFBLK)
                dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (mknodat(pfd, name, (type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO) | perm, dev) < 0) {
                if (errno == EPERM && type != AE_IFIFO)
                        return warn(ap, ap->entry, err, "device node not created: %s", strerror(errno));
                return err_set(err, errno, "entry '%s': mknod: %s", ap->entry, strerror(errno));
        }
        r = set_owner(ap, e, -1, pfd, name, err);
        if (r < 0)
                return r;
        /* glibc does NOFOLLOW through an O_PATH fd and /proc; without /proc
         * fall back to a plain chmod of the node we have just created. */
        if (fchmodat(pfd, name, perm, AT_SYMLINK_NOFOLLOW) < 0 &&
            ((errno != ENOTSUP && errno != ENOSYS && errno != ENOENT) || fchmodat(pfd, name, perm, 0) < 0))
                return err_set(err, errno, "entry '%s': chmod: %s", ap->entry, strerror(errno));
        ts[0] = ts[1] = entry_mtime(e);
        if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(err, errno, "entry '%s': utimens: %s", ap->entry, strerror(errno));
        return 0;
}

static int
apply_symlink(struct applier *ap, struct archive_entry *e, int pfd, const char *name, struct err **err)
{
        const char *target = archive_entry_symlink(e);
        struct timespec ts[2];
        int r;

        if (!target || !*target)
                return err_set(err, EINVAL, "entry '%s': symlink without a target", ap->entry);
        if (strlen(target) >= LIMIT_PATH)
                return err_set(err, ENAMETOOLONG, "entry '%s': symlink target longer than %d bytes", ap->entry,
                               LIMIT_PATH);
        /* Any target text is allowed: it is never followed while applying. */
        if (symlinkat(target, pfd, name) < 0)
                return err_set(err, errno, "entry '%s': symlink: %s", ap->entry, strerror(errno));
        r = set_owner(ap, e, -1, pfd, name, err);
        if (r < 0)
                return r;
        ts[0] = ts[1] = entry_mtime(e);
        if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(err, errno, "entry '%s': utimens: %s", ap->entry, strerror(errno));
        return 0;
}

static void
split_path(char *path, char **ret_dir, char **ret_name)
{
        char *slash = strrchr(path, '/');

        if (slash) {
                *slash = 0;
                *ret_dir = path;
                *ret_name = slash + 1;
        } else {
                *ret_dir = (char *) "";
                *ret_name = path;
        }
}

static int
apply_hardlink(struct applier *ap, const char *link, int pfd, const char *name, struct err **err)
{
        _cleanup_free_ char *clean = NULL;
        _cleanup_close_ int tfd = -1;
        char *tdir, *tname;
        struct stat st;
        int r;

        r = clean_path("hard link target", link, &clean, err);
        if (r < 0)
                return err_prefix(err, "entry '%s'", ap->entry);
        if (!*clean)
                return err_set(err, ERR_UNSAFE_PATH, "entry '%s': hard link to the root '%s'", ap->entry, link);
        split_path(clean, &tdir, &tname);
        r = resolve_dir(ap, tdir, false, &tfd, err);
        if (r < 0)
                return r;
        if (tfd < 0 || fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return err_set(err, ENOENT, "entry '%s': hard link target '%s' is not in the layer or below it",
                               ap->entry, link);
        if (S_ISDIR(st.st_mode))
                return err_set(err, EPERM, "entry '%s': hard link to directory '%s'", ap->entry, link);
        /* flags 0: a symlink target is linked itself, never followed. */
        if (linkat(tfd, tname, pfd, name, 0) < 0)
                return err_set(err, errno, "entry '%s': link to '%s': %s", ap->entry, link, strerror(errno));
        return 0;
}

static int
apply_whiteout(struct applier *ap, const char *dir, const char *wname, struct err **err)
{
        _cleanup_close_ int pfd = -1;
        _cleanup_free_ char *path = NULL;
        bool overlay = ap->opts->whiteouts != OCI_LAYER_WHITEOUT_DELETE;
        int r;

        if (strcmp(wname, OCI_LAYER_OPAQUE) == 0) {
                _cleanup_close_ int dfd = -1;

                r = resolve_dir(ap, dir, overlay, &pfd, err);
                if (r < 0 || pfd < 0)
                        return r; /* nothing below to hide */
                if (overlay) {
                        const char *x = ap->opts->whiteouts == OCI_LAYER_WHITEOUT_OVERLAY_USER ? "user.overlay.opaque"
                                                                                          : "trusted.overlay.opaque";

                        dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (dfd < 0 || fsetxattr(dfd, x, "y", 1, 0) < 0)
                                return err_set(err, errno, "entry '%s': set %s on '%s': %s", ap->entry, x, dir,
                                               strerror(errno));
                        return 0;
                }
                /* layer.md: an opaque whiteout hides every lower sibling;
                 * what this layer itself put there stays. */
                return remove_tree(ap, pfd, ".", dir, true, 0, err);
        }
        if (strncmp(wname, OCI_LAYER_WHITEOUT_META_PREFIX, strlen(OCI_LAYER_WHITEOUT_META_PREFIX)) == 0)
                return 0; /* AUFS metadata (.wh..wh.plnk...): ignored, as docker does */

        wname += strlen(OCI_LAYER_WHITEOUT_PREFIX);
        if (!*wname || strcmp(wname, ".") == 0 || strcmp(wname, "..") == 0)
                return err_set(err, ERR_UNSAFE_PATH, "entry '%s': whiteout of '%s'", ap->entry, wname);
        path = *dir ? xasprintf("%s/%s", dir, wname) : xstrdup(wname);
        /* layer.md: whiteouts apply to lower layers only. */
        if (oci_layer_strset_has(&ap->created, path))
                return 0;
        r = resolve_dir(ap, dir, overlay, &pfd, err);
        if (r < 0 || pfd < 0)
                return r;
        if (overlay) {
                r = remove_tree(ap, pfd, wname, path, false, 0, err);
                if (r < 0)
                        return r;
                if (mknodat(pfd, wname, S_IFCHR | 0, makedev(0, 0)) < 0)
                        return err_set(err, errno, "entry '%s': overlay whiteout: %s", ap->entry, strerror(errno));
                oci_layer_strset_add(&ap->created, path);
                return 0;
        }
        return remove_tree(ap, pfd, wname, path, false, 0, err);
}

static int
apply_entry(struct applier *ap, struct archive *a, struct archive_entry *e, struct err **err)
{
        const char *raw = archive_entry_pathname(e);
        const char *link = archive_entry_hardlink(e);
        _cleanup_free_ char *clean = NULL, *path = NULL;
        _cleanup_close_ int pfd = -1;
        char *dir, *name;
        mode_t type = archive_entry_filetype(e);
        struct stat st;
        bool exists;
        int r;

        if (!raw)
                return err_set(err, EINVAL, "an entry has no path");
        ap->entry = raw;
        r = clean_path("entry", raw, &clean, err);
        if (r < 0)
                return r;
        if (!*clean)
                return 0; /* "./": the target itself keeps its own metadata */
        path = xstrdup(clean);
        split_path(clean, &dir, &name);

        if (strncmp(name, OCI_LAYER_WHITEOUT_PREFIX, strlen(OCI_LAYER_WHITEOUT_PREFIX)) == 0)
                return apply_whiteout(ap, dir, name, err);

        r = resolve_dir(ap, dir, true, &pfd, err);
        if (r < 0)
                return r;

        /* Whatever is at NAME goes, unless a directory meets a directory
         * (then they merge, as in docker and containerd). */
        exists = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !link)) {
                r = remove_tree(ap, pfd, name, path, false, 0, err);
                if (r < 0)
                        return r;
                exists = false;
        }

        if (link)
                r = apply_hardlink(ap, link, pfd, name, err);
        else
                switch (type) {
                case AE_IFREG:
                        r = apply_regular(ap, a, e, pfd, name, err);
                        break;
                case AE_IFDIR:
                        r = apply_dir(ap, e, pfd, name, path, exists, err);
                        break;
                case AE_IFLNK:
                        r = apply_symlink(ap, e, pfd, name, err);
                        break;
                case AE_IFCHR:
                case AE_IFBLK:
                case AE_IFIFO:
                        r = apply_special(ap, e, pfd, name, err);
                        break;
                default:
                        return warn(ap, raw, err, "entry of unsupported type %o skipped", (unsigned) type);
                }
        if (r < 0)
                return r;
        oci_layer_strset_add(&ap->created, path);
        return 0;
}

static size_t
path_depth(const char *p)
{
        size_t n = 0;

        for (; *p; p++)
                n += *p == '/';
        return n;
}

static int
dir_fixup_cmp(const void *a, const void *b)
{
        size_t da = path_depth(((const struct dir_fixup *) a)->path);
        size_t db = path_depth(((const struct dir_fixup *) b)->path);

        return da < db ? 1 : da > db ? -1 : 0;
}

/* Directory modes and mtimes, deepest first (a parent's final mode may
 * forbid reaching its children), once nothing more is added. */
static int
fix_dirs(struct applier *ap, struct err **err)
{
        if (ap->ndirs > 1)
                sort_array(ap->dirs, ap->ndirs, sizeof(*ap->dirs), dir_fixup_cmp);
        for (size_t i = 0; i < ap->ndirs; i++) {
                struct dir_fixup *d = &ap->dirs[i];
                _cleanup_free_ char *copy = xstrdup(d->path);
                _cleanup_close_ int pfd = -1, fd = -1;
                struct timespec ts[2] = { d->mtime, d->mtime };
                char *dir, *name;
                int r;

                split_path(copy, &dir, &name);
                ap->entry = d->path;
                r = resolve_dir(ap, dir, false, &pfd, err);
                if (r < 0)
                        return r;
                if (pfd < 0)
                        continue;
                fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue; /* replaced later in the layer by a non-directory */
                if (fchmod(fd, d->perm) < 0)
                        return err_set(err, errno, "entry '%s': chmod: %s", d->path, strerror(errno));
                if (futimens(fd, ts) < 0)
                        return err_set(err, errno, "entry '%s': utimens: %s", d->path, strerror(errno));
        }
        return 0;
}

static void
applier_free(struct applier *ap)
{
        for (size_t i = 0; i < ap->ndirs; i++)
                free(ap->dirs[i].path);
        free(ap->dirs);
        for (size_t i = 0; i < ap->nwarnings; i++) {
                free(ap->warnings[i].path);
                free(ap->warnings[i].message);
        }
        free(ap->warnings);
        oci_layer_strset_free(&ap->created);
}

void
oci_layer_apply_opts_init(struct oci_layer_apply_opts *opts)
{
        memset(opts, 0, sizeof(*opts));
        opts->chown = OCI_LAYER_CHOWN_AUTO;
        opts->whiteouts = OCI_LAYER_WHITEOUT_DELETE;
}

void
oci_layer_apply_result_free(struct oci_layer_apply_result *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->nwarnings; i++) {
                free(r->warnings[i].path);
                free(r->warnings[i].message);
        }
        free(r->warnings);
        r->warnings = NULL;
        r->nwarnings = 0;
}

int
oci_layer_apply(int in_fd, int target_dirfd, const struct oci_layer_apply_opts *opts,
                struct oci_layer_apply_result *ret_result, struct err **err)
{
        struct oci_layer_apply_opts defaults;
        struct applier ap = { 0 };
        struct source src;
        struct archive *a = NULL;
        struct oci_layer_apply_result res = { 0 };
        uint64_t entries = 0;
        locale_t utf8, old_locale = (locale_t) 0;
        int r;

        if (!opts) {
                oci_layer_apply_opts_init(&defaults);
                opts = &defaults;
        }
        ap.opts = opts;
        ap.root = target_dirfd;
        ap.use_openat2 = !opts->no_openat2;
        ap.chown_ok = true;

        /* PAX names are UTF-8: under C.UTF-8 (this thread only) libarchive
         * hands them over unchanged instead of failing to convert them to
         * the C locale; hdrcharset=BINARY names are raw bytes either way. */
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
        if (utf8)
                old_locale = uselocale(utf8);
        r = source_open(&src, in_fd, err);
        if (r < 0)
                goto out;
        a = archive_read_new();
        if (!a) {
                r = err_set(err, ENOMEM, "archive_read_new");
                goto out;
        }
        /* We decompress ourselves (to hash the tar stream), so libarchive
         * sees plain tar only: no other filter or format is accepted. */
        archive_read_support_filter_none(a);
        archive_read_support_format_tar(a);
        if (archive_read_open(a, &src, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
                r = err_set(err, src.err ? err_code(&src.err) : EINVAL, "layer is not a tar archive: %s",
                            archive_error_string(a));
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);

                if (ar == ARCHIVE_EOF)
                        break;
                /* WARN: e.g. a name not convertible to the locale; the raw
                 * bytes are still there and are what we use. */
                if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
                        r = err_set(err, src.err ? err_code(&src.err) : EINVAL,
                                    "layer: bad tar header after %llu entries: %s", (unsigned long long) entries,
                                    src.err ? err_msg(&src.err) : archive_error_string(a));
                        goto out;
                }
                r = apply_entry(&ap, a, e, err);
                if (r < 0)
                        goto out;
                entries++;
        }
        r = fix_dirs(&ap, err);
        if (r < 0)
                goto out;
        /* Hash whatever follows the end-of-archive blocks: the diffID covers
         * the whole decompressed stream. */
        for (;;) {
                ssize_t n = source_next(&src);

                if (n < 0) {
                        r = err_set(err, err_code(&src.err), "%s", err_msg(&src.err));
                        goto out;
                }
                if (n == 0)
                        break;
                digest_ctx_update(src.tar_hash, src.out, (size_t) n);
                src.tar_size += (uint64_t) n;
        }
        digest_ctx_final(src.tar_hash, &res.diff_id);
        digest_ctx_final(src.blob_hash, &res.blob_digest);
        res.tar_size = src.tar_size;
        res.blob_size = src.blob_size;
        res.compression = src.comp;
        res.entries = entries;
        if (opts->expect_diff_id && strcmp(opts->expect_diff_id->str, res.diff_id.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "layer diffID is %s, expected %s", res.diff_id.str,
                            opts->expect_diff_id->str);
                goto out;
        }
        if (ap.dropped_warnings)
                warn(&ap, "", NULL, "%llu more warnings not kept", (unsigned long long) ap.dropped_warnings);
        res.warnings = steal_ptr(&ap.warnings);
        res.nwarnings = ap.nwarnings;
        ap.nwarnings = 0;
        *ret_result = res;
        r = 0;
out:
        if (a)
                archive_read_free(a);
        source_close(&src);
        applier_free(&ap);
        if (utf8) {
                uselocale(old_locale);
                freelocale(utf8);
        }
        return r;
}

int
oci_layer_apply_path(int in_fd, const char *target, const struct oci_layer_apply_opts *opts,
                     struct oci_layer_apply_result *ret_result, struct err **err)
{
        _cleanup_close_ int fd = -1;

        if (mkdir(target, 0755) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s: %s", target, strerror(errno));
        fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "open %s: %s", target, strerror(errno));
        if (oci_layer_apply(in_fd, fd, opts, ret_result, err) < 0)
                return err_prefix(err, "applying layer to %s", target);
        return 0;
}
