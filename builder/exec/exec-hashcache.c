/* The content digest cache of COPY/ADD sources (and RUN --mount=type=bind
 * context sources): the sha256 of a regular file's bytes, remembered by
 * what identifies an unchanged file (BuildKit's content cache and git's
 * index do the same): device, inode, size, mode, mtime and ctime, all to
 * the nanosecond.  ctime cannot be set by a user: any write, chmod, chown,
 * rename over or touch -m changes it, so a matching record means the bytes
 * were not changed through the file system since they were hashed.
 *
 * Racy files: a file whose ctime is less than RACY_SECONDS old at hashing
 * time could still change within the same timestamp tick (the file
 * system's granularity may be coarse) without a visible ctime change; its
 * digest is used for this build but not recorded.  --no-cache (and
 * IBUILD_NO_CONTENT_CACHE=1) hash every file and refresh the records.
 *
 * On disk: STORE/cache/content-digests, written atomically at the end of a
 * build that added records: a header line, then fixed-size binary records
 * (native endianness; a file from another machine fails the header check
 * and is ignored, as is any file that does not parse).  At most
 * HC_MAX_RECORDS are kept, the ones used by the latest build first. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/exec/exec-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#define HC_FILE "content-digests"
#define HC_MAGIC "ibuild-content-digests 1\n"
#define HC_MAX_RECORDS (1u << 20)
#define RACY_SECONDS 2

struct hc_rec {
        uint64_t dev, ino, size, mode;
        int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
        unsigned char sha256[32];
};

struct hc_slot {
        struct hc_rec rec;
        bool used;    /* occupied */
        bool touched; /* looked up or added by this build */
};

struct xhashcache {
        pthread_mutex_t lock;
        struct hc_slot *slots;
        size_t cap, n;
        bool dirty;
        bool bypass; /* hash everything; still record */
        char *path;
};

static uint64_t
hc_hash(uint64_t dev, uint64_t ino)
{
        uint64_t h = dev * 0x9e3779b97f4a7c15ULL ^ ino;

        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

static struct hc_slot *
hc_find(struct xhashcache *c, uint64_t dev, uint64_t ino)
{
        size_t i = (size_t) hc_hash(dev, ino) & (c->cap - 1);

        while (c->slots[i].used) {
                if (c->slots[i].rec.dev == dev && c->slots[i].rec.ino == ino)
                        return &c->slots[i];
                i = (i + 1) & (c->cap - 1);
        }
        return &c->slots[i];
}

static void
hc_grow(struct xhashcache *c)
{
        struct hc_slot *old = c->slots;
        size_t oldcap = c->cap;

        c->cap = c->cap ? c->cap * 2 : 1024;
        c->slots = xcalloc(c->cap, sizeof(*c->slots));
        for (size_t i = 0; i < oldcap; i++)
                if (old[i].used)
                        *hc_find(c, old[i].rec.dev, old[i].rec.ino) = old[i];
        free(old);
}

static void
hc_put(struct xhashcache *c, const struct hc_rec *rec, bool touched)
{
        struct hc_slot *s;

        if ((c->n + 1) * 2 > c->cap)
                hc_grow(c);
        s = hc_find(c, rec->dev, rec->ino);
        if (!s->used)
                c->n++;
        s->rec = *rec;
        s->used = true;
        s->touched = touched;
}

static void
hc_load(struct xhashcache *c)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, hl = strlen(HC_MAGIC);
        struct err *e = NULL;

        if (fs_read_file(c->path, (size_t) HC_MAX_RECORDS * sizeof(struct hc_rec) + hl, &buf, &len, &e) < 0) {
                err_clear(&e);
                return;
        }
        if (len < hl || memcmp(buf, HC_MAGIC, hl) != 0 || (len - hl) % sizeof(struct hc_rec) != 0)
                return;
        /* Size the table once for what is loaded plus room to grow. */
        while (c->cap < 2 * ((len - hl) / sizeof(struct hc_rec) + 1024))
                c->cap *= 2;
        free(c->slots);
        c->slots = xcalloc(c->cap, sizeof(*c->slots));
        for (size_t off = hl; off < len; off += sizeof(struct hc_rec)) {
                struct hc_rec rec;

                memcpy(&rec, buf + off, sizeof(rec));
                hc_put(c, &rec, false);
        }
}

struct xhashcache *
xhashcache_open(const char *cache_dir, bool bypass)
{
        struct xhashcache *c = xcalloc(1, sizeof(*c));
        const char *env = getenv("IBUILD_NO_CONTENT_CACHE");

        pthread_mutex_init(&c->lock, NULL);
        c->path = xasprintf("%s/%s", cache_dir, HC_FILE);
        c->bypass = bypass || (env && *env && strcmp(env, "0") != 0);
        hc_grow(c);
        if (!c->bypass)
                hc_load(c);
        return c;
}

int
xhashcache_close(struct xhashcache *c, struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t hl = strlen(HC_MAGIC), n = 0, cap;
        int r = 0;

        if (!c)
                return 0;
        if (c->dirty) {
                cap = c->n < HC_MAX_RECORDS ? c->n : HC_MAX_RECORDS;
                buf = xmalloc(hl + cap * sizeof(struct hc_rec));
                memcpy(buf, HC_MAGIC, hl);
                /* This build's records first, then older ones while room. */
                for (int pass = 0; pass < 2; pass++)
                        for (size_t i = 0; i < c->cap && n < cap; i++)
                                if (c->slots[i].used && c->slots[i].touched == (pass == 0))
                                        memcpy(buf + hl + n++ * sizeof(struct hc_rec), &c->slots[i].rec,
                                               sizeof(struct hc_rec));
                r = fs_write_atomic(c->path, buf, hl + n * sizeof(struct hc_rec), 0644, err);
        }
        pthread_mutex_destroy(&c->lock);
        free(c->slots);
        free(c->path);
        free(c);
        return r;
}

static bool
same_file(const struct hc_rec *r, const struct stat *st)
{
        return r->size == (uint64_t) st->st_size && r->mode == (uint64_t) st->st_mode &&
               r->mtime_s == (int64_t) st->st_mtim.tv_sec && r->mtime_ns == (int64_t) st->st_mtim.tv_nsec &&
               r->ctime_s == (int64_t) st->st_ctim.tv_sec && r->ctime_ns == (int64_t) st->st_ctim.tv_nsec;
}

static void
set_digest(struct digest *d, const unsigned char *raw)
{
        memset(d, 0, sizeof(*d));
        d->alg = DIGEST_SHA256;
        digest_hex(raw, 32, d->hex);
        snprintf(d->str, sizeof(d->str), "sha256:%s", d->hex);
}

static int
hex_to_raw(const char *hex, unsigned char *out)
{
        for (size_t i = 0; i < 32; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (unsigned char) v;
        }
        return 0;
}

int
xhashcache_file_digest(struct xhashcache *c, int dirfd, const char *path, const struct stat *st,
                       struct digest *ret, struct err **err)
{
        _cleanup_close_ int fd = -1;
        struct stat fst;
        struct timespec now;
        struct hc_rec rec = {0};
        struct digest d;
        int r;

        if (c && !c->bypass) {
                pthread_mutex_lock(&c->lock);
                struct hc_slot *s = hc_find(c, (uint64_t) st->st_dev, (uint64_t) st->st_ino);

                if (s->used && same_file(&s->rec, st)) {
                        s->touched = true;
                        set_digest(ret, s->rec.sha256);
                        pthread_mutex_unlock(&c->lock);
                        return 0;
                }
                pthread_mutex_unlock(&c->lock);
        }
        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return err_set(err, errno, "%s: %s", path, strerror(errno));
        r = digest_fd(DIGEST_SHA256, fd, &d, NULL, err);
        if (r < 0)
                return r;
        /* Record what was hashed only if the file was the one the caller
         * saw before and after reading, and is not racily new. */
        if (c && fstat(fd, &fst) == 0 && fst.st_dev == st->st_dev && fst.st_ino == st->st_ino) {
                clock_gettime(CLOCK_REALTIME, &now);
                rec.dev = (uint64_t) fst.st_dev;
                rec.ino = (uint64_t) fst.st_ino;
                rec.size = (uint64_t) fst.st_size;
                rec.mode = (uint64_t) fst.st_mode;
                rec.mtime_s = (int64_t) fst.st_mtim.tv_sec;
                rec.mtime_ns = (int64_t) fst.st_mtim.tv_nsec;
                rec.ctime_s = (int64_t) fst.st_ctim.tv_sec;
                rec.ctime_ns = (int64_t) fst.st_ctim.tv_nsec;
                if (same_file(&rec, st) && fst.st_ctim.tv_sec + RACY_SECONDS < now.tv_sec &&
                    hex_to_raw(d.hex, rec.sha256) == 0) {
                        pthread_mutex_lock(&c->lock);
                        hc_put(c, &rec, true);
                        c->dirty = true;
                        pthread_mutex_unlock(&c->lock);
                }
        }
        *ret = d;
        return 0;
}
