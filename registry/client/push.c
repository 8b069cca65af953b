/* Push: blobs (skip existing, mount, monolithic or chunked upload with
 * resume), then manifests children first, bytes exactly as stored; the
 * referrers fallback tag for manifests with a subject. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "registry/client/client-internal.h"
#include "registry/common/range.h"

#define MAX_NESTING 4

struct upload;

struct push_doc {
        char *body;
        size_t len;
        const char *media_type;    /* canonical constant */
        struct digest digest;
        struct oci_descriptor *subject; /* copy, or NULL */
        char *artifact_type;       /* for the referrers fallback */
        json_t *annotations;
};

struct push {
        struct reg_client *c;
        struct reg_target *t;
        struct oci_layout *layout;
        struct push_doc *docs;     /* post-order: children first, root last */
        size_t n_docs;
        struct oci_descriptor *blobs;
        size_t n_blobs;
        struct upload *ups;        /* one per blob */
        size_t uploaded, skipped, mounted;
        uint64_t bytes;
};

static void
push_clear(struct push *p)
{
        for (size_t i = 0; i < p->n_docs; i++) {
                free(p->docs[i].body);
                if (p->docs[i].subject) {
                        oci_descriptor_clear(p->docs[i].subject);
                        free(p->docs[i].subject);
                }
                free(p->docs[i].artifact_type);
                json_decref(p->docs[i].annotations);
        }
        free(p->docs);
        for (size_t i = 0; i < p->n_blobs; i++)
                oci_descriptor_clear(&p->blobs[i]);
        free(p->blobs);
}

static void
push_add_blob(struct push *p, const struct oci_descriptor *d)
{
        for (size_t i = 0; i < p->n_blobs; i++)
                if (strcmp(p->blobs[i].digest, d->digest) == 0)
                        return;
        p->blobs = xrealloc(p->blobs, (p->n_blobs + 1) * sizeof(*p->blobs));
        oci_descriptor_copy(&p->blobs[p->n_blobs++], d);
}

static bool
have_doc(struct push *p, const char *digest)
{
        for (size_t i = 0; i < p->n_docs; i++)
                if (strcmp(p->docs[i].digest.str, digest) == 0)
                        return true;
        return false;
}

/* Read DESC's document from the layout and collect what it needs. */
static int
collect(struct push *p, const struct oci_descriptor *desc, int depth, struct err **err)
{
        struct oci_document doc = {0};
        struct digest d;
        char *body = NULL;
        size_t len;
        int r;

        if (have_doc(p, desc->digest))
                return 0;
        if (depth > MAX_NESTING)
                return err_set(err, ERR_MANIFEST_INVALID, "%s: indexes nested deeper than %d", desc->digest,
                               MAX_NESTING);
        r = digest_parse(desc->digest, &d, err);
        if (r < 0)
                return r;
        if (!oci_layout_has_blob(p->layout, &d))
                return err_set(err, ERR_MANIFEST_BLOB_UNKNOWN,
                               "%s: manifest %s is not in %s (pull it with --platform all to push the whole index)",
                               desc->media_type, d.str, oci_layout_path(p->layout));
        r = oci_layout_read_blob(p->layout, &d, LIMIT_MANIFEST_SIZE, &body, &len, err);
        if (r < 0)
                return r;
        r = oci_document_parse(body, len, desc->media_type, &doc, err);
        if (r < 0) {
                free(body);
                return err_prefix(err, "%s", d.str);
        }
        if (doc.index) {
                for (size_t i = 0; i < doc.index->n_manifests && r >= 0; i++) {
                        const struct oci_descriptor *cd = &doc.index->manifests[i];
                        if (oci_mediatype_is_manifest_or_index(cd->media_type))
                                r = collect(p, cd, depth + 1, err);
                        else
                                push_add_blob(p, cd);
                }
        } else {
                struct oci_manifest *m = doc.manifest;
                push_add_blob(p, &m->config);
                for (size_t i = 0; i < m->n_layers; i++) {
                        const struct oci_descriptor *l = &m->layers[i];
                        struct digest ld;
                        if (oci_mediatype_is_nondistributable(l->media_type) && l->urls && l->urls[0] &&
                            (digest_parse(l->digest, &ld, NULL) < 0 || !oci_layout_has_blob(p->layout, &ld)))
                                continue;
                        push_add_blob(p, l);
                }
        }
        if (r < 0) {
                free(body);
                oci_document_clear(&doc);
                return r;
        }
        p->docs = xrealloc(p->docs, (p->n_docs + 1) * sizeof(*p->docs));
        struct push_doc *pd = &p->docs[p->n_docs++];
        memset(pd, 0, sizeof(*pd));
        pd->body = body;
        pd->len = len;
        pd->media_type = doc.media_type;
        pd->digest = d;
        const struct oci_descriptor *subject = doc.manifest ? doc.manifest->subject : doc.index->subject;
        if (subject) {
                pd->subject = xcalloc(1, sizeof(*pd->subject));
                oci_descriptor_copy(pd->subject, subject);
                const char *at = doc.manifest ? doc.manifest->artifact_type : doc.index->artifact_type;
                if (!at && doc.manifest)
                        at = doc.manifest->config.media_type;
                pd->artifact_type = at ? xstrdup(at) : NULL;
                json_t *ann = doc.manifest ? doc.manifest->annotations : doc.index->annotations;
                pd->annotations = ann ? json_deep_copy(ann) : NULL;
        }
        oci_document_clear(&doc);
        return 0;
}

/* ---- one blob ------------------------------------------------------------ */

/* Each blob goes through the upload protocol as a sequence of requests on
 * the client's curl multi loop (reg_http_batch): HEAD (skip when there),
 * POST (a mount, or an upload session), then one PUT for small blobs, or
 * PATCH chunks and a closing PUT for large ones; a lost chunk asks the
 * session's status (GET) and goes on from its Range; refused chunks fall
 * back to a new session and one PUT; a session the registry forgot is
 * started once more. */
enum up_step { UP_HEAD, UP_POST, UP_PATCH, UP_STATUS, UP_PUT };

struct upload {
        struct push *p;
        const struct oci_descriptor *desc;
        struct digest d;
        int fd;
        uint64_t size;
        char *from;                /* repository to mount from, or NULL */
        char *location;            /* the upload session */
        char *url;                 /* of the current request */
        char *scope;               /* of a mount request */
        enum up_step step;
        bool mounting;             /* the POST asks for a mount */
        bool whole;                /* chunks refused: one PUT */
        bool resumed;              /* the chunk in flight starts where a status said */
        int session;
        int failures;              /* lost chunks so far */
        uint64_t chunk, off, n;
        char cr[96];
        struct reg_body body;
        struct reg_req req;
        struct reg_resp resp;
};

static void
up_clear(struct upload *u)
{
        if (u->fd >= 0)
                close(u->fd);
        u->fd = -1;
        free(u->from);
        free(u->location);
        free(u->url);
        free(u->scope);
        u->from = u->location = u->url = u->scope = NULL;
        reg_resp_clear(&u->resp);
}

/* Make REQ the upload's next request. */
static int
up_next(struct upload *u, enum up_step step, const char *method, char *url, struct reg_req **ret_req,
        struct reg_resp **ret_resp)
{
        free(u->url);
        u->url = url;
        u->step = step;
        reg_resp_clear(&u->resp);
        u->req = (struct reg_req){.method = method, .url = u->url, .scope = u->p->t->scope};
        *ret_req = &u->req;
        *ret_resp = &u->resp;
        return 1;
}

static int
up_post(struct upload *u, bool mount, struct reg_req **ret_req, struct reg_resp **ret_resp)
{
        struct push *p = u->p;
        char *url;
        u->mounting = mount && u->from;
        if (u->mounting) {
                _cleanup_free_ char *esc = curl_easy_escape(NULL, u->from, 0);
                url = reg_target_url(p->t, "blobs/uploads/?mount=%s&from=%s", u->d.str, esc);
                free(u->scope);
                u->scope = xasprintf("%s repository:%s:pull", p->t->scope, u->from);
        } else {
                url = reg_target_url(p->t, "blobs/uploads/");
        }
        up_next(u, UP_POST, "POST", url, ret_req, ret_resp);
        if (u->mounting)
                u->req.scope = u->scope;
        return 1;
}

static int
up_patch(struct upload *u, struct reg_req **ret_req, struct reg_resp **ret_resp)
{
        u->n = u->size - u->off < u->chunk ? u->size - u->off : u->chunk;
        snprintf(u->cr, sizeof(u->cr), "Content-Range: %" PRIu64 "-%" PRIu64, u->off, u->off + u->n - 1);
        u->body = (struct reg_body){.fd = u->fd, .offset = (off_t) u->off, .size = u->n};
        up_next(u, UP_PATCH, "PATCH", xstrdup(u->location), ret_req, ret_resp);
        u->req.body = &u->body;
        u->req.headers[0] = u->cr;
        /* No retries of a chunk: a lost one asks the session first. */
        u->req.once = true;
        return 1;
}

/* The closing PUT: the whole blob (WHOLE) or nothing more. */
static int
up_put(struct upload *u, bool whole, struct reg_req **ret_req, struct reg_resp **ret_resp)
{
        _cleanup_free_ char *dq = xasprintf("digest=%s", u->d.str);
        char *url = xasprintf("%s%c%s", u->location, strchr(u->location, '?') ? '&' : '?', dq);
        u->body = whole ? (struct reg_body){.fd = u->fd, .offset = 0, .size = u->size} : (struct reg_body){.fd = -1};
        up_next(u, UP_PUT, "PUT", url, ret_req, ret_resp);
        u->req.body = &u->body;
        return 1;
}

/* The chunk after OFF, or the closing PUT. */
static int
up_continue(struct upload *u, struct reg_req **ret_req, struct reg_resp **ret_resp)
{
        return u->off < u->size ? up_patch(u, ret_req, ret_resp) : up_put(u, false, ret_req, ret_resp);
}

/* The session's Range "0-N" after a PATCH or a status GET: 1 and
 * *ret_next = N + 1 (the next chunk's offset), 0 when the header is
 * absent.  A malformed Range, or one past the blob's end, fails naming it:
 * going on from a wrapped or misread offset would upload the wrong bytes. */
static int
session_next(const struct upload *u, uint64_t *ret_next, struct err **err)
{
        uint64_t next;

        if (!u->resp.range)
                return 0;
        if (reg_upload_range_parse(u->resp.range, &next, err) < 0)
                return err_prefix(err, "pushing blob %s: registry %s: %s", u->d.str, u->p->t->host->host,
                                  u->resp.request ? u->resp.request : u->url);
        if (next > u->size)
                return err_set(err, ERR_BLOB_UPLOAD_INVALID,
                               "pushing blob %s: registry %s: the upload holds %" PRIu64
                               " bytes (Range '%.64s') of a %" PRIu64 "-byte blob",
                               u->d.str, u->p->t->host->host, next, u->resp.range, u->size);
        *ret_next = next;
        return 1;
}

/* A failed step (R < 0, *err set): a forgotten session gets one new
 * session, anything else ends the blob. */
static int
up_fail(struct upload *u, int r, struct reg_req **ret_req, struct reg_resp **ret_resp, struct err **err)
{
        if (err_code(err) == ERR_BLOB_UPLOAD_UNKNOWN && u->session == 0 && u->step != UP_POST) {
                err_clear(err);
                u->session++;
                u->whole = false;
                return up_post(u, false, ret_req, ret_resp);
        }
        return err_prefix(err, "pushing blob %s", u->d.str);
}

static int
up_start(size_t i, void *userdata, struct reg_req **ret_req, struct reg_resp **ret_resp, struct err **err)
{
        struct push *p = userdata;
        struct upload *u = &p->ups[i];
        u->p = p;
        u->desc = &p->blobs[i];
        u->fd = -1;
        int r = digest_parse(u->desc->digest, &u->d, err);
        if (r < 0)
                return r;
        up_next(u, UP_HEAD, "HEAD", reg_target_url(p->t, "blobs/%s", u->d.str), ret_req, ret_resp);
        u->req.follow = true;
        return 1;
}

static int
up_finish(size_t i, void *userdata, int r, struct reg_req **ret_req, struct reg_resp **ret_resp,
          struct err **err)
{
        struct push *p = userdata;
        struct upload *u = &p->ups[i];
        long st = u->resp.status;

        /* A mount the registry would not do for us (no pull on the source
         * for these credentials, a token server that refuses that scope,
         * a registry that answers 4xx rather than distribution-spec's 202
         * with a session): upload it, as if no source were known. */
        if (u->step == UP_POST && u->mounting &&
            (r < 0 ? err_code(err) == ERR_UNAUTHORIZED || err_code(err) == ERR_DENIED
                   : st != 201 && st != 202 && st >= 400 && st < 500)) {
                if (r < 0)
                        reg_client_logf(p->c, "Mount of %s from %s refused (%s); uploading it", u->d.str, u->from,
                                        err_msg(err));
                else
                        reg_client_logf(p->c, "Mount of %s from %s refused (HTTP %ld); uploading it", u->d.str,
                                        u->from, st);
                err_clear(err);
                return up_post(u, false, ret_req, ret_resp);
        }
        if (r < 0 && u->step != UP_PATCH)
                return up_fail(u, r, ret_req, ret_resp, err);
        switch (u->step) {
        case UP_HEAD:
                if (st == 200) {
                        reg_client_logf(p->c, "Blob %s already in %s", u->d.str, p->t->repo);
                        reg_client_note_source(p->c, p->t->host->host, p->t->repo, u->d.str);
                        p->skipped++;
                        up_clear(u);
                        return 0;
                }
                r = oci_layout_open_blob(p->layout, &u->d, &u->fd, &u->size, err);
                if (r < 0)
                        return err_prefix(err, "pushing blob %s", u->d.str);
                if (u->desc->size >= 0 && u->size != (uint64_t) u->desc->size)
                        return err_set(err, ERR_SIZE_INVALID,
                                       "pushing blob %s: %" PRIu64 " bytes in %s, descriptor says %" PRId64, u->d.str,
                                       u->size, oci_layout_path(p->layout), u->desc->size);
                u->from = reg_client_find_source(p->c, p->t->host->host, p->t->repo, u->d.str);
                return up_post(u, true, ret_req, ret_resp);
        case UP_POST:
                if (u->mounting && st == 201) {
                        reg_client_logf(p->c, "Mounted blob %s from %s", u->d.str, u->from);
                        reg_client_note_source(p->c, p->t->host->host, u->from, u->d.str);
                        reg_client_note_source(p->c, p->t->host->host, p->t->repo, u->d.str);
                        p->mounted++;
                        up_clear(u);
                        return 0;
                }
                if (st != 202 || !u->resp.location)
                        return up_fail(u, reg_http_fail(p->t->host, &u->resp, err), ret_req, ret_resp, err);
                /* distribution-spec: a mount the registry cannot do is
                 * answered 202 with an upload session; this is it. */
                if (u->mounting)
                        reg_client_logf(p->c, "Registry did not mount %s from %s; uploading it", u->d.str, u->from);
                u->mounting = false;
                free(u->location);
                u->location = reg_url_resolve(u->resp.url, u->resp.location);
                if (!u->location)
                        return err_set(err, ERR_HTTP, "pushing blob %s: registry %s: POST %s: bad Location", u->d.str,
                                       p->t->host->host, u->url);
                if (!u->whole)
                        reg_client_logf(p->c, "Uploading blob %s (%" PRIu64 " bytes)", u->d.str, u->size);
                if (u->whole || u->size <= p->c->chunk_threshold)
                        return up_put(u, true, ret_req, ret_resp);
                u->chunk = p->c->chunk_size;
                if (u->resp.chunk_min > 0 && (uint64_t) u->resp.chunk_min > u->chunk)
                        u->chunk = (uint64_t) u->resp.chunk_min;
                u->off = 0;
                return up_patch(u, ret_req, ret_resp);
        case UP_PATCH:
                /* Lost mid-chunk, a server error, or a chunk the session
                 * did not expect (416: e.g. curl re-sent a chunk on a fresh
                 * connection after the server had kept part of it): ask
                 * the session how far it got and go on from there. */
                /* The offset a status gave was refused: the registry
                 * misreports its Range (Quay's status says 0-N for N bytes),
                 * and asking again would get the same answer. */
                if (r >= 0 && st == 416 && u->resumed) {
                        u->resumed = false;
                        u->off = 0;
                        reg_client_logf(p->c, "Registry refused the offset its upload status gave; "
                                        "starting the upload of %s again", u->d.str);
                        return up_post(u, false, ret_req, ret_resp);
                }
                u->resumed = false;
                if (r < 0 || st >= 500 || (st == 416 && u->off > 0)) {
                        if (++u->failures > p->c->retries) {
                                if (r >= 0)
                                        r = reg_http_fail(p->t->host, &u->resp, err);
                                return up_fail(u, r, ret_req, ret_resp, err);
                        }
                        err_clear(err);
                        reg_client_logf(p->c, "Resuming upload of %s", u->d.str);
                        return up_next(u, UP_STATUS, "GET", xstrdup(u->location), ret_req, ret_resp);
                }
                if (st != 202) {
                        if (u->off == 0 && st >= 400 && st < 500 && st != 401 && st != 403) {
                                reg_client_logf(p->c, "Registry refused chunks; uploading %s in one piece", u->d.str);
                                u->whole = true;
                                return up_post(u, false, ret_req, ret_resp);
                        }
                        return up_fail(u, reg_http_fail(p->t->host, &u->resp, err), ret_req, ret_resp, err);
                }
                if (u->resp.location) {
                        char *next = reg_url_resolve(u->resp.url, u->resp.location);
                        if (next) {
                                free(u->location);
                                u->location = next;
                        }
                }
                r = session_next(u, &u->off, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        u->off += u->n;
                return up_continue(u, ret_req, ret_resp);
        case UP_STATUS:
                if (st != 204 && st != 202)
                        return up_fail(u, reg_http_fail(p->t->host, &u->resp, err), ret_req, ret_resp, err);
                r = session_next(u, &u->off, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        u->off = 0;
                /* "0-0" is what registries (distribution, ireg) answer both
                 * for an empty session and for one holding a byte, so the
                 * offset is unknown; nothing much was stored, and a new
                 * session is one POST. */
                if (r == 1 && u->off == 1) {
                        u->off = 0;
                        reg_client_logf(p->c, "Upload of %s holds 0 or 1 bytes (Range 0-0); starting it again",
                                        u->d.str);
                        return up_post(u, false, ret_req, ret_resp);
                }
                u->resumed = u->off < u->size;
                return up_continue(u, ret_req, ret_resp);
        case UP_PUT:
                if (st != 201 && st != 204)
                        return up_fail(u, reg_http_fail(p->t->host, &u->resp, err), ret_req, ret_resp, err);
                reg_client_note_source(p->c, p->t->host->host, p->t->repo, u->d.str);
                p->uploaded++;
                p->bytes += u->size;
                up_clear(u);
                return 0;
        }
        return err_set(err, EINVAL, "pushing blob %s: bad upload step", u->d.str);
}

static int
push_blobs(struct push *p, struct err **err)
{
        static const struct reg_batch_ops ops = {.start = up_start, .finish = up_finish};
        p->ups = xcalloc(p->n_blobs ? p->n_blobs : 1, sizeof(*p->ups));
        for (size_t i = 0; i < p->n_blobs; i++)
                p->ups[i].fd = -1;
        int r = reg_http_batch(p->c, p->t->host, p->n_blobs, &ops, p, err);
        for (size_t i = 0; i < p->n_blobs; i++)
                up_clear(&p->ups[i]);
        free(p->ups);
        p->ups = NULL;
        return r;
}

/* ---- manifests ------------------------------------------------------------- */

static int
put_manifest(struct push *p, const struct push_doc *doc, const char *reference, bool *ret_subject_ok,
             struct err **err)
{
        _cleanup_free_ char *url = reg_target_url(p->t, "manifests/%s", reference);
        struct reg_body body = {.fd = -1, .data = doc->body, .len = doc->len};
        struct reg_resp resp = {0};
        struct reg_req req = {
                .method = "PUT",
                .url = url,
                .scope = p->t->scope,
                .body = &body,
                .content_type = doc->media_type,
        };
        int r = reg_http_do(p->c, p->c->curl, p->t->host, &req, &resp, err);
        if (r < 0)
                return r;
        if (resp.status != 201 && resp.status != 200 && resp.status != 204) {
                r = reg_http_fail(p->t->host, &resp, err);
                reg_resp_clear(&resp);
                return r;
        }
        if (resp.docker_digest && strcmp(resp.docker_digest, doc->digest.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "registry %s: PUT %s: registry says %s, we sent %s",
                            p->t->host->host, url, resp.docker_digest, doc->digest.str);
                reg_resp_clear(&resp);
                return r;
        }
        if (ret_subject_ok)
                *ret_subject_ok = resp.oci_subject != NULL;
        reg_resp_clear(&resp);
        return 0;
}

/* Without the referrers API (distribution-spec "Pushing Manifests with
 * Subject"), keep the index tagged sha256-<hex of subject> listing every
 * referrer: fetch it (or start an empty one), add DOC, push it back. */
static int
referrers_fallback(struct push *p, const struct push_doc *doc, struct err **err)
{
        struct digest sd;
        int r = digest_parse(doc->subject->digest, &sd, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tag = xasprintf("%s-%s", digest_alg_name(sd.alg), sd.hex);
        _cleanup_free_ char *referrers_url = reg_target_url(p->t, "referrers/%s", sd.str);
        struct reg_resp resp = {0};
        struct reg_req req = {.method = "GET", .url = referrers_url, .scope = p->t->scope, .cap = LIMIT_MANIFEST_SIZE,
                              .follow = true};
        r = reg_http_do(p->c, p->c->curl, p->t->host, &req, &resp, err);
        if (r < 0)
                return r;
        long st = resp.status;
        reg_resp_clear(&resp);
        if (st == 200)
                return 0; /* the registry has the API: nothing to maintain */

        struct oci_index *idx = NULL;
        _cleanup_free_ char *body = NULL, *mt = NULL, *dig = NULL;
        size_t len;
        struct err *e = NULL;
        r = reg_fetch_manifest(p->c, p->c->curl, p->t, tag, &body, &len, &mt, &dig, &e);
        if (r >= 0 && oci_mediatype_equal(mt, OCI_MT_INDEX) && oci_index_parse(body, len, &idx, &e) >= 0) {
                /* keep the existing list */
        } else {
                err_clear(&e);
                idx = oci_index_new(OCI_MT_INDEX);
        }
        for (size_t i = 0; i < idx->n_manifests; i++)
                if (strcmp(idx->manifests[i].digest, doc->digest.str) == 0) {
                        oci_index_free(idx);
                        return 0;
                }
        struct oci_descriptor d = {0};
        oci_descriptor_init(&d, doc->media_type, doc->digest.str, (int64_t) doc->len);
        if (doc->artifact_type)
                d.artifact_type = xstrdup(doc->artifact_type);
        if (doc->annotations)
                d.annotations = json_deep_copy(doc->annotations);
        oci_index_add(idx, &d);
        oci_descriptor_clear(&d);
        struct push_doc fb = {.media_type = OCI_MT_INDEX};
        r = oci_index_serialize(idx, &fb.body, &fb.len, err);
        oci_index_free(idx);
        if (r < 0)
                return r;
        digest_buffer(DIGEST_SHA256, fb.body, fb.len, &fb.digest);
        r = put_manifest(p, &fb, tag, NULL, err);
        free(fb.body);
        if (r >= 0)
                reg_client_logf(p->c, "Updated referrers fallback tag %s", tag);
        return r;
}

/* Push DESC of LAYOUT to DEST_REF; STORE (may be NULL) is the store the
 * layout belongs to, whose blob-location record is read first and
 * updated after. */
static int
push_layout(struct reg_client *c, struct oci_layout *layout, struct oci_store *store,
            const struct oci_descriptor *desc, const char *dest_ref, char **ret_ref, struct err **err)
{
        struct reg_target t = {0};
        struct push p = {.c = c, .t = &t, .layout = layout};
        int r;

        r = reg_target_open(c, c->curl, dest_ref, true, &t, err);
        if (r < 0)
                return err_prefix(err, "pushing to %s", dest_ref);
        r = collect(&p, desc, 0, err);
        if (r < 0)
                goto out;
        const char *source = oci_descriptor_annotation(desc, REG_ANNOTATION_SOURCE);
        size_t hl = strlen(t.host->host);
        if (source && strncasecmp(source, t.host->host, hl) == 0 && source[hl] == '/' && source[hl + 1])
                for (size_t i = 0; i < p.n_blobs; i++)
                        reg_client_hint_source(c, t.host->host, source + hl + 1, p.blobs[i].digest);
        if (store)
                reg_client_blobinfo_load(c, store);
        if (t.ref->digest && strcmp(t.ref->digest, p.docs[p.n_docs - 1].digest.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "destination names %s but the image is %s", t.ref->digest,
                            p.docs[p.n_docs - 1].digest.str);
                goto out;
        }
        r = push_blobs(&p, err);
        /* What got there is worth keeping even when the push failed. */
        if (store)
                reg_client_blobinfo_save(c, store);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < p.n_docs; i++) {
                struct push_doc *doc = &p.docs[i];
                bool root = i + 1 == p.n_docs;
                const char *reference = root && t.ref->tag ? t.ref->tag : doc->digest.str;
                bool subject_ok = false;
                reg_client_logf(c, "Writing manifest %s", doc->digest.str);
                r = put_manifest(&p, doc, reference, &subject_ok, err);
                if (r >= 0 && doc->subject && !subject_ok)
                        r = referrers_fallback(&p, doc, err);
                if (r < 0)
                        goto out;
        }
        reg_client_logf(c, "Pushed %zu blobs (%" PRIu64 " bytes), %zu mounted, %zu already there", p.uploaded, p.bytes,
                        p.mounted, p.skipped);
        if (ret_ref) {
                _cleanup_free_ char *name = oci_ref_name(t.ref);
                *ret_ref = xasprintf("%s@%s", name, p.docs[p.n_docs - 1].digest.str);
        }
out:
        if (r < 0)
                err_prefix(err, "pushing to %s", dest_ref);
        push_clear(&p);
        reg_target_clear(&t);
        return r;
}

int
reg_client_push_from_store(struct reg_client *c, struct oci_store *store, const char *src, const char *dest_ref,
                           char **ret_ref, struct err **err)
{
        struct oci_descriptor desc = {0};
        int r = oci_store_resolve(store, src, &desc, NULL, err);
        if (r < 0)
                return r;
        r = push_layout(c, oci_store_layout(store), store, &desc, dest_ref, ret_ref, err);
        oci_descriptor_clear(&desc);
        return r;
}

int
reg_client_push_from_layout(struct reg_client *c, struct oci_layout *layout, const struct oci_descriptor *desc,
                            const char *dest_ref, char **ret_ref, struct err **err)
{
        return push_layout(c, layout, NULL, desc, dest_ref, ret_ref, err);
}
