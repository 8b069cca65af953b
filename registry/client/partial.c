/* Resumable blob downloads: the bytes of a blob being pulled go to
 * blobs/.tmp-pull-<alg>-<hex> of the destination layout, a name derived
 * from the digest, so that a run that was killed or gave up leaves a prefix
 * the next run can continue with a Range request instead of starting from
 * zero.  The prefix is re-hashed when reopened (nothing of it is trusted),
 * the file is flock'ed while in use, and it is only ever renamed into
 * blobs/<alg>/<hex> once its digest and size match. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "digest/digest.h"
#include "registry/client/client-internal.h"

#define PARTIAL_READ_BUF (512 * 1024)

static int partial_flush(struct reg_partial *pa, struct err **err);

static char *
partial_name(const struct digest *d)
{
        return xasprintf("blobs/" REG_PARTIAL_PREFIX "%s-%s", digest_alg_name(d->alg), d->hex);
}

/* Hash the first SIZE bytes of the file into the context. */
static int
rehash_prefix(struct reg_partial *pa, uint64_t size, struct err **err)
{
        _cleanup_free_ char *buf = xmalloc(PARTIAL_READ_BUF);
        uint64_t off = 0;

        while (off < size) {
                size_t want = size - off < PARTIAL_READ_BUF ? (size_t) (size - off) : PARTIAL_READ_BUF;
                ssize_t n = pread(pa->fd, buf, want, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return err_set(err, n < 0 ? errno : EIO, "reading %s/%s: %s",
                                       oci_layout_path(pa->layout), pa->name, n < 0 ? strerror(errno) : "short file");
                digest_ctx_update(pa->ctx, buf, (size_t) n);
                off += (uint64_t) n;
        }
        return 0;
}

int
reg_partial_open(struct oci_layout *layout, const struct digest *d, int64_t size, struct reg_partial *ret,
                 struct err **err)
{
        struct reg_partial pa = {.layout = layout, .d = *d, .size = size, .fd = -1};
        int dirfd = oci_layout_dirfd(layout);
        struct stat st;
        int r;

        pa.name = partial_name(d);
        pa.fd = openat(dirfd, pa.name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (pa.fd < 0) {
                r = err_set(err, errno, "create %s/%s: %s", oci_layout_path(layout), pa.name, strerror(errno));
                free(pa.name);
                return r;
        }
        if (flock(pa.fd, LOCK_EX | LOCK_NB) < 0) {
                /* Another pull is fetching the same blob into this layout:
                 * use a private file (removed when done either way). */
                close(pa.fd);
                char *priv = xasprintf("%s.%ld", pa.name, (long) getpid());
                free(pa.name);
                pa.name = priv;
                pa.private_name = true;
                pa.fd = openat(dirfd, pa.name, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (pa.fd < 0) {
                        r = err_set(err, errno, "create %s/%s: %s", oci_layout_path(layout), pa.name,
                                    strerror(errno));
                        free(pa.name);
                        return r;
                }
                flock(pa.fd, LOCK_EX | LOCK_NB);
        }
        pa.ctx = digest_ctx_new(d->alg);
        /* A fresh mtime: a store GC must not take it for a stale temp. */
        futimens(pa.fd, NULL);
        if (fstat(pa.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = err_set(err, errno ? errno : EINVAL, "%s/%s: not a regular file", oci_layout_path(layout),
                            pa.name);
                reg_partial_close(&pa, false);
                return r;
        }
        uint64_t have = (uint64_t) st.st_size;
        if (size >= 0 && have > (uint64_t) size)
                have = 0; /* longer than the blob: worthless */
        if (have > 0) {
                struct err *e = NULL;
                if (rehash_prefix(&pa, have, &e) < 0) {
                        err_clear(&e);
                        digest_ctx_reset(pa.ctx);
                        have = 0;
                }
        }
        if (have == 0 && st.st_size > 0 && ftruncate(pa.fd, 0) < 0) {
                r = err_set(err, errno, "truncate %s/%s: %s", oci_layout_path(layout), pa.name, strerror(errno));
                reg_partial_close(&pa, false);
                return r;
        }
        pa.got = have;
        *ret = pa;
        return 0;
}

int
reg_partial_restart(struct reg_partial *pa, struct err **err)
{
        struct err *e = NULL;
        if (partial_flush(pa, &e) < 0) {
                /* Whatever failed is gone with the bytes. */
                err_clear(&e);
                pthread_mutex_lock(&pa->lock);
                err_clear(&pa->async_err);
                pthread_mutex_unlock(&pa->lock);
        }
        if (ftruncate(pa->fd, 0) < 0)
                return err_set(err, errno, "truncate %s/%s: %s", oci_layout_path(pa->layout), pa->name,
                               strerror(errno));
        digest_ctx_reset(pa->ctx);
        pa->got = 0;
        if (pa->async) {
                /* The thread is idle (flushed): nothing races this. */
                pthread_mutex_lock(&pa->lock);
                pa->written = pa->hashed = 0;
                pthread_mutex_unlock(&pa->lock);
        }
        return 0;
}

/* Write LEN bytes at OFF of the file. */
static int
write_at(struct reg_partial *pa, const void *data, size_t len, uint64_t off, struct err **err)
{
        const char *p = data;
        size_t left = len;
        while (left > 0) {
                ssize_t n = pwrite(pa->fd, p, left, (off_t) off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return err_set(err, errno, "writing %s/%s: %s", oci_layout_path(pa->layout), pa->name,
                                       strerror(errno));
                p += n;
                left -= (size_t) n;
                off += (uint64_t) n;
        }
        return 0;
}

/* The hasher thread: hashes what the writes put in the file, reading it
 * back (from the page cache) behind them. */
static void *
hasher_main(void *arg)
{
        struct reg_partial *pa = arg;
        char *buf = xmalloc(PARTIAL_READ_BUF);
        pthread_mutex_lock(&pa->lock);
        for (;;) {
                while (pa->hashed == pa->written && !pa->stop) {
                        pa->idle = true;
                        pthread_cond_broadcast(&pa->cond);
                        pthread_cond_wait(&pa->cond, &pa->lock);
                }
                pa->idle = false;
                if (pa->hashed == pa->written)
                        break;
                uint64_t from = pa->hashed, to = pa->written;
                bool failed = pa->async_err != NULL;
                pthread_mutex_unlock(&pa->lock);
                struct err *e = NULL;
                while (!failed && from < to) {
                        size_t want = to - from < PARTIAL_READ_BUF ? (size_t) (to - from) : PARTIAL_READ_BUF;
                        ssize_t n = pread(pa->fd, buf, want, (off_t) from);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                err_set(&e, n < 0 ? errno : EIO, "reading back %s/%s: %s",
                                        oci_layout_path(pa->layout), pa->name, n < 0 ? strerror(errno) : "short file");
                                break;
                        }
                        digest_ctx_update(pa->ctx, buf, (size_t) n);
                        from += (uint64_t) n;
                }
                pthread_mutex_lock(&pa->lock);
                if (e && !pa->async_err)
                        pa->async_err = steal_ptr(&e);
                err_clear(&e);
                pa->hashed = to;
        }
        pa->idle = true;
        pthread_cond_broadcast(&pa->cond);
        pthread_mutex_unlock(&pa->lock);
        free(buf);
        return NULL;
}

void
reg_partial_async(struct reg_partial *pa)
{
        if (pa->async || pa->fd < 0)
                return;
        pthread_mutex_init(&pa->lock, NULL);
        pthread_cond_init(&pa->cond, NULL);
        pa->hashed = pa->written = pa->got;
        pa->idle = false;
        pa->stop = false;
        pa->async_err = NULL;
        if (pthread_create(&pa->thread, NULL, hasher_main, pa) != 0) {
                pthread_cond_destroy(&pa->cond);
                pthread_mutex_destroy(&pa->lock);
                return;
        }
        pa->async = true;
}

/* Wait until the hasher has caught up with the writes; its failure, if any. */
static int
partial_flush(struct reg_partial *pa, struct err **err)
{
        if (!pa->async)
                return 0;
        pthread_mutex_lock(&pa->lock);
        pthread_cond_broadcast(&pa->cond);
        while (pa->hashed != pa->written || !pa->idle)
                pthread_cond_wait(&pa->cond, &pa->lock);
        int r = 0;
        if (pa->async_err)
                r = err_set(err, err_code(&pa->async_err), "%s", err_msg(&pa->async_err));
        pthread_mutex_unlock(&pa->lock);
        return r;
}

static void
partial_stop(struct reg_partial *pa)
{
        if (!pa->async)
                return;
        pthread_mutex_lock(&pa->lock);
        pa->stop = true;
        pthread_cond_broadcast(&pa->cond);
        pthread_mutex_unlock(&pa->lock);
        pthread_join(pa->thread, NULL);
        err_clear(&pa->async_err);
        pthread_cond_destroy(&pa->cond);
        pthread_mutex_destroy(&pa->lock);
        pa->async = false;
}

int
reg_partial_write(struct reg_partial *pa, const void *data, size_t len, struct err **err)
{
        if (pa->size >= 0 && pa->got + len > (uint64_t) pa->size)
                return err_set(err, ERR_SIZE_INVALID, "blob %s: more than the %" PRId64 " bytes its descriptor states",
                               pa->d.str, pa->size);
        int r = write_at(pa, data, len, pa->got, err);
        if (r < 0)
                return r;
        pa->got += len;
        if (!pa->async) {
                digest_ctx_update(pa->ctx, data, len);
                return 0;
        }
        /* The hash on the thread (reading the write back). */
        pthread_mutex_lock(&pa->lock);
        if (pa->async_err)
                r = err_set(err, err_code(&pa->async_err), "%s", err_msg(&pa->async_err));
        pa->written = pa->got;
        if (pa->idle)
                pthread_cond_broadcast(&pa->cond);
        pthread_mutex_unlock(&pa->lock);
        return r;
}

int
reg_partial_commit(struct reg_partial *pa, struct err **err)
{
        int dirfd = oci_layout_dirfd(pa->layout);
        const char *lp = oci_layout_path(pa->layout);
        struct digest got;
        int fr = partial_flush(pa, err);

        if (fr < 0)
                return fr;
        if (pa->size >= 0 && pa->got != (uint64_t) pa->size) {
                int r = err_set(err, ERR_SIZE_INVALID, "blob %s: expected %" PRId64 " bytes, got %" PRIu64, pa->d.str,
                                pa->size, pa->got);
                reg_partial_restart(pa, NULL);
                return r;
        }
        digest_ctx_final(pa->ctx, &got);
        if (strcmp(got.str, pa->d.str) != 0) {
                /* Worthless for a resume: start from zero next time. */
                reg_partial_restart(pa, NULL);
                return err_set(err, ERR_DIGEST_INVALID, "blob content does not match %s: it hashes to %s", pa->d.str,
                               got.str);
        }
        if (fsync(pa->fd) < 0)
                return err_set(err, errno, "fsync %s/%s: %s", lp, pa->name, strerror(errno));
        _cleanup_free_ char *alg_dir = xasprintf("blobs/%s", digest_alg_name(pa->d.alg));
        if (mkdirat(dirfd, alg_dir, 0755) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s/%s: %s", lp, alg_dir, strerror(errno));
        _cleanup_free_ char *final = xasprintf("%s/%s", alg_dir, pa->d.hex);
        if (renameat(dirfd, pa->name, dirfd, final) < 0)
                return err_set(err, errno, "rename %s/%s to %s: %s", lp, pa->name, final, strerror(errno));
        free(pa->name);
        pa->name = NULL;
        _cleanup_close_ int afd = openat(dirfd, alg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (afd < 0 || fsync(afd) < 0)
                return err_set(err, errno, "fsync %s/%s: %s", lp, alg_dir, strerror(errno));
        return 0;
}

void
reg_partial_close(struct reg_partial *pa, bool keep)
{
        if (!pa || pa->fd < 0)
                return;
        partial_stop(pa);
        if (pa->name && (!keep || pa->private_name || pa->got == 0))
                unlinkat(oci_layout_dirfd(pa->layout), pa->name, 0);
        close(pa->fd);
        pa->fd = -1;
        digest_ctx_free(pa->ctx);
        pa->ctx = NULL;
        free(pa->name);
        pa->name = NULL;
}

/* The blob a partial file name stands for ("pull-sha256-<hex>"), if any. */
static bool
partial_digest(const char *name, struct digest *ret)
{
        const char *rest = name + strlen(REG_PARTIAL_PREFIX);
        const char *dash = strchr(rest, '-');
        if (!dash || strchr(dash, '.'))
                return false;
        _cleanup_free_ char *s = xasprintf("%.*s:%s", (int) (dash - rest), rest, dash + 1);
        struct err *e = NULL;
        if (digest_parse(s, ret, &e) < 0) {
                err_clear(&e);
                return false;
        }
        return true;
}

int
reg_partials_sweep(struct oci_layout *layout, time_t now, size_t *ret_removed, struct err **err)
{
        int dirfd = oci_layout_dirfd(layout);
        _cleanup_close_ int bfd = openat(dirfd, "blobs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t removed = 0;

        if (bfd < 0)
                return err_set(err, errno, "open %s/blobs: %s", oci_layout_path(layout), strerror(errno));
        int fd = dup(bfd);
        DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dh) {
                if (fd >= 0)
                        close(fd);
                return err_set(err, errno, "opendir %s/blobs: %s", oci_layout_path(layout), strerror(errno));
        }
        struct dirent *de;
        while ((de = readdir(dh))) {
                const char *n = de->d_name;
                struct stat st;
                if (strncmp(n, OCI_LAYOUT_TMP_PREFIX, strlen(OCI_LAYOUT_TMP_PREFIX)) != 0)
                        continue;
                if (fstatat(bfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                double age = difftime(now, st.st_mtime);
                bool stale;
                if (strncmp(n, REG_PARTIAL_PREFIX, strlen(REG_PARTIAL_PREFIX)) == 0) {
                        struct digest d;
                        bool ours = partial_digest(n, &d);
                        stale = age > REG_PARTIAL_MAX_AGE || !ours || oci_layout_has_blob(layout, &d);
                        if (!stale)
                                continue;
                        /* Never one a running pull holds. */
                        _cleanup_close_ int pfd = openat(bfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        if (pfd < 0 || flock(pfd, LOCK_EX | LOCK_NB) < 0)
                                continue;
                } else {
                        /* A blob writer's temp: writers keep it fresh. */
                        stale = age > REG_TEMP_MAX_AGE;
                }
                if (stale && unlinkat(bfd, n, 0) == 0)
                        removed++;
        }
        closedir(dh);
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}
