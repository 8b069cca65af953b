/* Driver-independent parts of the storage interface (storage.h): the
 * reader and writer helpers, and the choice of driver from configuration. */
#include "registry/server/storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* reg_blob_reader_stream's piece: what one ranged read of an object store
 * answers comfortably, and a few socket buffers of a file. */
#define STREAM_PIECE (1024 * 1024)

void
reg_strv_free(struct reg_strv *sv)
{
        size_t i;

        if (!sv)
                return;
        for (i = 0; i < sv->n; i++)
                free(sv->v[i]);
        free(sv->v);
        sv->v = NULL;
        sv->n = 0;
}

void
reg_store_free(struct reg_store *s)
{
        if (s)
                s->ops->free(s);
}

struct reg_store *
reg_store_new(const struct reg_store_config *cfg, struct err **err)
{
        if (cfg->s3)
                return reg_store_s3_new(cfg->s3, cfg->s3_redirect, err);
        return reg_store_fs_new(cfg->root ? cfg->root : "/var/lib/ireg", err);
}

ssize_t
reg_blob_reader_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len,
                        struct err **err)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = br->ops->read_at(br, off + done, (char *) buf + done, len - done, err);
                if (n < 0)
                        return n;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int
reg_blob_reader_stream(struct reg_blob_reader *br, uint64_t off, uint64_t len,
                       int (*cb)(const void *data, size_t len, void *userdata), void *userdata,
                       struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        uint64_t done = 0;

        if (br->ops->stream)
                return br->ops->stream(br, off, len, cb, userdata, err);
        buf = xmalloc(len < STREAM_PIECE ? (size_t) (len ? len : 1) : STREAM_PIECE);
        while (done < len) {
                size_t want = len - done < STREAM_PIECE ? (size_t) (len - done) : STREAM_PIECE;
                ssize_t n = reg_blob_reader_read_at(br, off + done, buf, want, err);
                int r;

                if (n < 0)
                        return (int) n;
                if ((size_t) n < want)
                        return err_set(err, EIO, "blob ends at %llu bytes, before %llu",
                                       (unsigned long long) (off + done + (uint64_t) n),
                                       (unsigned long long) (off + len));
                r = cb(buf, (size_t) n, userdata);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
        }
        return 0;
}

int
reg_blob_reader_fd(struct reg_blob_reader *br)
{
        return br->ops->fd ? br->ops->fd(br) : -1;
}

void
reg_blob_reader_close(struct reg_blob_reader *br)
{
        if (br)
                br->ops->close(br);
}

int
reg_upload_writer_close(struct reg_upload_writer *w, struct err **err)
{
        return w ? w->ops->close(w, err) : 0;
}

void
reg_upload_writer_discard(struct reg_upload_writer *w)
{
        if (w)
                w->ops->discard(w);
}
