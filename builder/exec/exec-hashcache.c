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
 * and is ignored, as is any file that does not parse), read on first use.
 * At most HC_MAX_RECORDS are kept; a rewrite puts the ones this build used
 * first. */
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
#define HC_MAX_RECORDS (1u << 18) /* 24 MiB of records */
#define RACY_SECONDS 2

struct hc_rec {
        uint64_t dev, ino, size, mode;
        int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
        unsigned char sha256[32];
};

struct xhashcache {
        pthread_mutex_t lock;
        struct hc_rec *recs; /* records, in load/insert order */
        bool *touched;       /* recs[i] was looked up or added by this build */
        size_t n, n_cap;
        uint32_t *slots; /* open addressing: index + 1 into recs, 0 = empty */
        size_t cap;      /* slots, a power of two, at least 2n */
        bool loaded, dirty;
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

/* The slot of (DEV, INO): holding it, or the empty one it would go to. */
static uint32_t *
hc_find(struct xhashcache *c, uint64_t dev, uint64_t ino)
{
        size_t i = (size_t) hc_hash(dev, ino) & (c->cap - 1);

        while (c->slots[i]) {
                const struct hc_rec *r = &c->recs[c->slots[i] - 1];

                if (r->dev == dev && r->ino == ino)
                        return &c->slots[i];
                i = (i + 1) & (c->cap - 1);
        }
        return &c->slots[i];
}

static void
hc_resize(struct xhashcache *c, size_t want)
{
        size_t cap = 1024;

        while (cap < 2 * want)
                cap *= 2;
        if (cap <= c->cap)
                return;
        free(c->slots);
        c->cap = cap;
        c->slots = xcalloc(cap, sizeof(*c->slots));
        for (size_t i = 0; i < c->n; i++)
                *hc_find(c, c->recs[i].dev, c->recs[i].ino) = (uint32_t) (i + 1);
}

static void
hc_put(struct xhashcache *c, const struct hc_rec *rec, bool touched)
{
        uint32_t *slot;

        if (c->n >= 2 * (size_t) HC_MAX_RECORDS)
                return; /* the file keeps HC_MAX_RECORDS: no point */
        hc_resize(c, c->n + 1);
        slot = hc_find(c, rec->dev, rec->ino);
        if (*slot) {
                c->recs[*slot - 1] = *rec;
                c->touched[*slot - 1] = touched;
                return;
        }
        if (c->n == c->n_cap) {
                c->n_cap = c->n_cap ? c->n_cap * 2 : 1024;
                c->recs = xrealloc(c->recs, c->n_cap * sizeof(*c->recs));
                c->touched = xrealloc(c->touched, c->n_cap * sizeof(*c->touched));
        }
        c->recs[c->n] = *rec;
        c->touched[c->n] = touched;
        *slot = (uint32_t) ++c->n;
}

/* Read the records (once, on first use: a build without COPY never pays). */
static void
hc_load(struct xhashcache *c)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, hl = strlen(HC_MAGIC), n;
        struct err *e = NULL;

        c->loaded = true;
        if (c->bypass)
                return;
        if (fs_read_file(c->path, (size_t) HC_MAX_RECORDS * sizeof(struct hc_rec) + hl, &buf, &len, &e) < 0) {
                err_clear(&e);
                return;
        }
        if (len < hl || memcmp(buf, HC_MAGIC, hl) != 0 || (len - hl) % sizeof(struct hc_rec) != 0)
                return;
        n = (len - hl) / sizeof(struct hc_rec);
        c->n_cap = n + 1024;
        c->recs = xmalloc(c->n_cap * sizeof(*c->recs));
        c->touched = xcalloc(c->n_cap, sizeof(*c->touched));
        memcpy(c->recs, buf + hl, n * sizeof(struct hc_rec));
        hc_resize(c, c->n_cap);
        /* A duplicate (dev, ino) in a damaged file: the later one wins. */
        for (size_t i = 0; i < n; i++) {
                uint32_t *slot = hc_find(c, c->recs[i].dev, c->recs[i].ino);

                if (*slot)
                        c->recs[*slot - 1] = c->recs[i];
                else
                        *slot = (uint32_t) (i + 1);
        }
        c->n = n;
}

struct xhashcache *
xhashcache_open(const char *cache_dir, bool bypass)
{
        struct xhashcache *c = xcalloc(1, sizeof(*c));
        const char *env = getenv("IBUILD_NO_CONTENT_CACHE");

        pthread_mutex_init(&c->lock, NULL);
        c->path = xasprintf("%s/%s", cache_dir, HC_FILE);
        c->bypass = bypass || (env && *env && strcmp(env, "0") != 0);
        return c;
}

int
xhashcache_close(struct xhashcache *c, struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t hl = strlen(HC_MAGIC), n = 0;
        int r = 0;

        if (!c)
                return 0;
        if (c->dirty) {
                size_t cap = c->n < HC_MAX_RECORDS ? c->n : HC_MAX_RECORDS;

                buf = xmalloc(hl + cap * sizeof(struct hc_rec));
                memcpy(buf, HC_MAGIC, hl);
                /* This build's records first, then older ones while room. */
                for (int pass = 0; pass < 2; pass++)
                        for (size_t i = 0; i < c->n && n < cap; i++)
                                if (c->touched[i] == (pass == 0))
                                        memcpy(buf + hl + n++ * sizeof(struct hc_rec), &c->recs[i],
                                               sizeof(struct hc_rec));
                r = fs_write_atomic(c->path, buf, hl + n * sizeof(struct hc_rec), 0644, err);
        }
        pthread_mutex_destroy(&c->lock);
        free(c->recs);
        free(c->touched);
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
                uint32_t *slot;

                pthread_mutex_lock(&c->lock);
                if (!c->loaded)
                        hc_load(c);
                slot = c->cap ? hc_find(c, (uint64_t) st->st_dev, (uint64_t) st->st_ino) : NULL;
                if (slot && *slot && same_file(&c->recs[*slot - 1], st)) {
                        c->touched[*slot - 1] = true;
                        set_digest(ret, c->recs[*slot - 1].sha256);
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
                        if (!c->loaded)
                                hc_load(c);
                        hc_put(c, &rec, true);
                        c->dirty = true;
                        pthread_mutex_unlock(&c->lock);
                }
        }
        *ret = d;
        return 0;
}
