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
        int rc; /* 0, or a zlib error */
};

struct oci_layer_pgzip {
        int level;
        int nthreads;
        struct pgz_job *jobs; /* nthreads of them: one batch */
        int filled;           /* complete blocks waiting in jobs[] */
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

struct oci_layer_pgzip *
oci_layer_pgzip_new(int level, int threads)
{
        struct oci_layer_pgzip *g = xcalloc(1, sizeof(*g));

        if (threads < 1)
                threads = 1;
        if (threads > PGZ_MAX_THREADS)
                threads = PGZ_MAX_THREADS;
        g->level = level;
        g->nthreads = threads;
        g->jobs = xcalloc((size_t) threads, sizeof(*g->jobs));
        for (int i = 0; i < threads; i++) {
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
        for (int i = 0; i < g->nthreads; i++) {
                free(g->jobs[i].in);
                free(g->jobs[i].out);
        }
        free(g->jobs);
        free(g);
}

/* Compress jobs[0..n) in parallel (this thread takes one), then emit them in
 * order. */
static int
pgz_batch(struct oci_layer_pgzip *g, int n, oci_layer_emit_fn emit, void *ud)
{
        pthread_t tids[PGZ_MAX_THREADS];
        bool started[PGZ_MAX_THREADS] = { false };
        int r = 0;

        for (int i = 1; i < n; i++)
                started[i] = pthread_create(&tids[i], NULL, pgz_compress, &g->jobs[i]) == 0;
        pgz_compress(&g->jobs[0]);
        for (int i = 1; i < n; i++) {
                if (started[i])
                        pthread_join(tids[i], NULL);
                else
                        pgz_compress(&g->jobs[i]); /* no thread: do it here */
        }
        if (!g->header_done) {
                /* ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (unix) */
                static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
                r = emit(ud, hdr, sizeof(hdr));
                if (r < 0)
                        return r;
                g->header_done = true;
        }
        for (int i = 0; i < n; i++) {
                struct pgz_job *j = &g->jobs[i];

                if (j->rc != 0)
                        return -EIO;
                r = emit(ud, j->out, j->out_len);
                if (r < 0)
                        return r;
                g->crc = crc32_combine(g->crc, j->crc, (z_off_t) j->in_len);
                g->isize += j->in_len;
        }
        return 0;
}

/* Start filling jobs[i]: its dictionary is the tail of the block before. */
static void
pgz_start(struct oci_layer_pgzip *g, int i)
{
        struct pgz_job *j = &g->jobs[i];

        j->in_len = 0;
        j->last = false;
        memcpy(j->dict, g->tail, g->tail_len);
        j->dict_len = g->tail_len;
}

int
oci_layer_pgzip_write(struct oci_layer_pgzip *g, const void *buf, size_t len, oci_layer_emit_fn emit, void *ud)
{
        const unsigned char *p = buf;

        while (len > 0) {
                struct pgz_job *j = &g->jobs[g->filled];
                size_t n = PGZ_BLOCK - j->in_len;

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
                if (++g->filled == g->nthreads) {
                        int r = pgz_batch(g, g->filled, emit, ud);
                        if (r < 0)
                                return r;
                        g->filled = 0;
                }
                pgz_start(g, g->filled);
        }
        return 0;
}

int
oci_layer_pgzip_finish(struct oci_layer_pgzip *g, oci_layer_emit_fn emit, void *ud)
{
        unsigned char trailer[8];
        int r;

        /* The block being filled (maybe empty) ends the stream. */
        g->jobs[g->filled].last = true;
        r = pgz_batch(g, g->filled + 1, emit, ud);
        if (r < 0)
                return r;
        for (int i = 0; i < 4; i++) {
                trailer[i] = (unsigned char) (g->crc >> (8 * i));
                trailer[4 + i] = (unsigned char) (g->isize >> (8 * i));
        }
        return emit(ud, trailer, sizeof(trailer));
}
