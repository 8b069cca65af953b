/* Blob uploads (distribution-spec "Pushing blobs"): POST a session (or a
 * cross-repository mount, or a monolithic upload with ?digest=), PATCH
 * chunks, PUT the last one with ?digest=, GET the status, DELETE.
 *
 * A request's body goes to a writer of the driver (storage.h) as
 * libmicrohttpd delivers it; the driver keeps the session's bytes and
 * their running hash, so the PUT is verified without reading them again,
 * wherever the earlier chunks went.  The server's session table
 * (server.c) only keeps two requests of this process off one session at
 * once, and the OCI-Chunk-Min-Length rule's memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "registry/auth/auth.h"
#include "registry/server/handlers-internal.h"

/* Take session UUID of the request's repository for this request; its
 * size into r->upload_start. */
static int
open_session(struct reg_req *r, const char *uuid, struct err **err)
{
        int rc;

        /* A request that just finished with the session may not have been
         * reported completed yet (client aborted mid-body): wait a little. */
        for (int i = 0; i < 40; i++) {
                rc = reg_session_acquire(r->srv, r->route.name, uuid, &r->sess);
                if (rc != -EBUSY)
                        break;
                usleep(50 * 1000);
        }
        if (rc == -EBUSY) {
                r->sess = NULL;
                return err_set(err, ERR_RANGE_INVALID, "upload %s is in use by another request", uuid);
        }
        rc = OPS(r)->upload_status(ST(r), r->route.name, uuid, &r->upload_start, err);
        if (rc < 0) {
                reg_session_release(r->srv, r->sess, true);
                r->sess = NULL;
                return rc;
        }
        return 0;
}

static char *
upload_location(struct reg_req *r, const char *uuid)
{
        return xasprintf("/v2/%s/blobs/uploads/%s", r->route.name, uuid);
}

static void
range_value(char *buf, size_t len, uint64_t size)
{
        /* distribution's convention: "0-0" for an empty session. */
        snprintf(buf, len, "0-%llu", (unsigned long long) (size ? size - 1 : 0));
}

static enum MHD_Result
respond_upload_status(struct reg_req *r, int status, const char *uuid, uint64_t size)
{
        _cleanup_free_ char *loc = upload_location(r, uuid);
        char range[64], minlen[32];
        const char *h[] = { "Location", loc, "Range", range, "Docker-Upload-UUID", uuid,
                            "Content-Length", "0", NULL, NULL, NULL };

        range_value(range, sizeof(range), size);
        if (r->srv->chunk_min_length) {
                snprintf(minlen, sizeof(minlen), "%llu", (unsigned long long) r->srv->chunk_min_length);
                h[8] = "OCI-Chunk-Min-Length";
                h[9] = minlen;
        }
        return reg_respond_empty(r, status, h);
}

/* Does the request carry a body (a chunk)? */
static bool
has_body(struct reg_req *r)
{
        const char *cl = reg_header(r, "Content-Length");
        uint64_t n;

        if (reg_header(r, "Transfer-Encoding"))
                return true;
        return cl && reg_parse_u64(cl, strlen(cl), &n) == 0 && n > 0;
}

static enum MHD_Result
begin_upload_body(struct reg_req *r, const char *uuid)
{
        _cleanup_err_ struct err *e = NULL;
        const char *cr = reg_header(r, "Content-Range");
        const char *cl = reg_header(r, "Content-Length");
        uint64_t start, end, clen;

        if (open_session(r, uuid, &e) < 0)
                return reg_respond_err(r, &e);
        if (r->sess->short_chunk && has_body(r)) {
                /* Only the final chunk may be under OCI-Chunk-Min-Length,
                 * and the previous one was: refuse more data, keep the
                 * upload so the client can finish it with an empty PUT. */
                char range[64];
                const char *h[] = { "Range", range, NULL };
                range_value(range, sizeof(range), r->upload_start);
                return reg_respond_error_hdrs(r, 416, "BLOB_UPLOAD_INVALID", h,
                                              "upload %s: the previous chunk was shorter than the "
                                              "minimum of %llu bytes (OCI-Chunk-Min-Length), so it "
                                              "must have been the last one",
                                              uuid, (unsigned long long) r->srv->chunk_min_length);
        }
        if (cr && r->method == M_PATCH) {
                if (reg_byte_range_parse(cr, &start, &end, NULL, &e) < 0)
                        return respond_upload_status(r, 416, uuid, r->upload_start);
                if (start != r->upload_start)
                        /* Out of order or overlapping: tell the client where we are. */
                        return respond_upload_status(r, 416, uuid, r->upload_start);
                if (cl && reg_parse_u64(cl, strlen(cl), &clen) == 0 && clen != end - start + 1)
                        return reg_respond_error(r, 400, "BLOB_UPLOAD_INVALID",
                                                 "Content-Range %s spans %llu bytes but Content-Length is %s",
                                                 cr, (unsigned long long) (end - start + 1), cl);
                r->have_range_end = true;
                r->range_end = end;
        }
        if (has_body(r)) {
                /* At the size just seen: a writer that got there in between
                 * (another replica) makes this a 416 with the new size. */
                if (OPS(r)->upload_writer(ST(r), r->route.name, uuid, r->upload_start, &r->writer, &e) < 0) {
                        uint64_t now;
                        if (err_code(&e) == ERR_RANGE_INVALID &&
                            OPS(r)->upload_status(ST(r), r->route.name, uuid, &now, NULL) == 0)
                                return respond_upload_status(r, 416, uuid, now);
                        return reg_respond_err(r, &e);
                }
        }
        r->body = REG_BODY_UPLOAD;
        return MHD_YES;
}

struct holder_check {
        struct reg_req *r;
        const struct digest *d;
};

static int
holder_pullable(const char *name, uint64_t size, time_t mtime, void *ud)
{
        struct holder_check *c = ud;

        (void) size;
        (void) mtime;
        /* Index entries may be stale: the link decides. */
        if (OPS(c->r)->layer_exists(ST(c->r), name, c->d) &&
            reg_auth_may(c->r->srv->auth, c->r->user, name, REG_ACTION_PULL))
                return -EEXIST;
        return 0;
}

/* Does some repository that links D allow the caller to pull it?  Asks
 * the blob -> repositories index: no scan of the repositories. */
static bool
pullable_holder(struct reg_req *r, const struct digest *d)
{
        struct holder_check c = { r, d };

        return OPS(r)->holder_walk(ST(r), d, holder_pullable, &c, NULL) == -EEXIST;
}

/* POST .../uploads/?mount=D&from=REPO: link D if REPO holds it. */
static bool
try_mount(struct reg_req *r, const char *mount, const char *from)
{
        struct digest d;
        _cleanup_free_ char *loc = NULL;
        bool ok = false;

        if (digest_parse(mount, &d, NULL) < 0)
                return false;
        if (OPS(r)->blob_stat(ST(r), &d, NULL, NULL) < 0)
                return false;
        if (from) {
                if (reg_name_validate(from, NULL) < 0 || !OPS(r)->layer_exists(ST(r), from, &d))
                        return false;
                ok = !r->srv->auth || reg_auth_may(r->srv->auth, r->user, from, REG_ACTION_PULL);
        } else {
                /* Without "from": any blob is readable without auth; with auth
                 * the caller must be allowed to pull some repository that
                 * links it (from the blob -> repositories index). */
                ok = r->srv->auth == NULL || OPS(r)->layer_exists(ST(r), r->route.name, &d) ||
                     pullable_holder(r, &d);
        }
        if (!ok || OPS(r)->layer_link(ST(r), r->route.name, &d, NULL) < 0)
                return false;
        loc = xasprintf("/v2/%s/blobs/%s", r->route.name, d.str);
        {
                const char *h[] = { "Location", loc, "Docker-Content-Digest", d.str, "Content-Length",
                                    "0", NULL };
                reg_audit(r, "mount", d.str);
                reg_respond_empty(r, 201, h);
        }
        return true;
}

enum MHD_Result
reg_begin_uploads(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        const char *mount = reg_query(r, "mount"), *dq = reg_query(r, "digest");
        char uuid[REG_UUID_LEN + 1];
        struct digest d;

        if (mount && try_mount(r, mount, reg_query(r, "from")))
                return MHD_YES;
        if (mount || !dq)
                return MHD_YES; /* 202 with a fresh session at finish */
        if (digest_parse(dq, &d, &e) < 0)
                return reg_respond_err(r, &e);
        snprintf(r->digest_q, sizeof(r->digest_q), "%s", d.str);
        if (OPS(r)->upload_create(ST(r), r->route.name, uuid, &e) < 0)
                return reg_respond_err(r, &e);
        atomic_fetch_add(&r->srv->uploads_open, 1);
        r->monolithic = true;
        return begin_upload_body(r, uuid);
}

enum MHD_Result
reg_begin_upload(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;

        if (r->method == M_PUT) {
                const char *dq = reg_query(r, "digest");
                struct digest d;
                if (!dq)
                        return reg_respond_error(r, 400, "DIGEST_INVALID", "PUT to finish an upload needs ?digest=");
                if (digest_parse(dq, &d, &e) < 0)
                        return reg_respond_err(r, &e);
                snprintf(r->digest_q, sizeof(r->digest_q), "%s", d.str);
        }
        if (r->method == M_PUT || r->method == M_PATCH)
                return begin_upload_body(r, r->route.ref);
        return MHD_YES;
}

void
reg_upload_body(struct reg_req *r, const char *data, size_t len)
{
        if (r->body_err)
                return;
        if (!r->writer) {
                /* has_body() said none was coming. */
                err_set(&r->body_err, ERR_BLOB_UPLOAD_INVALID, "a body that its headers did not announce");
                return;
        }
        if (r->have_range_end && r->writer->size + len > r->range_end + 1) {
                err_set(&r->body_err, ERR_RANGE_INVALID, "chunk is longer than its Content-Range");
                return;
        }
        r->writer->ops->write(r->writer, data, len, &r->body_err);
}

/* Give up R's upload session: its bytes are deleted at once (a failed
 * write on a full disk must not keep holding the space until the client
 * or gc gets to it), so the client starts over with a new POST. */
static void
drop_upload(struct reg_req *r)
{
        if (!r->sess)
                return;
        reg_upload_writer_discard(r->writer);
        r->writer = NULL;
        OPS(r)->upload_delete(ST(r), r->route.name, r->sess->uuid, NULL);
        reg_session_release(r->srv, r->sess, true);
        r->sess = NULL;
        atomic_fetch_sub(&r->srv->uploads_open, 1);
}

/* The session's size as this request leaves it. */
static uint64_t
upload_size(struct reg_req *r)
{
        return r->writer ? r->writer->size : r->upload_start;
}

/* Make this request's bytes part of the session. */
static int
close_writer(struct reg_req *r, struct err **err)
{
        int rc = reg_upload_writer_close(r->writer, err);

        r->writer = NULL;
        return rc;
}

/* A body write of R's upload failed: answer it, freeing the session
 * unless the failure was the client's Content-Range (resumable). */
static enum MHD_Result
respond_upload_body_err(struct reg_req *r)
{
        if (err_code(&r->body_err) == ERR_RANGE_INVALID && r->sess) {
                uint64_t size = upload_size(r);
                _cleanup_err_ struct err *e = NULL;
                if (close_writer(r, &e) < 0)
                        return reg_respond_err(r, &e);
                return respond_upload_status(r, 416, r->sess->uuid, size);
        }
        drop_upload(r);
        return reg_respond_err(r, &r->body_err);
}

/* The upload's bytes are all in: the driver checks the digest and commits. */
static enum MHD_Result
finish_upload(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest want;
        char uuid[REG_UUID_LEN + 1];
        _cleanup_free_ char *loc = NULL;

        snprintf(uuid, sizeof(uuid), "%s", r->sess->uuid);
        digest_parse(r->digest_q, &want, NULL);
        if (close_writer(r, &e) < 0)
                return reg_respond_err(r, &e);
        if (OPS(r)->upload_commit(ST(r), r->route.name, uuid, &want, &e) < 0) {
                /* The bytes are not what the client meant: nothing to resume. */
                if (err_code(&e) == ERR_DIGEST_INVALID)
                        drop_upload(r);
                return reg_respond_err(r, &e);
        }
        reg_session_release(r->srv, r->sess, true);
        r->sess = NULL;
        atomic_fetch_sub(&r->srv->uploads_open, 1);
        reg_audit(r, "push-blob", want.str);
        loc = xasprintf("/v2/%s/blobs/%s", r->route.name, want.str);
        {
                const char *h[] = { "Location", loc, "Docker-Content-Digest", want.str,
                                    "Content-Length", "0", NULL };
                return reg_respond_empty(r, 201, h);
        }
}

enum MHD_Result
reg_handle_uploads_post(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        char uuid[REG_UUID_LEN + 1];

        if (r->monolithic) {
                if (r->body_err)
                        return respond_upload_body_err(r);
                return finish_upload(r);
        }
        if (OPS(r)->upload_create(ST(r), r->route.name, uuid, &e) < 0)
                return reg_respond_err(r, &e);
        atomic_fetch_add(&r->srv->uploads_open, 1);
        return respond_upload_status(r, 202, uuid, 0);
}

enum MHD_Result
reg_handle_upload(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        uint64_t size;

        switch (r->method) {
        case M_GET:
                if (OPS(r)->upload_status(ST(r), r->route.name, r->route.ref, &size, &e) < 0)
                        return reg_respond_err(r, &e);
                return respond_upload_status(r, 204, r->route.ref, size);
        case M_DELETE:
                if (OPS(r)->upload_delete(ST(r), r->route.name, r->route.ref, &e) < 0)
                        return reg_respond_err(r, &e);
                atomic_fetch_sub(&r->srv->uploads_open, 1);
                {
                        struct reg_session *s;
                        if (reg_session_acquire(r->srv, r->route.name, r->route.ref, &s) == 0)
                                reg_session_release(r->srv, s, true);
                }
                return reg_respond_empty(r, 204, REG_NO_HEADERS);
        case M_PATCH:
                if (r->body_err)
                        return respond_upload_body_err(r);
                size = upload_size(r);
                if (close_writer(r, &e) < 0)
                        return reg_respond_err(r, &e);
                /* A chunk under the minimum can only be the last one. */
                if (r->srv->chunk_min_length && size > r->upload_start &&
                    size - r->upload_start < r->srv->chunk_min_length)
                        r->sess->short_chunk = true;
                return respond_upload_status(r, 202, r->route.ref, size);
        case M_PUT:
                if (r->body_err)
                        return respond_upload_body_err(r);
                return finish_upload(r);
        default:
                return reg_respond_error(r, 405, "UNSUPPORTED", "method not allowed");
        }
}
