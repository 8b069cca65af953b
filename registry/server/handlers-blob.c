/* Blob downloads (GET/HEAD .../blobs/DIGEST, with Range) and deletes.
 *
 * A body comes from the driver's blob reader.  Over plain TCP, a large
 * body of a reader that lends an fd (the filesystem driver) goes out with
 * sendfile from the sender threads (sender.c says why not through
 * libmicrohttpd's own fd responses); everything else, small bodies, TLS,
 * and readers without an fd (an object store streaming ranged GETs),
 * through a read callback that fills the response's 256 KiB buffer with
 * read_at.  Either way memory stays at one buffer per download in flight,
 * and nothing is read until sent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/server/handlers-internal.h"

#define BLOB_SEND_BLOCK (256 * 1024)
/* Below this the connection is worth keeping open more than sendfile is
 * worth having (the sendfile path ends by closing it). */
#define BLOB_SENDFILE_MIN (1024 * 1024)

struct blob_body {
        struct reg_blob_reader *br;
        uint64_t start;
        struct reg_sender *sender; /* NULL: read_at */
        bool queued;
        struct reg_send_job job;
        uint64_t *bytes_out; /* the request's, for the log: what was sent */
};

static ssize_t
blob_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct blob_body *bb = cls;
        ssize_t n;

        if (bb->queued) { /* called again once the sender resumed us */
                *bb->bytes_out = (uint64_t) bb->job.off - bb->start;
                return atomic_load(&bb->job.result) > 0 ? MHD_CONTENT_READER_END_OF_STREAM
                                                        : MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (bb->sender && pos == 0) {
                bb->job.fd = reg_blob_reader_fd(bb->br);
                bb->job.off = (off_t) bb->start;
                if (reg_sender_queue(bb->sender, &bb->job) == 0) {
                        bb->queued = true;
                        return 0;
                }
        }
        n = bb->br->ops->read_at(bb->br, bb->start + pos, buf, max, NULL);
        /* Blobs do not change while open, so an early end means the
         * content is not what it was: drop the connection. */
        return n <= 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void
blob_body_free(void *cls)
{
        struct blob_body *bb = cls;

        reg_blob_reader_close(bb->br);
        free(bb);
}

struct MHD_Response *
reg_blob_response(struct reg_req *r, struct reg_blob_reader *br, uint64_t start, uint64_t len,
                  bool sendfile_ok)
{
        struct blob_body *bb;
        struct MHD_Response *resp;
        size_t block = len < BLOB_SEND_BLOCK ? (size_t) (len ? len : 1) : BLOB_SEND_BLOCK;

        bb = xcalloc(1, sizeof(*bb));
        bb->br = br;
        bb->start = start;
        if (sendfile_ok && r->srv->sender && r->method == M_GET && len >= BLOB_SENDFILE_MIN &&
            reg_blob_reader_fd(br) >= 0) {
                bb->sender = r->srv->sender;
                bb->job.conn = r->conn;
                bb->job.end = (off_t) (start + len);
                bb->bytes_out = &r->bytes_out;
        }
        resp = MHD_create_response_from_callback(len, block, blob_body_read, bb, blob_body_free);
        if (!resp) {
                blob_body_free(bb);
                return NULL;
        }
        if (bb->sender)
                MHD_add_response_header(resp, "Connection", "close");
        return resp;
}

enum MHD_Result
reg_handle_blob_get(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;
        struct reg_range range;
        struct reg_blob_reader *br;
        uint64_t size;
        int rr;
        struct MHD_Response *resp;
        char etag[DIGEST_STR_MAX + 4], cr[96];
        int status = 200;

        digest_parse(r->route.ref, &d, NULL);
        /* Refreshes the link: gc's grace period counts from this use. */
        if (!OPS(r)->layer_use(ST(r), r->route.name, &d))
                return reg_respond_error(r, 404, "BLOB_UNKNOWN", "blob %s not found in %s", d.str,
                                         r->route.name);
        if (r->method == M_GET && OPS(r)->blob_url) {
                /* An object store's presigned URL: the client fetches the
                 * bytes (Range included) from the store itself. */
                _cleanup_free_ char *url = NULL;
                int u = OPS(r)->blob_url(ST(r), &d, &url, &e);

                if (u < 0)
                        return reg_respond_err(r, &e);
                if (u > 0) {
                        const char *h[] = { "Location", url, "Docker-Content-Digest", d.str, NULL };
                        return reg_respond_empty(r, 307, h);
                }
        }
        if (OPS(r)->blob_open(ST(r), &d, &br, &e) < 0)
                return reg_respond_err(r, &e);
        size = br->size;
        rr = reg_range_parse(reg_header(r, "Range"), size, &range, &e);
        if (rr < 0) {
                char crv[64];
                const char *h[] = { "Content-Range", crv, NULL };

                reg_blob_reader_close(br);
                snprintf(crv, sizeof(crv), "bytes */%llu", (unsigned long long) size);
                /* The distribution-spec's closed list of error codes has none
                 * for a Range the blob cannot satisfy (its RANGE_INVALID-like
                 * cases are all about uploads), so keep the HTTP 416 that says
                 * it and use UNSUPPORTED with a message naming the range. */
                return reg_respond_error_hdrs(r, 416, "UNSUPPORTED", h,
                                              "range not satisfiable: %.100s (blob %s is %llu bytes)",
                                              reg_header(r, "Range") ? reg_header(r, "Range") : "", d.str,
                                              (unsigned long long) size);
        }
        if (rr == 0) {
                range.start = 0;
                range.len = size;
        } else {
                status = 206;
        }
        resp = reg_blob_response(r, br, range.start, range.len, true);
        if (!resp)
                return reg_respond_error(r, 500, "UNKNOWN", "cannot create response");
        snprintf(etag, sizeof(etag), "\"%s\"", d.str);
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
        MHD_add_response_header(resp, "Docker-Content-Digest", d.str);
        MHD_add_response_header(resp, "ETag", etag);
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
        if (status == 206) {
                snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long) range.start,
                         (unsigned long long) (range.start + range.len - 1), (unsigned long long) size);
                MHD_add_response_header(resp, "Content-Range", cr);
        }
        if (r->method == M_GET)
                r->bytes_out += range.len;
        return reg_respond(r, status, resp);
}

enum MHD_Result
reg_handle_blob_delete(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;

        digest_parse(r->route.ref, &d, NULL);
        if (OPS(r)->layer_unlink(ST(r), r->route.name, &d, &e) < 0)
                return reg_respond_err(r, &e);
        reg_audit(r, "delete-blob", d.str);
        return reg_respond_empty(r, 202, REG_NO_HEADERS);
}
