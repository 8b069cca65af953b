/* Layer writer: directory tree / entry list / overlay upper dir → PAX tar →
 * sha256 (diffID) → gzip|zstd → sha256 (blob) → caller's fd, in one pass. */
#include "oci/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layer-internal.h"

#define OUTBUF_SIZE (256 * 1024)
#define READBUF_SIZE (1024 * 1024)
/* Linux caps one xattr value at 64 KiB and a name list at 64 KiB. */
#define XATTR_MAX 65536
/* Directory nesting we descend into (each level holds an fd). */
#define WALK_MAX_DEPTH 512

/* ---- Output pipeline: tar bytes → diffID → compressor → blob digest → fd ---- */

struct sink {
        enum oci_layer_compression comp;
        int fd;
        struct digest_ctx *tar_hash;
        struct digest_ctx *blob_hash;
        uint64_t tar_size;
        uint64_t blob_size;
        struct oci_layer_pgzip *gz;
        ZSTD_CCtx *zc;
        unsigned char *out;
        struct err *err; /* first failure, reported after libarchive returns */
};

static int
sink_emit(struct sink *s, const void *buf, size_t len)
{
        struct err *e = NULL;

        if (len == 0)
                return 0;
        digest_ctx_update(s->blob_hash, buf, len);
        s->blob_size += len;
        if (fs_write_all(s->fd, buf, len, &e) < 0) {
                if (!s->err)
                        s->err = e;
                else
                        err_clear(&e);
                return -1;
        }
        return 0;
}

static int
sink_emit_cb(void *ud, const void *buf, size_t len)
{
        return sink_emit(ud, buf, len);
}

static int
sink_fail(struct sink *s, int code, const char *what)
{
        if (!s->err)
                err_set(&s->err, code, "%s", what);
        return -1;
}

static int
sink_init(struct sink *s, enum oci_layer_compression comp, int level, int threads, int fd, struct err **err)
{
        memset(s, 0, sizeof(*s));
        s->comp = comp;
        s->fd = fd;
        s->tar_hash = digest_ctx_new(DIGEST_SHA256);
        s->blob_hash = digest_ctx_new(DIGEST_SHA256);
        s->out = xmalloc(OUTBUF_SIZE);
        switch (comp) {
        case OCI_LAYER_GZIP:
                if (level <= 0)
                        level = 6;
                if (level > 9)
                        return err_set(err, EINVAL, "gzip level %d out of range 1..9", level);
                s->gz = oci_layer_pgzip_new(level, threads);
                break;
        case OCI_LAYER_ZSTD:
                if (level <= 0)
                        level = 3;
                if (level > ZSTD_maxCLevel())
                        return err_set(err, EINVAL, "zstd level %d out of range 1..%d", level, ZSTD_maxCLevel());
                s->zc = ZSTD_createCCtx();
                if (!s->zc)
                        return err_set(err, ENOMEM, "ZSTD_createCCtx failed");
                ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, level);
                ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
                if (threads > 1 && ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_nbWorkers, threads)))
                        return err_set(err, ERR_UNSUPPORTED, "zstd: this libzstd cannot use %d threads", threads);
                break;
        case OCI_LAYER_UNCOMPRESSED:
                break;
        default:
                return err_set(err, EINVAL, "unknown layer compression %d", (int) comp);
        }
        return 0;
}

static void
sink_destroy(struct sink *s)
{
        oci_layer_pgzip_free(s->gz);
        ZSTD_freeCCtx(s->zc);
        digest_ctx_free(s->tar_hash);
        digest_ctx_free(s->blob_hash);
        free(s->out);
        err_clear(&s->err);
        memset(s, 0, sizeof(*s));
        s->fd = -1;
}

/* Feed tar bytes (FINISH: end of stream, BUF may be empty). */
static int
sink_write(struct sink *s, const void *buf, size_t len, bool finish)
{
        digest_ctx_update(s->tar_hash, buf, len);
        s->tar_size += len;

        switch (s->comp) {
        case OCI_LAYER_UNCOMPRESSED:
                return sink_emit(s, buf, len);
        case OCI_LAYER_GZIP:
                if (oci_layer_pgzip_write(s->gz, buf, len, sink_emit_cb, s) < 0 ||
                    (finish && oci_layer_pgzip_finish(s->gz, sink_emit_cb, s) < 0))
                        return sink_fail(s, EIO, "gzip: compression failed");
                return 0;
        case OCI_LAYER_ZSTD: {
                ZSTD_inBuffer in = { buf, len, 0 };
                size_t left;

                do {
                        ZSTD_outBuffer out = { s->out, OUTBUF_SIZE, 0 };
                        left = ZSTD_compressStream2(s->zc, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
                        if (ZSTD_isError(left))
                                return sink_fail(s, EIO, ZSTD_getErrorName(left));
                        if (sink_emit(s, s->out, out.pos) < 0)
                                return -1;
                } while (in.pos < in.size || (finish && left != 0));
                return 0;
        }
        }
        return sink_fail(s, EINVAL, "bad compression");
}

static la_ssize_t
archive_write_cb(struct archive *a, void *userdata, const void *buf, size_t len)
{
        struct sink *s = userdata;

        if (sink_write(s, buf, len, false) < 0) {
                archive_set_error(a, EIO, "layer output failed");
                return -1;
        }
        return (la_ssize_t) len;
}

/* ---- Items: what goes into the tar ---- */

enum item_kind {
        ITEM_FS,        /* a file system object at bases[base]/rel */
        ITEM_SYNTH_DIR, /* a parent directory with no source */
        ITEM_WHITEOUT,  /* ".wh.NAME" from an overlay char 0/0 */
        ITEM_OPAQUE,    /* "DIR/.wh..wh..opq" from an overlay opaque dir */
};

struct item {
        char *path; /* in the image, no leading or trailing "/" */
        enum item_kind kind;
        int basefd;
        char *rel;      /* relative to basefd (ITEM_FS) */
        struct stat st; /* ITEM_FS, ITEM_WHITEOUT, ITEM_OPAQUE (the dir's) */
        int64_t uid, gid;
        int32_t mode;
};

struct writer {
        const struct oci_layer_write_opts *opts;
        struct item *items;
        size_t n, cap;
};

static void
writer_free(struct writer *w)
{
        for (size_t i = 0; i < w->n; i++) {
                free(w->items[i].path);
                free(w->items[i].rel);
        }
        free(w->items);
        w->items = NULL;
        w->n = w->cap = 0;
}

static struct item *
add_item(struct writer *w, enum item_kind kind, char *path, int basefd, char *rel, const struct stat *st,
         const struct oci_layer_entry *ov)
{
        struct item *it;

        if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 256;
                w->items = xrealloc(w->items, w->cap * sizeof(*w->items));
        }
        it = &w->items[w->n++];
        memset(it, 0, sizeof(*it));
        it->path = path;
        it->kind = kind;
        it->basefd = basefd;
        it->rel = rel;
        if (st)
                it->st = *st;
        it->uid = ov ? ov->uid : -1;
        it->gid = ov ? ov->gid : -1;
        it->mode = ov ? ov->mode : -1;
        return it;
}

static char *
join(const char *a, const char *b)
{
        if (!a || !*a || strcmp(a, ".") == 0)
                return xstrdup(b);
        return xasprintf("%s/%s", a, b);
}

static bool
is_overlay_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool
is_opaque_dir(int dfd)
{
        char v[4];
        ssize_t n;

        n = fgetxattr(dfd, "trusted.overlay.opaque", v, sizeof(v));
        if (n == 1 && v[0] == 'y')
                return true;
        n = fgetxattr(dfd, "user.overlay.opaque", v, sizeof(v));
        return n == 1 && v[0] == 'y';
}

/* An xattr NAME (trusted.overlay.NAME or user.overlay.NAME) on the object
 * NAME in directory DFD (not following it), read through /proc. */
static bool
has_overlay_xattr(int dfd, const char *name, const char *x)
{
        char proc[64 + 256], xn[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, name);
        snprintf(xn, sizeof(xn), "trusted.overlay.%s", x);
        if (lgetxattr(proc, xn, NULL, 0) >= 0)
                return true;
        snprintf(xn, sizeof(xn), "user.overlay.%s", x);
        return lgetxattr(proc, xn, NULL, 0) >= 0;
}

/* Add everything beneath the open directory DFD (REL from basefd, IMG in
 * the image).  Takes ownership of DFD. */
static int
walk_dir(struct writer *w, int basefd, int dfd, const char *rel, const char *img, const struct oci_layer_entry *ov,
         int depth, struct err **err)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        bool overlay = w->opts->source_mode == OCI_LAYER_SOURCE_OVERLAY;

        if (depth > WALK_MAX_DEPTH) {
                close(dfd);
                return err_set(err, ELOOP, "%s: directories nested deeper than %d", rel, WALK_MAX_DEPTH);
        }
        d = fdopendir(dfd);
        if (!d) {
                int e = errno;
                close(dfd);
                return err_set(err, e, "opendir %s: %s", rel, strerror(e));
        }
        for (;;) {
                struct stat st;
                _cleanup_free_ char *crel = NULL, *cimg = NULL;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno)
                                return err_set(err, errno, "readdir %s: %s", rel, strerror(errno));
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                crel = join(rel, de->d_name);
                cimg = join(img, de->d_name);
                if (strlen(cimg) + 16 > LIMIT_PATH)
                        return err_set(err, ENAMETOOLONG, "%s: path longer than %d bytes", crel, LIMIT_PATH);
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(err, errno, "stat %s: %s", crel, strerror(errno));
                if (overlay && is_overlay_whiteout(&st)) {
                        add_item(w, ITEM_WHITEOUT, xasprintf("%s%s%s%s", img && *img ? img : "",
                                                             img && *img ? "/" : "", OCI_LAYER_WHITEOUT_PREFIX,
                                                             de->d_name),
                                 basefd, NULL, &st, ov);
                        continue;
                }
                if (S_ISSOCK(st.st_mode))
                        continue; /* sockets cannot be archived (as tar, docker) */
                /* metacopy: the data is in a lower layer; redirect: a renamed
                 * dir whose content is found under another lower name.  The
                 * upper dir alone cannot describe either. */
                if (overlay && S_ISREG(st.st_mode) && has_overlay_xattr(dirfd(d), de->d_name, "metacopy"))
                        return err_set(err, ERR_UNSUPPORTED,
                                       "%s: overlay metacopy file (mount the overlay with metacopy=off)", crel);
                if (overlay && S_ISDIR(st.st_mode) && has_overlay_xattr(dirfd(d), de->d_name, "redirect"))
                        return err_set(err, ERR_UNSUPPORTED,
                                       "%s: overlay redirect dir (mount the overlay with redirect_dir=off)", crel);
                add_item(w, ITEM_FS, xstrdup(cimg), basefd, xstrdup(crel), &st, ov);
                if (S_ISDIR(st.st_mode)) {
                        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        int r;

                        if (cfd < 0)
                                return err_set(err, errno, "open %s: %s", crel, strerror(errno));
                        if (overlay && is_opaque_dir(cfd))
                                add_item(w, ITEM_OPAQUE, xasprintf("%s/%s", cimg, OCI_LAYER_OPAQUE), basefd, NULL,
                                         &st, ov);
                        r = walk_dir(w, basefd, cfd, crel, cimg, ov, depth + 1, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Sort key: bytewise, with "/" below every other byte, so a directory's
 * whole subtree follows it before any sibling ("a", "a/b", "a-b"). */
static int
path_cmp(const char *a, const char *b)
{
        for (;; a++, b++) {
                unsigned ca = (unsigned char) *a, cb = (unsigned char) *b;

                if (ca == cb) {
                        if (ca == 0)
                                return 0;
                        continue;
                }
                if (ca == 0 || cb == 0)
                        return ca == 0 ? -1 : 1;
                if (ca == '/')
                        return -1;
                if (cb == '/')
                        return 1;
                return ca < cb ? -1 : 1;
        }
}

static int
item_cmp(const void *a, const void *b)
{
        return path_cmp(((const struct item *) a)->path, ((const struct item *) b)->path);
}

/* ---- Hard links: (dev, ino, overrides) → first path ---- */

struct link_slot {
        dev_t dev;
        ino_t ino;
        int64_t uid, gid;
        int32_t mode;
        const char *path;
};

struct link_map {
        struct link_slot *slots;
        size_t cap;
};

static uint64_t
link_hash(const struct item *it)
{
        uint64_t h = (uint64_t) it->st.st_ino * 0x9E3779B97F4A7C15ULL;

        h ^= (uint64_t) it->st.st_dev + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
        h ^= (uint64_t) it->uid * 31 + (uint64_t) it->gid * 17 + (uint64_t) it->mode;
        return h;
}

/* The first path of IT's inode, or NULL after recording IT as the first. */
static const char *
link_lookup(struct link_map *m, const struct item *it)
{
        size_t j;

        for (j = link_hash(it) & (m->cap - 1); m->slots[j].path; j = (j + 1) & (m->cap - 1)) {
                struct link_slot *s = &m->slots[j];
                if (s->dev == it->st.st_dev && s->ino == it->st.st_ino && s->uid == it->uid && s->gid == it->gid &&
                    s->mode == it->mode)
                        return s->path;
        }
        m->slots[j] = (struct link_slot){ it->st.st_dev, it->st.st_ino, it->uid, it->gid, it->mode, it->path };
        return NULL;
}

static bool
ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s >= 0x80)
                        return false;
        return true;
}

/* RFC 3629 well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static bool
utf8_valid(const char *s)
{
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned c = *p, n, cp;

                if (c < 0x80) {
                        p++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return false;
                for (unsigned i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

/* ---- Writing one entry ---- */

static int
map_owner(const struct writer *w, const struct item *it, uint32_t *ret_uid, uint32_t *ret_gid, struct err **err)
{
        uint32_t uid, gid;

        if (it->uid >= 0)
                uid = (uint32_t) it->uid;
        else if (oci_layer_map_id(w->opts->idmap, false, true, it->st.st_uid, &uid) < 0)
                return err_set(err, EOVERFLOW, "%s: uid %u has no mapping into the image", it->rel ? it->rel : it->path,
                               (unsigned) it->st.st_uid);
        if (it->gid >= 0)
                gid = (uint32_t) it->gid;
        else if (oci_layer_map_id(w->opts->idmap, true, true, it->st.st_gid, &gid) < 0)
                return err_set(err, EOVERFLOW, "%s: gid %u has no mapping into the image", it->rel ? it->rel : it->path,
                               (unsigned) it->st.st_gid);
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

static int64_t
clamp_mtime(const struct writer *w, int64_t t)
{
        if (w->opts->source_date_epoch >= 0 && t > w->opts->source_date_epoch)
                return w->opts->source_date_epoch;
        return t;
}

/* Copy the xattrs of the object (through FD when it is a real fd, else
 * through /proc/self/fd/FD, which reaches the object an O_PATH fd names
 * without following it further) into E, minus overlayfs' own and SELinux
 * labels (host-specific). */
static int
add_xattrs(struct archive_entry *e, int fd, bool real_fd, const char *what, struct err **err)
{
        _cleanup_free_ char *names = xmalloc(XATTR_MAX);
        _cleanup_free_ char *val = xmalloc(XATTR_MAX);
        char proc[64];
        ssize_t len;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        len = real_fd ? flistxattr(fd, names, XATTR_MAX) : listxattr(proc, names, XATTR_MAX);
        if (len < 0) {
                if (errno == ENOTSUP || errno == ENOENT || errno == EPERM || errno == EACCES)
                        return 0; /* no xattr support, or no /proc: nothing to add */
                return err_set(err, errno, "listxattr %s: %s", what, strerror(errno));
        }
        for (char *n = names; n < names + len; n += strlen(n) + 1) {
                ssize_t vl;

                if (oci_layer_is_overlay_xattr(n) || strcmp(n, "security.selinux") == 0)
                        continue;
                vl = real_fd ? fgetxattr(fd, n, val, XATTR_MAX) : getxattr(proc, n, val, XATTR_MAX);
                if (vl < 0) {
                        if (errno == ENODATA)
                                continue;
                        return err_set(err, errno, "getxattr %s %s: %s", what, n, strerror(errno));
                }
                archive_entry_xattr_add_entry(e, n, val, (size_t) vl);
        }
        return 0;
}

static int
copy_data(struct archive *a, struct sink *s, int fd, const struct item *it, struct err **err)
{
        _cleanup_free_ unsigned char *buf = xmalloc(READBUF_SIZE);
        uint64_t left = (uint64_t) it->st.st_size;

        while (left > 0) {
                size_t want = left < READBUF_SIZE ? (size_t) left : READBUF_SIZE;
                ssize_t n = read(fd, buf, want);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, errno, "read %s: %s", it->rel, strerror(errno));
                }
                if (n == 0)
                        return err_set(err, EIO, "%s: file shrank while being written to the layer", it->rel);
                if (archive_write_data(a, buf, (size_t) n) != n) {
                        if (s->err)
                                return err_set(err, err_code(&s->err), "%s", err_msg(&s->err));
                        return err_set(err, EIO, "writing %s: %s", it->rel, archive_error_string(a));
                }
                left -= (uint64_t) n;
        }
        return 0;
}

static int
header_failed(struct archive *a, struct sink *s, const char *path, struct err **err)
{
        if (s->err)
                return err_set(err, err_code(&s->err), "%s", err_msg(&s->err));
        return err_set(err, EIO, "tar header for %s: %s", path, archive_error_string(a));
}

static int
write_item(struct writer *w, struct archive *a, struct sink *s, struct link_map *links, const struct item *it,
           struct err **err)
{
        struct archive_entry *e = archive_entry_new();
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *target = NULL;
        const char *hardlink = NULL;
        uint32_t uid = 0, gid = 0;
        int64_t mtime = clamp_mtime(w, 0);
        mode_t perm = 0755;
        int r = 0;

        if (!e)
                return err_set(err, ENOMEM, "archive_entry_new");
        archive_entry_set_pathname(e, it->path);

        switch (it->kind) {
        case ITEM_SYNTH_DIR:
                archive_entry_set_filetype(e, AE_IFDIR);
                uid = it->uid >= 0 ? (uint32_t) it->uid : 0;
                gid = it->gid >= 0 ? (uint32_t) it->gid : 0;
                perm = it->mode >= 0 ? (mode_t) it->mode : 0755;
                break;
        case ITEM_WHITEOUT:
        case ITEM_OPAQUE:
                /* OCI layer.md: whiteouts are empty regular files; Docker
                 * gives ".wh.NAME" 0600 and the opaque marker the dir's perms. */
                r = map_owner(w, it, &uid, &gid, err);
                if (r < 0)
                        goto out;
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_size(e, 0);
                perm = it->kind == ITEM_WHITEOUT ? 0600 : (it->st.st_mode & 0777);
                mtime = clamp_mtime(w, it->st.st_mtim.tv_sec);
                break;
        case ITEM_FS: {
                struct stat st;
                int flags = O_CLOEXEC | O_NOFOLLOW;
                bool real_fd = true;

                if (S_ISREG(it->st.st_mode))
                        flags |= O_RDONLY | O_NOCTTY;
                else if (S_ISDIR(it->st.st_mode))
                        flags |= O_RDONLY | O_DIRECTORY;
                else {
                        flags |= O_PATH;
                        real_fd = false;
                }
                fd = openat(it->basefd, it->rel, flags);
                if (fd < 0) {
                        r = err_set(err, errno, "open %s: %s", it->rel, strerror(errno));
                        goto out;
                }
                if (fstat(fd, &st) < 0) {
                        r = err_set(err, errno, "stat %s: %s", it->rel, strerror(errno));
                        goto out;
                }
                /* Catch a swap (e.g. by a symlink) between walk and write. */
                if (st.st_dev != it->st.st_dev || st.st_ino != it->st.st_ino ||
                    (st.st_mode & S_IFMT) != (it->st.st_mode & S_IFMT)) {
                        r = err_set(err, EBUSY, "%s changed while the layer was written", it->rel);
                        goto out;
                }
                r = map_owner(w, it, &uid, &gid, err);
                if (r < 0)
                        goto out;
                perm = it->mode >= 0 ? (mode_t) it->mode : (it->st.st_mode & 07777);
                mtime = clamp_mtime(w, it->st.st_mtim.tv_sec);
                if (!S_ISDIR(it->st.st_mode) && it->st.st_nlink > 1)
                        hardlink = link_lookup(links, it);
                if (hardlink) {
                        /* A tar hard link carries no data; the first path has it. */
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, hardlink);
                        archive_entry_set_size(e, 0);
                        break;
                }
                switch (it->st.st_mode & S_IFMT) {
                case S_IFREG:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, it->st.st_size);
                        break;
                case S_IFDIR:
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case S_IFLNK: {
                        ssize_t n;

                        if (it->st.st_size >= LIMIT_PATH) {
                                r = err_set(err, ENAMETOOLONG, "%s: symlink target too long", it->rel);
                                goto out;
                        }
                        target = xmalloc(LIMIT_PATH);
                        n = readlinkat(fd, "", target, LIMIT_PATH - 1);
                        if (n < 0) {
                                r = err_set(err, errno, "readlink %s: %s", it->rel, strerror(errno));
                                goto out;
                        }
                        target[n] = 0;
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, target);
                        perm = 0777;
                        break;
                }
                case S_IFCHR:
                case S_IFBLK:
                        archive_entry_set_filetype(e, S_ISCHR(it->st.st_mode) ? AE_IFCHR : AE_IFBLK);
                        archive_entry_set_rdevmajor(e, major(it->st.st_rdev));
                        archive_entry_set_rdevminor(e, minor(it->st.st_rdev));
                        break;
                case S_IFIFO:
                        archive_entry_set_filetype(e, AE_IFIFO);
                        break;
                default:
                        r = err_set(err, ERR_UNSUPPORTED, "%s: unsupported file type", it->rel);
                        goto out;
                }
                r = add_xattrs(e, fd, real_fd, it->rel, err);
                if (r < 0)
                        goto out;
                break;
        }
        }

        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, uid);
        archive_entry_set_gid(e, gid);
        archive_entry_set_mtime(e, mtime, 0);

        if (archive_write_header(a, e) != ARCHIVE_OK) {
                r = header_failed(a, s, it->path, err);
                goto out;
        }
        if (it->kind == ITEM_FS && !hardlink && S_ISREG(it->st.st_mode))
                r = copy_data(a, s, fd, it, err);
out:
        archive_entry_free(e);
        return r;
}

/* Sort, check for duplicates, write every item, finish the streams. */
static int
write_items(struct writer *w, int out_fd, struct oci_layer_result *ret_result, struct err **err)
{
        const struct oci_layer_write_opts *o = w->opts;
        struct archive *a = NULL;
        struct sink s;
        struct link_map links = { 0 };
        struct oci_layer_result res;
        bool binary_names = false;
        locale_t utf8, old_locale = (locale_t) 0;
        int r;

        if (w->n > 1)
                sort_array(w->items, w->n, sizeof(*w->items), item_cmp);
        for (size_t i = 1; i < w->n; i++)
                if (strcmp(w->items[i - 1].path, w->items[i].path) == 0)
                        return err_set(err, EINVAL, "path '%s' is given more than once", w->items[i].path);
        /* libarchive converts names from the locale's charset to UTF-8 for
         * PAX records.  Names are bytes on Linux: under a C.UTF-8 locale (for
         * this thread only) UTF-8 names pass unchanged; if some name is not
         * UTF-8 (or there is no C.UTF-8), hdrcharset=BINARY stores every
         * name's bytes as they are. */
        utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
        for (size_t i = 0; i < w->n && !binary_names; i++)
                binary_names = utf8 ? !utf8_valid(w->items[i].path) : !ascii(w->items[i].path);
        if (utf8)
                old_locale = uselocale(utf8);

        r = sink_init(&s, o->compression, o->level, o->threads, out_fd, err);
        if (r < 0)
                goto out;
        for (links.cap = 16; links.cap < w->n * 2; links.cap *= 2)
                ;
        links.slots = xcalloc(links.cap, sizeof(*links.slots));

        a = archive_write_new();
        if (!a) {
                r = err_set(err, ENOMEM, "archive_write_new");
                goto out;
        }
        /* PAX only where ustar cannot say it (long names, xattrs, big ids);
         * xattrs as SCHILY.xattr.* only (what Go's archive/tar and GNU tar
         * read), so the bytes do not depend on libarchive extensions. */
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
            (binary_names && archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) ||
            archive_write_set_bytes_per_block(a, 10240) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
                r = err_set(err, EIO, "libarchive setup: %s", archive_error_string(a));
                goto out;
        }
        if (archive_write_open2(a, &s, NULL, archive_write_cb, NULL, NULL) != ARCHIVE_OK) {
                r = err_set(err, EIO, "libarchive open: %s", archive_error_string(a));
                goto out;
        }
        for (size_t i = 0; i < w->n; i++) {
                r = write_item(w, a, &s, &links, &w->items[i], err);
                if (r < 0)
                        goto out;
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                r = header_failed(a, &s, "end of archive", err);
                goto out;
        }
        if (sink_write(&s, "", 0, true) < 0) {
                r = err_set(err, err_code(&s.err), "%s", err_msg(&s.err));
                goto out;
        }
        memset(&res, 0, sizeof(res));
        digest_ctx_final(s.tar_hash, &res.diff_id);
        digest_ctx_final(s.blob_hash, &res.blob_digest);
        res.tar_size = s.tar_size;
        res.blob_size = s.blob_size;
        res.entries = w->n;
        *ret_result = res;
        r = 0;
out:
        if (a)
                archive_write_free(a);
        free(links.slots);
        sink_destroy(&s);
        if (utf8) {
                uselocale(old_locale);
                freelocale(utf8);
        }
        return r;
}

void
oci_layer_write_opts_init(struct oci_layer_write_opts *opts)
{
        memset(opts, 0, sizeof(*opts));
        opts->compression = OCI_LAYER_UNCOMPRESSED;
        opts->source_date_epoch = -1;
        opts->source_mode = OCI_LAYER_SOURCE_TREE;
}

void
oci_layer_entry_init(struct oci_layer_entry *e)
{
        memset(e, 0, sizeof(*e));
        e->src_dirfd = AT_FDCWD;
        e->uid = e->gid = -1;
        e->mode = -1;
}

int
oci_layer_write_dir(int dirfd, const char *path, const struct oci_layer_write_opts *opts, int out_fd,
                    struct oci_layer_result *ret_result, struct err **err)
{
        struct writer w = { .opts = opts };
        _cleanup_close_ int root = -1;
        int dfd, r;

        root = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return err_set(err, errno, "open layer source %s: %s", path, strerror(errno));
        dfd = fcntl(root, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return err_set(err, errno, "dup: %s", strerror(errno));
        r = walk_dir(&w, root, dfd, ".", "", NULL, 0, err);
        if (r == 0)
                r = write_items(&w, out_fd, ret_result, err);
        writer_free(&w);
        if (r < 0)
                return err_prefix(err, "writing layer from %s", path);
        return 0;
}

/* Clean an image path: drop leading "/", "." components and repeated
 * slashes; ".." is refused.  *ret may be "" (the root). */
static int
clean_image_path(const char *p, char **ret, struct err **err)
{
        _cleanup_free_ char *out = xmalloc(strlen(p) + 1);
        size_t o = 0;

        if (strlen(p) >= LIMIT_PATH)
                return err_set(err, ENAMETOOLONG, "image path longer than %d bytes", LIMIT_PATH);
        while (*p) {
                const char *end = strchrnul(p, '/');
                size_t len = (size_t) (end - p);

                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return err_set(err, ERR_UNSAFE_PATH, "image path '%s' contains '..'", p);
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, len);
                        o += len;
                }
                p = *end ? end + 1 : end;
        }
        out[o] = 0;
        *ret = steal_ptr(&out);
        return 0;
}

int
oci_layer_write_entries(const struct oci_layer_entry *entries, size_t n, const struct oci_layer_write_opts *opts,
                        int out_fd, struct oci_layer_result *ret_result, struct err **err)
{
        struct writer w = { .opts = opts };
        struct oci_layer_strset have = { 0 };
        int r = 0;

        for (size_t i = 0; i < n && r == 0; i++) {
                const struct oci_layer_entry *e = &entries[i];
                _cleanup_free_ char *img = NULL;
                struct stat st;

                if (!e->path) {
                        r = err_set(err, EINVAL, "entry %zu has no image path", i);
                        break;
                }
                r = clean_image_path(e->path, &img, err);
                if (r < 0) {
                        err_prefix(err, "entry '%s'", e->path);
                        break;
                }
                if (!e->src) {
                        if (!*img) {
                                r = err_set(err, EINVAL, "entry '%s': the root cannot be an entry", e->path);
                                break;
                        }
                        add_item(&w, ITEM_SYNTH_DIR, steal_ptr(&img), -1, NULL, NULL, e);
                        continue;
                }
                if (fstatat(e->src_dirfd, e->src, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = err_set(err, errno, "%s: %s", e->src, strerror(errno));
                        break;
                }
                if (S_ISDIR(st.st_mode) && e->recursive) {
                        int dfd = openat(e->src_dirfd, e->src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (dfd < 0) {
                                r = err_set(err, errno, "open %s: %s", e->src, strerror(errno));
                                break;
                        }
                        /* The root of the image has no entry of its own. */
                        if (*img)
                                add_item(&w, ITEM_FS, xstrdup(img), e->src_dirfd, xstrdup(e->src), &st, e);
                        r = walk_dir(&w, e->src_dirfd, dfd, e->src, img, e, 1, err);
                        continue;
                }
                if (!*img) {
                        r = err_set(err, EINVAL, "entry for %s: the root cannot be an entry", e->src);
                        break;
                }
                if (S_ISSOCK(st.st_mode)) {
                        r = err_set(err, ERR_UNSUPPORTED, "%s: sockets cannot be put in a layer", e->src);
                        break;
                }
                add_item(&w, ITEM_FS, steal_ptr(&img), e->src_dirfd, xstrdup(e->src), &st, e);
        }

        /* Parents that no entry gives become 0755 root:root dirs. */
        if (r == 0) {
                size_t given = w.n;

                for (size_t i = 0; i < given; i++)
                        oci_layer_strset_add(&have, w.items[i].path);
                for (size_t i = 0; i < given; i++) {
                        _cleanup_free_ char *p = xstrdup(w.items[i].path);
                        char *slash;

                        while ((slash = strrchr(p, '/'))) {
                                *slash = 0;
                                if (!oci_layer_strset_add(&have, p))
                                        break;
                                add_item(&w, ITEM_SYNTH_DIR, xstrdup(p), -1, NULL, NULL, NULL);
                        }
                }
                r = write_items(&w, out_fd, ret_result, err);
        }
        oci_layer_strset_free(&have);
        writer_free(&w);
        if (r < 0)
                return err_prefix(err, "writing layer");
        return 0;
}
