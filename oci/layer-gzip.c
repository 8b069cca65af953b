/* Parallel gzip (pigz's scheme) for layer writing.
 *
 * The input is cut into fixed 1 MiB blocks.  Each block is compressed as
 * raw deflate on its own thread, primed with the previous block's last
 * 32 KiB as the dictionary (so matches can reach across the cut), and ended
 * with a sync flush (byte-aligned, not final); the last block is ended with
 * Z_FINISH.  The concatenated blocks are one valid deflate stream, framed
 * by a gzip header (RFC 1952: mtime 0, OS unix) and a trailer whose CRC-32
 * is combined from the per-block CRCs.  Block boundaries depend only on the
 * input, so the output is the same for any number of threads: a layer's
 * blob digest never depends on the machine that wrote it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "oci/layer-internal.h"

#define PGZ_BLOCK (1024 * 1024)
#define PGZ_DICT 32768
#define PGZ_MAX_THREADS 64

struct pgz_job {
        unsigned char *in;
        size_t in_len;
        unsigned char dict[PGZ_DICT];
        size_t dict_len;
        bool last;
        int level;
        unsigned char *out;
        size_t out_cap, out_len;
        uLong crc;
        int rc;    /* 0, or a zlib error */
        bool done; /* compressed (guarded by the lock with workers) */
};

/* Jobs form a ring of nslots, numbered by sequence: job s lives in slot
 * s % nslots.  [emitted, taken) are with workers or done, [taken, filling)
 * are ready for a worker, `filling` is being filled by the caller.  The
 * caller emits finished jobs in order while the workers compress later
 * ones, so reading, hashing and writing overlap with compression. */
struct oci_layer_pgzip {
        int level;
        int nworkers; /* 0: compress on the caller's thread */
        size_t nslots;
        struct pgz_job *jobs;
        uint64_t emitted, taken, filling;
        pthread_mutex_t m;
        pthread_cond_t work; /* a job is ready, or stop */
        pthread_cond_t done; /* a job is done */
        bool stop;
        pthread_t tids[PGZ_MAX_THREADS];
        unsigned char tail[PGZ_DICT];
        size_t tail_len;
        uLong crc;
        uint64_t isize;
        bool header_done;
};

static void *
pgz_compress(void *arg)
{
        struct pgz_job *j = arg;
        z_stream z;
        int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH;
        int zr;

        memset(&z, 0, sizeof(z));
        j->out_len = 0;
        j->crc = crc32(0L, j->in, (uInt) j->in_len);
        /* windowBits -15: raw deflate; the gzip frame is ours. */
        if (deflateInit2(&z, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                j->rc = Z_MEM_ERROR;
                return NULL;
        }
        if (j->dict_len && deflateSetDictionary(&z, j->dict, (uInt) j->dict_len) != Z_OK) {
                deflateEnd(&z);
                j->rc = Z_STREAM_ERROR;
                return NULL;
        }
        z.next_in = j->in;
        z.avail_in = (uInt) j->in_len;
        for (;;) {
                if (j->out_len == j->out_cap) {
                        j->out_cap = j->out_cap ? j->out_cap * 2 : deflateBound(&z, (uLong) j->in_len) + 1024;
                        j->out = xrealloc(j->out, j->out_cap);
                }
                z.next_out = j->out + j->out_len;
                z.avail_out = (uInt) (j->out_cap - j->out_len);
                zr = deflate(&z, flush);
                j->out_len = j->out_cap - z.avail_out;
                if (zr == Z_STREAM_ERROR) {
                        deflateEnd(&z);
                        j->rc = zr;
                        return NULL;
                }
                /* Done when all input is in and the flush completed (output
                 * space left over), or the final block ended the stream. */
                if (j->last ? zr == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0))
                        break;
        }
        deflateEnd(&z);
        j->rc = 0;
        return NULL;
}

static void *
pgz_worker(void *arg)
{
        struct oci_layer_pgzip *g = arg;

        pthread_mutex_lock(&g->m);
        for (;;) {
                struct pgz_job *j;

                while (!g->stop && g->taken == g->filling)
                        pthread_cond_wait(&g->work, &g->m);
                if (g->stop)
                        break;
                j = &g->jobs[g->taken++ % g->nslots];
                pthread_mutex_unlock(&g->m);
                pgz_compress(j);
                pthread_mutex_lock(&g->m);
                j->done = true;
                pthread_cond_broadcast(&g->done);
        }
        pthread_mutex_unlock(&g->m);
        return NULL;
}

struct oci_layer_pgzip *
oci_layer_pgzip_new(int level, int threads)
{
        struct oci_layer_pgzip *g = xcalloc(1, sizeof(*g));

        if (threads < 1)
                threads = 1;
        if (threads > PGZ_MAX_THREADS)
                threads = PGZ_MAX_THREADS;
        g->level = level;
        pthread_mutex_init(&g->m, NULL);
        pthread_cond_init(&g->work, NULL);
        pthread_cond_init(&g->done, NULL);
        if (threads > 1) {
                /* Two blocks per worker in flight keep every worker busy
                 * while the caller emits. */
                g->nslots = (size_t) threads * 2 + 1;
                g->jobs = xcalloc(g->nslots, sizeof(*g->jobs));
                for (int i = 0; i < threads; i++) {
                        if (pthread_create(&g->tids[i], NULL, pgz_worker, g) != 0)
                                break;
                        g->nworkers++;
                }
        }
        if (g->nworkers == 0) {
                free(g->jobs);
                g->nslots = 1;
                g->jobs = xcalloc(1, sizeof(*g->jobs));
        }
        for (size_t i = 0; i < g->nslots; i++) {
                g->jobs[i].in = xmalloc(PGZ_BLOCK);
                g->jobs[i].level = level;
        }
        return g;
}

void
oci_layer_pgzip_free(struct oci_layer_pgzip *g)
{
        if (!g)
                return;
        pthread_mutex_lock(&g->m);
        g->stop = true;
        pthread_cond_broadcast(&g->work);
        pthread_mutex_unlock(&g->m);
        for (int i = 0; i < g->nworkers; i++)
                pthread_join(g->tids[i], NULL);
        for (size_t i = 0; i < g->nslots; i++) {
                free(g->jobs[i].in);
                free(g->jobs[i].out);
        }
        free(g->jobs);
        pthread_mutex_destroy(&g->m);
        pthread_cond_destroy(&g->work);
        pthread_cond_destroy(&g->done);
        free(g);
}

/* Emit the oldest job (compressed: the caller made sure). */
static int
pgz_emit(struct oci_layer_pgzip *g, oci_layer_emit_fn emit, void *ud)
{
        struct pgz_job *j = &g->jobs[g->emitted % g->nslots];
        int r;

        if (!g->header_done) {
                /* ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (unix) */
                static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
                r = emit(ud, hdr, sizeof(hdr));
                if (r < 0)
                        return r;
                g->header_done = true;
        }
        if (j->rc != 0)
                return -EIO;
        r = emit(ud, j->out, j->out_len);
        if (r < 0)
                return r;
        g->crc = crc32_combine(g->crc, j->crc, (z_off_t) j->in_len);
        g->isize += j->in_len;
        g->emitted++;
        return 0;
}

/* Hand the job being filled over for compression; then emit what is done,
 * in order: everything when DRAIN, else at least enough to free a slot for
 * the next job. */
static int
pgz_submit(struct oci_layer_pgzip *g, bool drain, oci_layer_emit_fn emit, void *ud)
{
        int r;

        if (g->nworkers == 0) {
                pgz_compress(&g->jobs[0]);
                g->filling++;
                return pgz_emit(g, emit, ud);
        }
        pthread_mutex_lock(&g->m);
        g->jobs[g->filling % g->nslots].done = false;
        g->filling++;
        pthread_cond_signal(&g->work);
        for (;;) {
                struct pgz_job *j = &g->jobs[g->emitted % g->nslots];
                bool must = drain ? g->emitted < g->filling : g->filling - g->emitted >= g->nslots;

                if (g->emitted == g->filling || (!j->done && !must))
                        break;
                if (!j->done) {
                        pthread_cond_wait(&g->done, &g->m);
                        continue;
                }
                pthread_mutex_unlock(&g->m);
                r = pgz_emit(g, emit, ud);
                pthread_mutex_lock(&g->m);
                if (r < 0) {
                        pthread_mutex_unlock(&g->m);
                        return r;
                }
        }
        pthread_mutex_unlock(&g->m);
        return 0;
}

/* Start filling the next job: its dictionary is the tail of the block
 * before. */
static struct pgz_job *
pgz_start(struct oci_layer_pgzip *g)
{
        struct pgz_job *j = &g->jobs[g->filling % g->nslots];

        j->in_len = 0;
        j->last = false;
        memcpy(j->dict, g->tail, g->tail_len);
        j->dict_len = g->tail_len;
        return j;
}

int
oci_layer_pgzip_write(struct oci_layer_pgzip *g, const void *buf, size_t len, oci_layer_emit_fn emit, void *ud)
{
        const unsigned char *p = buf;

        while (len > 0) {
                struct pgz_job *j = &g->jobs[g->filling % g->nslots];
                size_t n;

                if (j->in_len == 0)
                        j = pgz_start(g);
                n = PGZ_BLOCK - j->in_len;
                if (n > len)
                        n = len;
                memcpy(j->in + j->in_len, p, n);
                j->in_len += n;
                p += n;
                len -= n;
                if (j->in_len < PGZ_BLOCK)
                        break;
                /* Block complete: its tail primes the next one. */
                memcpy(g->tail, j->in + PGZ_BLOCK - PGZ_DICT, PGZ_DICT);
                g->tail_len = PGZ_DICT;
                {
                        int r = pgz_submit(g, false, emit, ud);

                        if (r < 0)
                                return r;
                }
                g->jobs[g->filling % g->nslots].in_len = 0;
        }
        return 0;
}

int
oci_layer_pgzip_finish(struct oci_layer_pgzip *g, oci_layer_emit_fn emit, void *ud)
{
        unsigned char trailer[8];
        struct pgz_job *j = &g->jobs[g->filling % g->nslots];
        int r;

        /* The block being filled (maybe empty) ends the stream. */
        if (j->in_len == 0)
                j = pgz_start(g);
        j->last = true;
        r = pgz_submit(g, true, emit, ud);
        if (r < 0)
                return r;
        for (int i = 0; i < 4; i++) {
                trailer[i] = (unsigned char) (g->crc >> (8 * i));
                trailer[4 + i] = (unsigned char) (g->isize >> (8 * i));
        }
        return emit(ud, trailer, sizeof(trailer));
}
