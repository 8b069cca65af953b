/* The filesystem driver's upload sessions (layout in storage.h):
 * repos/<name>/_uploads/<uuid>/ holds data (the bytes so far), startedat
 * and hashstate, the sha256 state of data's first N bytes as
 *   boot <boot id>\n<digest_ctx_save's line>\n
 * A writer resumes the hash from it (reading only the bytes of data past
 * N, after a crash between a write and the state's), and commit verifies
 * the digest from it without reading data again.  It is written without
 * fsync because it is only believed during the boot that wrote it: data
 * is not fsynced before commit either, and after a power loss its tail
 * may be gone or zeros while a state file survived; a state from another
 * boot, or unreadable, or past the data's size means hashing data again,
 * which is what a session without a state file (an older ireg's) gets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/server/route.h"
#include "registry/server/storage-fs-internal.h"

/* Read size when hashing data again. */
#define REHASH_BUF (256 * 1024)
/* "boot " + a boot id + newline, then the state. */
#define STATE_FILE_MAX (DIGEST_STATE_MAX + 64)

static int
no_such_upload(const char *name, const char *uuid, struct err **err)
{
        err_set(err, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s not found in %s", uuid, name);
        return -ENOENT;
}

/* The session's data, open with FLAGS, and its size. */
static int
open_data(struct fs_store *fs, const char *name, const char *uuid, int flags, char **ret_dir,
          uint64_t *ret_size, struct err **err)
{
        _cleanup_free_ char *dir = fsd_upload_path(fs, name, uuid);
        _cleanup_free_ char *data = xasprintf("%s/data", dir);
        _cleanup_close_ int fd = open(data, flags | O_CLOEXEC);
        struct stat st;

        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return no_such_upload(name, uuid, err);
                return err_set(err, errno, "open %s: %s", data, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "stat %s: %s", data, strerror(errno));
        *ret_size = (uint64_t) st.st_size;
        if (ret_dir)
                *ret_dir = steal_ptr(&dir);
        return steal_fd(&fd);
}

/* The saved state in DIR, when this boot wrote it and it parses. */
static struct digest_ctx *
load_state(struct fs_store *fs, const char *dir)
{
        _cleanup_free_ char *p = xasprintf("%s/hashstate", dir);
        _cleanup_free_ char *text = NULL;
        size_t len = 0, blen = strlen(fs->boot_id);
        const char *nl;

        if (!fs->boot_id[0] || fs_read_file(p, STATE_FILE_MAX, &text, &len, NULL) < 0)
                return NULL;
        nl = memchr(text, '\n', len);
        if (!nl || (size_t) (nl - text) != 5 + blen || memcmp(text, "boot ", 5) != 0 ||
            memcmp(text + 5, fs->boot_id, blen) != 0)
                return NULL;
        nl++;
        return digest_ctx_restore(nl, len - (size_t) (nl - text), NULL);
}

/* Save CTX's state in DIR (see the top of the file for why no fsync). */
static void
save_state(struct fs_store *fs, const char *dir, const struct digest_ctx *ctx)
{
        char st[DIGEST_STATE_MAX], text[STATE_FILE_MAX];
        _cleanup_free_ char *tmp = NULL, *p = NULL;
        _cleanup_close_ int fd = -1;
        int n;

        if (!fs->boot_id[0] || digest_ctx_save(ctx, st, sizeof(st), NULL) < 0)
                return;
        n = snprintf(text, sizeof(text), "boot %s\n%s\n", fs->boot_id, st);
        if (n < 0 || (size_t) n >= sizeof(text))
                return;
        tmp = xasprintf("%s/.hashstate.%d", dir, (int) getpid());
        p = xasprintf("%s/hashstate", dir);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        /* A state not saved costs a rehash later, nothing else. */
        if (fs_write_all(fd, text, (size_t) n, NULL) < 0 || rename(tmp, p) < 0)
                unlink(tmp);
}

/* The sha256 of FD's first SIZE bytes: the saved state, caught up with
 * the bytes past it, else hashed from the start.  *RET_FRESH tells
 * whether the saved state already covered SIZE bytes. */
static int
resume_hash(struct fs_store *fs, const char *dir, int fd, uint64_t size, const char *uuid,
            struct digest_ctx **ret, bool *ret_fresh, struct err **err)
{
        struct digest_ctx *ctx = load_state(fs, dir);
        _cleanup_free_ char *buf = NULL;
        uint64_t off;

        if (ctx && digest_ctx_size(ctx) > size) {
                digest_ctx_free(ctx);
                ctx = NULL;
        }
        if (!ctx)
                ctx = digest_ctx_new(DIGEST_SHA256);
        off = digest_ctx_size(ctx);
        *ret_fresh = off == size;
        if (off < size)
                buf = xmalloc(REHASH_BUF);
        while (off < size) {
                uint64_t left = size - off;
                ssize_t n = pread(fd, buf, left < REHASH_BUF ? (size_t) left : REHASH_BUF, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        digest_ctx_free(ctx);
                        return err_set(err, n < 0 ? errno : EIO, "re-reading upload %s: %s", uuid,
                                       n < 0 ? strerror(errno) : "short file");
                }
                digest_ctx_update(ctx, buf, (size_t) n);
                off += (uint64_t) n;
        }
        *ret = ctx;
        return 0;
}

int
fsd_upload_create(struct reg_store *s, const char *name, char *ret_uuid, struct err **err)
{
        unsigned char rnd[REG_UUID_LEN / 2];
        char uuid[REG_UUID_LEN + 1], stamp[32];
        _cleanup_free_ char *dir = NULL, *data = NULL, *started = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return err_set(err, errno ? errno : EIO, "getrandom: %s", strerror(errno));
        digest_hex(rnd, sizeof(rnd), uuid);
        dir = fsd_upload_path(FS(s), name, uuid);
        r = fs_mkdir_p(dir, 0755, err);
        if (r < 0)
                return r;
        snprintf(stamp, sizeof(stamp), "%lld\n", (long long) time(NULL));
        started = xasprintf("%s/startedat", dir);
        r = fs_write_atomic(started, stamp, strlen(stamp), 0644, err);
        if (r < 0)
                return r;
        data = xasprintf("%s/data", dir);
        fd = open(data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return err_set(err, errno, "create %s: %s", data, strerror(errno));
        memcpy(ret_uuid, uuid, sizeof(uuid));
        return 0;
}

int
fsd_upload_status(struct reg_store *s, const char *name, const char *uuid, uint64_t *ret_size,
                  struct err **err)
{
        _cleanup_free_ char *dir = fsd_upload_path(FS(s), name, uuid);
        _cleanup_free_ char *data = xasprintf("%s/data", dir);
        struct stat st;

        if (stat(data, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return no_such_upload(name, uuid, err);
                return err_set(err, errno, "stat %s: %s", data, strerror(errno));
        }
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

/* ---- writers ---- */

struct fs_writer {
        struct reg_upload_writer base;
        struct fs_store *fs;
        int fd;
        struct digest_ctx *hash; /* of the first base.size bytes */
        bool state_stale;        /* the saved state is behind hash */
        char *dir;
        char uuid[REG_UUID_LEN + 1];
};

static int
fs_writer_write(struct reg_upload_writer *base, const void *data, size_t len, struct err **err)
{
        struct fs_writer *w = (struct fs_writer *) base;

        if (fs_write_all(w->fd, data, len, err) < 0) {
                /* Keep data and hash in step: drop a partial write. */
                if (ftruncate(w->fd, (off_t) w->base.size) == 0)
                        lseek(w->fd, (off_t) w->base.size, SEEK_SET);
                return err_prefix(err, "writing upload %s", w->uuid);
        }
        digest_ctx_update(w->hash, data, len);
        w->base.size += len;
        w->state_stale = true;
        return 0;
}

static void
fs_writer_discard(struct reg_upload_writer *base)
{
        struct fs_writer *w = (struct fs_writer *) base;

        close(w->fd);
        digest_ctx_free(w->hash);
        free(w->dir);
        free(w);
}

static int
fs_writer_close(struct reg_upload_writer *base, struct err **err)
{
        struct fs_writer *w = (struct fs_writer *) base;

        if (w->state_stale)
                save_state(w->fs, w->dir, w->hash);
        fs_writer_discard(base);
        return 0;
}

static const struct reg_upload_writer_ops fs_writer_ops = {
        .write = fs_writer_write,
        .close = fs_writer_close,
        .discard = fs_writer_discard,
};

int
fsd_upload_writer(struct reg_store *s, const char *name, const char *uuid, uint64_t offset,
                  struct reg_upload_writer **ret, struct err **err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -1;
        struct digest_ctx *hash;
        struct fs_writer *w;
        uint64_t size;
        bool fresh;
        int r;

        fd = open_data(FS(s), name, uuid, O_RDWR, &dir, &size, err);
        if (fd < 0)
                return fd;
        if (offset != REG_UPLOAD_APPEND && offset != size)
                return err_set(err, ERR_RANGE_INVALID, "upload %s holds %llu bytes: cannot write at %llu",
                               uuid, (unsigned long long) size, (unsigned long long) offset);
        r = resume_hash(FS(s), dir, fd, size, uuid, &hash, &fresh, err);
        if (r < 0)
                return r;
        if (lseek(fd, (off_t) size, SEEK_SET) < 0) {
                digest_ctx_free(hash);
                return err_set(err, errno, "seek in upload %s: %s", uuid, strerror(errno));
        }
        w = xcalloc(1, sizeof(*w));
        w->base.ops = &fs_writer_ops;
        w->base.start = w->base.size = size;
        w->fs = FS(s);
        w->fd = steal_fd(&fd);
        w->hash = hash;
        w->state_stale = !fresh;
        w->dir = steal_ptr(&dir);
        snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
        *ret = &w->base;
        return 0;
}

int
fsd_upload_delete(struct reg_store *s, const char *name, const char *uuid, struct err **err)
{
        _cleanup_free_ char *dir = fsd_upload_path(FS(s), name, uuid);

        if (access(dir, F_OK) < 0)
                return err_set(err, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s not found in %s", uuid, name),
                       -ENOENT;
        return fs_rm_rf(dir, err);
}

/* The digest of FD's SIZE bytes in D's algorithm: sha256 from the saved
 * state, others by reading them. */
static int
data_digest(struct fs_store *fs, const char *dir, int fd, uint64_t size, const char *uuid,
            enum digest_alg alg, struct digest *ret, struct err **err)
{
        struct digest_ctx *ctx;
        bool fresh;
        int r;

        if (alg != DIGEST_SHA256) {
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return err_set(err, errno, "seek in upload %s: %s", uuid, strerror(errno));
                return digest_fd(alg, fd, ret, NULL, err);
        }
        r = resume_hash(fs, dir, fd, size, uuid, &ctx, &fresh, err);
        if (r < 0)
                return r;
        digest_ctx_final(ctx, ret);
        digest_ctx_free(ctx);
        return 0;
}

int
fsd_upload_commit(struct reg_store *s, const char *name, const char *uuid, const struct digest *d,
                  struct err **err)
{
        _cleanup_free_ char *dir = NULL, *data = NULL;
        _cleanup_free_ char *dst = fsd_blob_path(FS(s), d);
        _cleanup_close_ int fd = -1;
        struct digest got;
        uint64_t size;
        int r;

        fd = open_data(FS(s), name, uuid, O_RDONLY, &dir, &size, err);
        if (fd < 0)
                return fd;
        r = data_digest(FS(s), dir, fd, size, uuid, d->alg, &got, err);
        if (r < 0)
                return r;
        if (strcmp(got.str, d->str) != 0)
                return err_set(err, ERR_DIGEST_INVALID, "uploaded content has digest %s, not %s", got.str,
                               d->str);
        data = xasprintf("%s/data", dir);
        if (access(dst, F_OK) == 0) {
                utimensat(AT_FDCWD, dst, NULL, 0);
        } else {
                if (fsync(fd) < 0)
                        return err_set(err, errno, "fsync %s: %s", data, strerror(errno));
                r = fsd_mkparent(dst, err);
                if (r < 0)
                        return r;
                /* rename() is atomic: concurrent commits of the same digest
                 * each install identical bytes. */
                if (rename(data, dst) < 0)
                        return err_set(err, errno, "rename %s: %s", data, strerror(errno));
                {
                        _cleanup_free_ char *parent = xstrdup(dst);
                        *strrchr(parent, '/') = '\0';
                        r = fs_fsync_dir(parent, err);
                        if (r < 0)
                                return r;
                }
        }
        r = fsd_layer_link(s, name, d, err);
        if (r < 0)
                return r;
        return fs_rm_rf(dir, err);
}

int
fsd_upload_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata,
               struct err **err)
{
        _cleanup_free_ char *dir = fsd_repo_path(FS(s), name, "_uploads");
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return 0;
        while ((e = readdir(d))) {
                _cleanup_free_ char *data = NULL;
                struct stat st;
                int r;

                if (!reg_uuid_ok(e->d_name))
                        continue;
                data = xasprintf("%s/%s/data", dir, e->d_name);
                if (stat(data, &st) < 0 && fstatat(dirfd(d), e->d_name, &st, 0) < 0)
                        continue;
                r = cb(e->d_name, S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0, st.st_mtime, userdata);
                if (r < 0)
                        return err_set(err, -r, "walking %s", dir);
        }
        return 0;
}
