/* The S3 driver's blob reader.  The handlers read a body in small steps
 * (read_at), which as one ranged GET each would spend a round trip per
 * step; instead:
 *   - a blob that fits in one READ_AHEAD buffer, or any read away from
 *     where the last one stopped, is one ranged GET of READ_AHEAD bytes
 *     from that offset, kept for the reads that follow;
 *   - sequential reads of a larger blob are fed by one streaming GET of the
 *     rest of it, run by a thread of the reader into a RING-byte ring
 *     buffer: the store's bytes arrive while the previous ones go out to
 *     the client, and memory stays at one ring per download (the thread
 *     waits while the ring is full, so a slow client slows the GET).
 * A read elsewhere stops the stream (the thread is told to give up, and
 * joined) and goes back to ranged GETs.  stream does one GET for its whole
 * range. */
#include "registry/server/storage-s3-internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

#define READ_AHEAD (4 * 1024 * 1024)
#define RING (8 * 1024 * 1024)

struct s3_reader {
        struct reg_blob_reader base;
        struct s3_store *ss;
        char *key;
        /* ranged GETs */
        char *buf; /* READ_AHEAD bytes of the blob from buf_off */
        uint64_t buf_off;
        size_t buf_len;
        uint64_t next; /* where the last read stopped */
        /* the stream */
        bool streaming;
        pthread_t th;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        char *ring;
        size_t head, fill; /* ring[head .. head + fill) (mod RING) is the blob from ring_off */
        uint64_t ring_off, stream_from;
        bool done, cancel;
        int result;
        struct err *serr;
};

static int
ring_put(void *ctx, const void *data, size_t n)
{
        struct s3_reader *rd = ctx;
        const char *p = data;

        pthread_mutex_lock(&rd->mu);
        while (n) {
                size_t tail, room, k;

                while (rd->fill == RING && !rd->cancel)
                        pthread_cond_wait(&rd->cv, &rd->mu);
                if (rd->cancel) {
                        pthread_mutex_unlock(&rd->mu);
                        return -ECANCELED;
                }
                tail = (rd->head + rd->fill) % RING;
                room = RING - rd->fill;
                k = n < room ? n : room;
                if (k > RING - tail)
                        k = RING - tail;
                memcpy(rd->ring + tail, p, k);
                rd->fill += k;
                p += k;
                n -= k;
                pthread_cond_broadcast(&rd->cv);
        }
        pthread_mutex_unlock(&rd->mu);
        return 0;
}

static void *
stream_main(void *arg)
{
        struct s3_reader *rd = arg;
        struct err *e = NULL;
        int r =
            s3_get_range(rd->ss->c, rd->key, rd->stream_from, rd->base.size - rd->stream_from, ring_put, rd, NULL, &e);

        pthread_mutex_lock(&rd->mu);
        rd->done = true;
        rd->result = r;
        rd->serr = e;
        pthread_cond_broadcast(&rd->cv);
        pthread_mutex_unlock(&rd->mu);
        return NULL;
}

static void
stream_stop(struct s3_reader *rd)
{
        if (!rd->streaming)
                return;
        pthread_mutex_lock(&rd->mu);
        rd->cancel = true;
        pthread_cond_broadcast(&rd->cv);
        pthread_mutex_unlock(&rd->mu);
        pthread_join(rd->th, NULL);
        err_clear(&rd->serr);
        rd->streaming = false;
}

static bool
stream_start(struct s3_reader *rd, uint64_t off)
{
        if (!rd->ring)
                rd->ring = xmalloc(RING);
        rd->head = rd->fill = 0;
        rd->ring_off = rd->stream_from = off;
        rd->done = rd->cancel = false;
        rd->result = 0;
        if (pthread_create(&rd->th, NULL, stream_main, rd) != 0)
                return false;
        rd->streaming = true;
        return true;
}

static ssize_t
stream_read(struct s3_reader *rd, void *buf, size_t len, struct err **err)
{
        size_t n;

        pthread_mutex_lock(&rd->mu);
        while (rd->fill == 0 && !rd->done)
                pthread_cond_wait(&rd->cv, &rd->mu);
        if (rd->fill == 0) {
                /* Done: all of it was read, or it failed. */
                int r = rd->result;
                pthread_mutex_unlock(&rd->mu);
                if (r < 0) {
                        err_set(err, err_code(&rd->serr), "%s", err_msg(&rd->serr));
                        return s3d_fail(r, err, 0, rd->key);
                }
                return err_set(err, EAGAIN, "%s: the store's answer ended early", rd->key);
        }
        n = len < rd->fill ? len : rd->fill;
        if (n > RING - rd->head)
                n = RING - rd->head;
        memcpy(buf, rd->ring + rd->head, n);
        rd->head = (rd->head + n) % RING;
        rd->fill -= n;
        rd->ring_off += n;
        pthread_cond_broadcast(&rd->cv);
        pthread_mutex_unlock(&rd->mu);
        return (ssize_t) n;
}

struct fill_ctx {
        char *buf;
        size_t len, cap;
};

static int
fill_cb(void *ctx, const void *data, size_t n)
{
        struct fill_ctx *f = ctx;

        if (n > f->cap - f->len)
                return -EIO;
        memcpy(f->buf + f->len, data, n);
        f->len += n;
        return 0;
}

static ssize_t
s3_reader_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len, struct err **err)
{
        S3D_ERR(err);
        struct s3_reader *rd = (struct s3_reader *) br;
        struct fill_ctx f;
        uint64_t want;
        size_t n;
        int r;

        if (off >= br->size || len == 0)
                return 0;
        if (rd->buf_len && off >= rd->buf_off && off < rd->buf_off + rd->buf_len)
                goto from_buf;
        if (rd->streaming && off == rd->ring_off) {
                ssize_t k = stream_read(rd, buf, len, err);
                if (k > 0)
                        rd->next = off + (uint64_t) k;
                return k;
        }
        stream_stop(rd);
        /* Sequential past the first buffer of a big blob: stream the rest. */
        if (off == rd->next && off > 0 && br->size - off > READ_AHEAD && stream_start(rd, off)) {
                ssize_t k = stream_read(rd, buf, len, err);
                if (k > 0)
                        rd->next = off + (uint64_t) k;
                return k;
        }
        want = br->size - off < READ_AHEAD ? br->size - off : READ_AHEAD;
        if (!rd->buf)
                rd->buf = xmalloc(READ_AHEAD);
        f = (struct fill_ctx){.buf = rd->buf, .cap = READ_AHEAD};
        rd->buf_len = 0;
        r = s3_get_range(rd->ss->c, rd->key, off, want, fill_cb, &f, NULL, err);
        if (r < 0)
                return s3d_fail(r, err, 0, rd->key);
        rd->buf_off = off;
        rd->buf_len = f.len;
        if (!f.len)
                return 0;
from_buf:
        n = (size_t) (rd->buf_off + rd->buf_len - off);
        if (n > len)
                n = len;
        memcpy(buf, rd->buf + (off - rd->buf_off), n);
        rd->next = off + n;
        return (ssize_t) n;
}

struct stream_shim {
        int (*cb)(const void *data, size_t len, void *userdata);
        void *userdata;
};

static int
stream_shim_cb(void *ctx, const void *buf, size_t n)
{
        struct stream_shim *sh = ctx;

        return sh->cb(buf, n, sh->userdata);
}

static int
s3_reader_stream(struct reg_blob_reader *br, uint64_t off, uint64_t len,
                 int (*cb)(const void *data, size_t len, void *userdata), void *userdata, struct err **err)
{
        S3D_ERR(err);
        struct s3_reader *rd = (struct s3_reader *) br;
        struct stream_shim sh = {cb, userdata};
        int r;

        if (len == 0)
                return 0;
        r = s3_get_range(rd->ss->c, rd->key, off, len, stream_shim_cb, &sh, NULL, err);
        if (r < 0 && err_code(err) > 0 && err_code(err) < ERR_BASE)
                return s3d_fail(r, err, 0, rd->key);
        return r;
}

static void
s3_reader_close(struct reg_blob_reader *br)
{
        struct s3_reader *rd = (struct s3_reader *) br;

        stream_stop(rd);
        pthread_mutex_destroy(&rd->mu);
        pthread_cond_destroy(&rd->cv);
        free(rd->key);
        free(rd->buf);
        free(rd->ring);
        free(rd);
}

static const struct reg_blob_reader_ops s3_reader_ops = {
    .read_at = s3_reader_read_at,
    .stream = s3_reader_stream,
    .close = s3_reader_close,
};

struct reg_blob_reader *
s3d_reader_new(struct s3_store *ss, char *key, uint64_t size)
{
        struct s3_reader *rd = xcalloc(1, sizeof(*rd));

        rd->base.ops = &s3_reader_ops;
        rd->base.size = size;
        rd->ss = ss;
        rd->key = key;
        pthread_mutex_init(&rd->mu, NULL);
        pthread_cond_init(&rd->cv, NULL);
        return &rd->base;
}
