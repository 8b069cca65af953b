/* The S3 driver's upload sessions, under repos/<name>/_uploads/<uuid>/:
 *   state                the session, rewritten after each request's data
 *                        is durable (below)
 *   chunk-<offset>-<id>  buffered bytes from OFFSET (chunks too small to be
 *                        a multipart part; together under 5 MiB)
 *   data                 where the multipart upload is completed at commit
 * The state object is text, one record a line:
 *   ireg-s3-upload 1
 *   size N               bytes in the session
 *   mpu ID               the multipart upload (of key data), or "-"
 *   part NUMBER SIZE ETAG   each part uploaded, in order
 *   chunk OFFSET SIZE ID each buffered chunk, in order, after the parts
 *   hash STATE           digest_ctx_save of the session's N bytes
 * Any replica continues a session from it (ERR_RANGE_INVALID when the
 * request's offset is not N) and the committing one verifies the digest
 * from the saved hash without reading the bytes again.  A writer keeps at
 * most two parts (PART_BUF each) in memory: when buffered chunks and new
 * bytes fill one, it goes out as the next part from a thread while the
 * other fills, and the chunks are deleted (after the state that no longer
 * names them is written).  Commit completes the
 * multipart upload to data and copies it (server-side) to the blob's key:
 * the blob appears under its digest only whole and verified. */
#include "registry/server/storage-s3-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "registry/server/route.h"

/* Bytes per multipart part (S3's minimum is 5 MiB); one buffer per writer. */
#define PART_BUF (8 * 1024 * 1024)
/* CopyObject's limit: larger blobs are copied part by part. */
#define COPY_MAX (5ULL * 1024 * 1024 * 1024)
#define COPY_PART (1ULL * 1024 * 1024 * 1024)
#define STATE_MAX (64 * 1024 + (size_t) S3_MPU_MAX_PARTS * 128)

/* A buffered chunk: its key carries a random id, so two writers racing
 * at one offset (two replicas given the same request) write different
 * objects, and the state that wins names its own bytes. */
struct chunk {
        uint64_t off, size;
        char id[17];
};

struct session {
        uint64_t size;
        char *mpu; /* NULL: none yet */
        struct s3_part *parts;
        size_t n_parts;
        struct chunk *chunks;
        size_t n_chunks;
        char hash[DIGEST_STATE_MAX];
};

static void
session_clear(struct session *ss)
{
        free(ss->mpu);
        free(ss->parts);
        free(ss->chunks);
        memset(ss, 0, sizeof(*ss));
}

static char *
upload_key(const char *name, const char *uuid, const char *leaf)
{
        return xasprintf("repos/%s/_uploads/%s/%s", name, uuid, leaf);
}

static char *
chunk_key(const char *name, const char *uuid, const struct chunk *c)
{
        return xasprintf("repos/%s/_uploads/%s/chunk-%020" PRIu64 "-%s", name, uuid, c->off, c->id);
}

static int
no_such_upload(const char *name, const char *uuid, struct err **err)
{
        S3D_ERR(err);
        err_set(err, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s not found in %s", uuid, name);
        return -ENOENT;
}

static int
parse_state(const char *text, struct session *ss, const char *uuid, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL, *line;
        bool head = false;

        memset(ss, 0, sizeof(*ss));
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char word[16], a[256], etag[80];
                unsigned long long x, y;
                unsigned n;

                if (strcmp(line, "ireg-s3-upload 1") == 0) {
                        head = true;
                } else if (sscanf(line, "size %llu", &x) == 1) {
                        ss->size = x;
                } else if (sscanf(line, "mpu %255s", a) == 1) {
                        free(ss->mpu);
                        ss->mpu = strcmp(a, "-") ? xstrdup(a) : NULL;
                } else if (sscanf(line, "part %u %llu %79s", &n, &x, etag) == 3) {
                        if (ss->n_parts >= S3_MPU_MAX_PARTS)
                                goto bad;
                        ss->parts = xrealloc(ss->parts, sizeof(*ss->parts) * (ss->n_parts + 1));
                        ss->parts[ss->n_parts].number = n;
                        ss->parts[ss->n_parts].size = x;
                        snprintf(ss->parts[ss->n_parts].etag, sizeof(ss->parts[0].etag), "%s",
                                 strcmp(etag, "-") ? etag : "");
                        ss->n_parts++;
                } else if (sscanf(line, "chunk %llu %llu %16s", &x, &y, a) == 3 && strlen(a) == 16 &&
                           strspn(a, "0123456789abcdef") == 16) {
                        ss->chunks = xrealloc(ss->chunks, sizeof(*ss->chunks) * (ss->n_chunks + 1));
                        ss->chunks[ss->n_chunks] = (struct chunk){x, y, ""};
                        memcpy(ss->chunks[ss->n_chunks++].id, a, 17);
                } else if (sscanf(line, "%15s", word) == 1 && strcmp(word, "hash") == 0 &&
                           strlen(line) - 5 < sizeof(ss->hash)) {
                        snprintf(ss->hash, sizeof(ss->hash), "%s", line + 5);
                } else {
                        goto bad;
                }
        }
        if (head && ss->hash[0])
                return 0;
bad:
        session_clear(ss);
        return err_set(err, EIO, "upload %s: corrupt session state", uuid);
}

/* The session's state: ERR_BLOB_UPLOAD_UNKNOWN when there is none. */
static int
load_session(struct s3_store *st, const char *name, const char *uuid, struct session *ret, time_t *ret_mtime,
             struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = upload_key(name, uuid, "state");
        _cleanup_free_ char *text = NULL;
        int r = s3_get(st->c, k, STATE_MAX, &text, &(size_t){0}, err);

        if (r < 0) {
                if (err_code(err) == ENOENT) {
                        err_clear(err);
                        return no_such_upload(name, uuid, err);
                }
                return s3d_fail(r, err, 0, k);
        }
        if (ret_mtime) {
                struct s3_object_info info;
                *ret_mtime = s3_head(st->c, k, &info, NULL) == 0 ? info.mtime : 0;
        }
        return parse_state(text, ret, uuid, err);
}

static int
save_session(struct s3_store *st, const char *name, const char *uuid, const struct session *ss, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *k = upload_key(name, uuid, "state");
        size_t cap = 512 + ss->n_parts * 128 + ss->n_chunks * 48, len = 0, i;
        _cleanup_free_ char *text = xmalloc(cap);
        int r;

        len += (size_t) snprintf(text + len, cap - len, "ireg-s3-upload 1\nsize %" PRIu64 "\nmpu %s\n", ss->size,
                                 ss->mpu ? ss->mpu : "-");
        for (i = 0; i < ss->n_parts; i++)
                len += (size_t) snprintf(text + len, cap - len, "part %u %" PRIu64 " %s\n", ss->parts[i].number,
                                         ss->parts[i].size, ss->parts[i].etag[0] ? ss->parts[i].etag : "-");
        for (i = 0; i < ss->n_chunks; i++)
                len += (size_t) snprintf(text + len, cap - len, "chunk %" PRIu64 " %" PRIu64 " %s\n", ss->chunks[i].off,
                                         ss->chunks[i].size, ss->chunks[i].id);
        len += (size_t) snprintf(text + len, cap - len, "hash %s\n", ss->hash);
        r = s3_put(st->c, k, text, len, NULL, err);
        return r < 0 ? s3d_fail(r, err, 0, k) : 0;
}

static uint64_t
chunks_total(const struct session *ss)
{
        uint64_t t = 0;
        size_t i;

        for (i = 0; i < ss->n_chunks; i++)
                t += ss->chunks[i].size;
        return t;
}

/* The buffered chunks' bytes into BUF (chunks_total bytes). */
static int
load_chunks(struct s3_store *st, const char *name, const char *uuid, const struct session *ss, char *buf,
            struct err **err)
{
        S3D_ERR(err);
        size_t i, at = 0;

        for (i = 0; i < ss->n_chunks; i++) {
                _cleanup_free_ char *k = chunk_key(name, uuid, &ss->chunks[i]);
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                int r = s3_get(st->c, k, (size_t) ss->chunks[i].size, &data, &len, err);

                if (r < 0)
                        return s3d_fail(r, err, 0, k);
                if (len != ss->chunks[i].size)
                        return err_set(err, EIO, "upload %s: chunk at %" PRIu64 " is %zu bytes, not %" PRIu64, uuid,
                                       ss->chunks[i].off, len, ss->chunks[i].size);
                memcpy(buf + at, data, len);
                at += len;
        }
        return 0;
}

static void
delete_chunks(struct s3_store *st, const char *name, const char *uuid, const struct chunk *c, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++) {
                _cleanup_free_ char *k = chunk_key(name, uuid, &c[i]);
                (void) s3_delete(st->c, k, NULL);
        }
}

int
s3d_upload_create(struct reg_store *s, const char *name, char *ret_uuid, struct err **err)
{
        S3D_ERR(err);
        unsigned char rnd[REG_UUID_LEN / 2];
        char uuid[REG_UUID_LEN + 1];
        struct session ss = {0};
        struct digest_ctx *ctx;
        int r;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return err_set(err, errno ? errno : EIO, "getrandom: %s", strerror(errno));
        digest_hex(rnd, sizeof(rnd), uuid);
        ctx = digest_ctx_new(DIGEST_SHA256);
        r = digest_ctx_save(ctx, ss.hash, sizeof(ss.hash), err);
        digest_ctx_free(ctx);
        if (r < 0)
                return r;
        r = s3d_repo_add(S3S(s), name, err);
        if (r < 0)
                return r;
        r = save_session(S3S(s), name, uuid, &ss, err);
        if (r < 0)
                return r;
        memcpy(ret_uuid, uuid, sizeof(uuid));
        return 0;
}

int
s3d_upload_status(struct reg_store *s, const char *name, const char *uuid, uint64_t *ret_size, struct err **err)
{
        S3D_ERR(err);
        struct session ss;
        int r = load_session(S3S(s), name, uuid, &ss, NULL, err);

        if (r < 0)
                return r;
        *ret_size = ss.size;
        session_clear(&ss);
        return 0;
}

/* ---- writers ---- */

struct s3_writer {
        struct reg_upload_writer base;
        struct s3_store *st;
        struct session ss;
        struct digest_ctx *hash;
        char *name;
        char uuid[REG_UUID_LEN + 1];
        /* PART_BUF bytes: the session's buffered chunks at the front (their
         * PEND bytes, loaded only when a part is cut), new bytes after. */
        char *buf;
        uint64_t pend;
        size_t fresh; /* new bytes in buf, from buf + pend */
        bool pend_loaded;
        struct chunk *obsolete; /* chunks a part now holds: delete after the state */
        size_t n_obsolete;
        /* The part on its way to the store while buf fills again (a thread
         * per writer, one part in flight: two PART_BUF buffers at most). */
        bool busy;
        pthread_t th;
        char *spare; /* the other buffer */
        struct {
                struct s3_writer *w;
                char *key, *buf;
                size_t len;
                unsigned number;
                struct s3_part part;
                int r;
                struct err *e;
        } job;
};

static void *
part_main(void *arg)
{
        struct s3_writer *w = arg;

        w->job.r = s3_mpu_put_part(w->st->c, w->job.key, w->ss.mpu, w->job.number, w->job.buf, w->job.len, &w->job.part,
                                   &w->job.e);
        return NULL;
}

/* The finished job's part recorded in the session, or its error. */
static int
part_record(struct s3_writer *w, struct err **err)
{
        int r = w->job.r;

        if (r < 0) {
                err_set(err, err_code(&w->job.e), "%s", err_msg(&w->job.e));
                err_clear(&w->job.e);
                r = s3d_fail(r, err, 0, w->job.key);
        } else {
                w->job.part.size = w->job.len;
                w->ss.parts = xrealloc(w->ss.parts, sizeof(*w->ss.parts) * (w->ss.n_parts + 1));
                w->ss.parts[w->ss.n_parts++] = w->job.part;
        }
        free(w->job.key);
        w->job.key = NULL;
        return r < 0 ? r : 0;
}

/* Wait for the part in flight, and record it. */
static int
part_wait(struct s3_writer *w, struct err **err)
{
        if (!w->busy)
                return 0;
        pthread_join(w->th, NULL);
        w->busy = false;
        return part_record(w, err);
}

/* Send buf[0 .. pend + fresh) as the next part. */
/* Send buf[0 .. pend + fresh) as the next part: from a thread when
 * ASYNC (buf is swapped for the spare one, to fill meanwhile). */
static int
cut_part(struct s3_writer *w, bool async, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *dk = upload_key(w->name, w->uuid, "data");
        size_t len = (size_t) w->pend + w->fresh;
        int r;

        if (w->pend && !w->pend_loaded) {
                r = load_chunks(w->st, w->name, w->uuid, &w->ss, w->buf, err);
                if (r < 0)
                        return r;
                w->pend_loaded = true;
        }
        r = part_wait(w, err);
        if (r < 0)
                return r;
        if (w->ss.n_parts >= S3_MPU_MAX_PARTS)
                return err_set(err, ERR_SIZE_INVALID, "upload %s: more than %d parts", w->uuid, S3_MPU_MAX_PARTS);
        if (!w->ss.mpu) {
                r = s3_mpu_create(w->st->c, dk, &w->ss.mpu, err);
                if (r < 0)
                        return s3d_fail(r, err, 0, dk);
        }
        w->job.key = steal_ptr(&dk);
        w->job.buf = w->buf;
        w->job.len = len;
        w->job.number = (unsigned) w->ss.n_parts + 1;
        w->job.r = 0;
        if (async && pthread_create(&w->th, NULL, part_main, w) == 0) {
                w->busy = true;
                if (!w->spare)
                        w->spare = xmalloc(PART_BUF);
                w->buf = w->spare;
                w->spare = w->job.buf;
        } else {
                part_main(w);
                r = part_record(w, err);
                if (r < 0)
                        return r;
        }
        if (w->ss.n_chunks) {
                w->obsolete = xrealloc(w->obsolete, sizeof(*w->obsolete) * (w->n_obsolete + w->ss.n_chunks));
                memcpy(w->obsolete + w->n_obsolete, w->ss.chunks, sizeof(*w->obsolete) * w->ss.n_chunks);
                w->n_obsolete += w->ss.n_chunks;
                free(w->ss.chunks);
                w->ss.chunks = NULL;
                w->ss.n_chunks = 0;
        }
        w->pend = 0;
        w->pend_loaded = false;
        w->fresh = 0;
        return 0;
}

static int
s3_writer_write(struct reg_upload_writer *base, const void *data, size_t len, struct err **err)
{
        S3D_ERR(err);
        struct s3_writer *w = (struct s3_writer *) base;
        const char *p = data;

        while (len) {
                size_t room = PART_BUF - (size_t) w->pend - w->fresh, n = len < room ? len : room;
                int r;

                memcpy(w->buf + w->pend + w->fresh, p, n);
                w->fresh += n;
                digest_ctx_update(w->hash, p, n);
                w->base.size += n;
                p += n;
                len -= n;
                if (w->pend + w->fresh == PART_BUF) {
                        r = cut_part(w, true, err);
                        if (r < 0)
                                return err_prefix(err, "writing upload %s", w->uuid);
                }
        }
        return 0;
}

static void
s3_writer_discard(struct reg_upload_writer *base)
{
        struct s3_writer *w = (struct s3_writer *) base;

        if (w->busy) {
                /* A PUT in flight cannot be called back: let it end. */
                pthread_join(w->th, NULL);
                err_clear(&w->job.e);
                free(w->job.key);
        }
        free(w->spare);
        session_clear(&w->ss);
        digest_ctx_free(w->hash);
        free(w->name);
        free(w->buf);
        free(w->obsolete);
        free(w);
}

static int
s3_writer_close(struct reg_upload_writer *base, struct err **err)
{
        S3D_ERR(err);
        struct s3_writer *w = (struct s3_writer *) base;
        int r = 0;

        if (w->base.size == w->base.start)
                goto out;
        r = part_wait(w, err);
        if (r < 0)
                goto out;
        if (w->pend + w->fresh >= S3_MPU_MIN_PART) {
                r = cut_part(w, false, err);
        } else if (w->fresh) {
                struct chunk c = {w->base.size - w->fresh, w->fresh, ""};
                unsigned char rnd[8];
                _cleanup_free_ char *k = NULL;

                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
                        r = err_set(err, EIO, "getrandom: %s", strerror(errno));
                        goto out;
                }
                digest_hex(rnd, sizeof(rnd), c.id);
                k = chunk_key(w->name, w->uuid, &c);
                r = s3_put(w->st->c, k, w->buf + w->pend, w->fresh, NULL, err);
                if (r < 0) {
                        r = s3d_fail(r, err, 0, k);
                } else {
                        w->ss.chunks = xrealloc(w->ss.chunks, sizeof(*w->ss.chunks) * (w->ss.n_chunks + 1));
                        w->ss.chunks[w->ss.n_chunks++] = c;
                }
        }
        if (r >= 0) {
                /* The data is durable: now the state that names it. */
                w->ss.size = w->base.size;
                r = digest_ctx_save(w->hash, w->ss.hash, sizeof(w->ss.hash), err);
                if (r >= 0)
                        r = save_session(w->st, w->name, w->uuid, &w->ss, err);
                if (r >= 0)
                        delete_chunks(w->st, w->name, w->uuid, w->obsolete, w->n_obsolete);
        }
out:
        s3_writer_discard(base);
        return r < 0 ? r : 0;
}

static const struct reg_upload_writer_ops s3_writer_ops = {
    .write = s3_writer_write,
    .close = s3_writer_close,
    .discard = s3_writer_discard,
};

int
s3d_upload_writer(struct reg_store *s, const char *name, const char *uuid, uint64_t offset,
                  struct reg_upload_writer **ret, struct err **err)
{
        S3D_ERR(err);
        struct s3_writer *w;
        struct session ss;
        struct digest_ctx *hash;
        int r = load_session(S3S(s), name, uuid, &ss, NULL, err);

        if (r < 0)
                return r;
        if (offset != REG_UPLOAD_APPEND && offset != ss.size) {
                err_set(err, ERR_RANGE_INVALID, "upload %s holds %llu bytes: cannot write at %llu", uuid,
                        (unsigned long long) ss.size, (unsigned long long) offset);
                session_clear(&ss);
                return -ERR_RANGE_INVALID;
        }
        hash = digest_ctx_restore(ss.hash, strlen(ss.hash), err);
        if (!hash || digest_ctx_size(hash) != ss.size || chunks_total(&ss) >= S3_MPU_MIN_PART) {
                digest_ctx_free(hash);
                session_clear(&ss);
                err_clear(err);
                return err_set(err, EIO, "upload %s: session state does not match its %llu bytes", uuid,
                               (unsigned long long) ss.size);
        }
        w = xcalloc(1, sizeof(*w));
        w->base.ops = &s3_writer_ops;
        w->base.start = w->base.size = ss.size;
        w->st = S3S(s);
        w->ss = ss;
        w->hash = hash;
        w->name = xstrdup(name);
        snprintf(w->uuid, sizeof(w->uuid), "%s", uuid);
        w->buf = xmalloc(PART_BUF);
        w->pend = chunks_total(&ss);
        *ret = &w->base;
        return 0;
}

/* Every object of the session, the state last (a crash in between leaves
 * a session gc can still find and finish deleting). */
static int
delete_session(struct s3_store *st, const char *name, const char *uuid, const struct session *ss, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *dk = upload_key(name, uuid, "data");
        _cleanup_free_ char *sk = upload_key(name, uuid, "state");

        if (ss->mpu)
                (void) s3_mpu_abort(st->c, dk, ss->mpu, NULL);
        delete_chunks(st, name, uuid, ss->chunks, ss->n_chunks);
        (void) s3_delete(st->c, dk, NULL);
        if (s3_delete(st->c, sk, err) < 0)
                return s3d_fail(-1, err, 0, sk);
        return 0;
}

int
s3d_upload_delete(struct reg_store *s, const char *name, const char *uuid, struct err **err)
{
        S3D_ERR(err);
        struct session ss;
        int r = load_session(S3S(s), name, uuid, &ss, NULL, err);

        if (r < 0)
                return r;
        r = delete_session(S3S(s), name, uuid, &ss, err);
        session_clear(&ss);
        return r;
}

/* Copy SRC (SIZE bytes) to DST server-side: CopyObject, or part by part
 * above its 5 GiB limit. */
static int
copy_object(struct s3_store *st, const char *src, const char *dst, uint64_t size, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *id = NULL;
        _cleanup_free_ struct s3_part *parts = NULL;
        uint64_t off;
        size_t n = 0;
        int r;

        if (size <= COPY_MAX) {
                r = s3_copy(st->c, src, dst, NULL, err);
                return r < 0 ? s3d_fail(r, err, 0, dst) : 0;
        }
        r = s3_mpu_create(st->c, dst, &id, err);
        if (r < 0)
                return s3d_fail(r, err, 0, dst);
        parts = xcalloc((size_t) (size / COPY_PART + 1), sizeof(*parts));
        for (off = 0; off < size; off += COPY_PART, n++) {
                uint64_t len = size - off < COPY_PART ? size - off : COPY_PART;
                r = s3_mpu_copy_part(st->c, dst, id, (unsigned) n + 1, src, off, len, &parts[n], err);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = s3_mpu_complete(st->c, dst, id, parts, n, NULL, err);
        if (r < 0) {
                (void) s3_mpu_abort(st->c, dst, id, NULL);
                return s3d_fail(r, err, 0, dst);
        }
        return 0;
}

/* Make the session's SS.size bytes the object at BLOB_KEY. */
static int
install(struct s3_store *st, const char *name, const char *uuid, struct session *ss, const char *blob_key,
        struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *dk = upload_key(name, uuid, "data");
        _cleanup_free_ char *tail = NULL;
        uint64_t tlen = chunks_total(ss);
        struct s3_object_info info;
        int r;

        if (tlen) {
                tail = xmalloc((size_t) tlen);
                r = load_chunks(st, name, uuid, ss, tail, err);
                if (r < 0)
                        return r;
        }
        if (!ss->mpu) {
                /* Everything is in chunks (under 5 MiB): one atomic PUT. */
                r = s3_put(st->c, blob_key, tail ? tail : "", (size_t) tlen, NULL, err);
                return r < 0 ? s3d_fail(r, err, 0, blob_key) : 0;
        }
        if (tlen) {
                struct s3_part part;
                r = s3_mpu_put_part(st->c, dk, ss->mpu, (unsigned) ss->n_parts + 1, tail, (size_t) tlen, &part, err);
                if (r < 0)
                        return s3d_fail(r, err, 0, dk);
                ss->parts = xrealloc(ss->parts, sizeof(*ss->parts) * (ss->n_parts + 1));
                ss->parts[ss->n_parts++] = part;
        }
        r = s3_mpu_complete(st->c, dk, ss->mpu, ss->parts, ss->n_parts, NULL, err);
        if (r < 0 && err_code(err) != ENOENT)
                return s3d_fail(r, err, 0, dk);
        /* NoSuchUpload: an earlier commit completed it; data must be whole. */
        err_clear(err);
        r = s3_head(st->c, dk, &info, err);
        if (r < 0)
                return s3d_fail(r, err, 0, dk);
        if (info.size != ss->size)
                return err_set(err, EIO, "upload %s: assembled %" PRIu64 " bytes, not %" PRIu64, uuid, info.size,
                               ss->size);
        return copy_object(st, dk, blob_key, info.size, err);
}

int
s3d_upload_commit(struct reg_store *s, const char *name, const char *uuid, const struct digest *d, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *bk = s3d_blob_key(d);
        struct digest_ctx *ctx;
        struct session ss;
        struct digest got;
        struct s3_object_info info;
        int r = load_session(S3S(s), name, uuid, &ss, NULL, err);

        if (r < 0)
                return r;
        if (d->alg != DIGEST_SHA256) {
                session_clear(&ss);
                return err_set(err, ERR_UNSUPPORTED, "the S3 driver verifies sha256 uploads only, not %s",
                               digest_alg_name(d->alg));
        }
        ctx = digest_ctx_restore(ss.hash, strlen(ss.hash), err);
        if (!ctx || digest_ctx_size(ctx) != ss.size) {
                digest_ctx_free(ctx);
                session_clear(&ss);
                err_clear(err);
                return err_set(err, EIO, "upload %s: session state does not match its bytes", uuid);
        }
        digest_ctx_final(ctx, &got);
        digest_ctx_free(ctx);
        if (strcmp(got.str, d->str) != 0) {
                session_clear(&ss);
                return err_set(err, ERR_DIGEST_INVALID, "uploaded content has digest %s, not %s", got.str, d->str);
        }
        r = s3_head(S3S(s)->c, bk, &info, err);
        if (r < 0 && err_code(err) != ENOENT)
                r = s3d_fail(r, err, 0, bk);
        else if (r < 0 || info.size != ss.size) {
                err_clear(err);
                r = install(S3S(s), name, uuid, &ss, bk, err);
        }
        if (r >= 0)
                r = s3d_layer_link(s, name, d, err);
        if (r >= 0)
                r = delete_session(S3S(s), name, uuid, &ss, err);
        session_clear(&ss);
        return r < 0 ? r : 0;
}

struct upload_walk {
        struct s3_store *st;
        const char *name;
        size_t skip;
        reg_store_walk_cb cb;
        void *userdata;
};

static int
upload_walk_cb(const struct s3_list_entry *e, void *userdata)
{
        struct upload_walk *uw = userdata;
        const char *rel = e->key + uw->skip;
        char uuid[REG_UUID_LEN + 1];
        struct session ss;
        uint64_t size = 0;

        if (strlen(rel) != REG_UUID_LEN + strlen("/state") || strcmp(rel + REG_UUID_LEN, "/state") != 0)
                return 0;
        snprintf(uuid, sizeof(uuid), "%.*s", REG_UUID_LEN, rel);
        if (!reg_uuid_ok(uuid))
                return 0;
        if (load_session(uw->st, uw->name, uuid, &ss, NULL, NULL) == 0) {
                size = ss.size;
                session_clear(&ss);
        }
        return uw->cb(uuid, size, e->mtime, uw->userdata);
}

int
s3d_upload_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata, struct err **err)
{
        S3D_ERR(err);
        _cleanup_free_ char *p = xasprintf("repos/%s/_uploads/", name);
        struct upload_walk uw = {S3S(s), name, strlen(p), cb, userdata};

        return s3d_list_walk(S3S(s), p, upload_walk_cb, &uw, err);
}
