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

#define MAX_NESTING 4

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
        size_t uploaded, skipped, mounted;
        uint64_t bytes;
        pthread_mutex_t lock;
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

/* URL with "digest=D" added to LOCATION's query. */
static char *
with_query(const char *location, const char *param)
{
        return xasprintf("%s%c%s", location, strchr(location, '?') ? '&' : '?', param);
}

/* Start an upload session: POST (with a mount request when FROM is set).
 * Returns 1 when the blob was mounted, 0 with *ret_location set. */
static int
start_upload(struct push *p, CURL *h, const struct digest *d, const char *from, char **ret_location,
             int64_t *ret_chunk_min, struct err **err)
{
        _cleanup_free_ char *url = NULL, *scope = NULL;
        struct reg_resp resp = {0};
        int r;

        if (from) {
                _cleanup_free_ char *esc = curl_easy_escape(h, from, 0);
                url = reg_target_url(p->t, "blobs/uploads/?mount=%s&from=%s", d->str, esc);
                scope = xasprintf("%s repository:%s:pull", p->t->scope, from);
        } else {
                url = reg_target_url(p->t, "blobs/uploads/");
        }
        struct reg_req req = {.method = "POST", .url = url, .scope = scope ? scope : p->t->scope};
        r = reg_http_do(p->c, h, p->t->host, &req, &resp, err);
        if (r < 0)
                return r;
        if (from && resp.status == 201) {
                reg_resp_clear(&resp);
                return 1;
        }
        if (resp.status != 202 || !resp.location) {
                r = reg_http_fail(p->t->host, &resp, err);
                reg_resp_clear(&resp);
                return r;
        }
        *ret_location = reg_url_resolve(resp.url, resp.location);
        *ret_chunk_min = resp.chunk_min;
        reg_resp_clear(&resp);
        if (!*ret_location)
                return err_set(err, ERR_HTTP, "registry %s: POST %s: bad Location", p->t->host->host, url);
        return 0;
}

/* The next offset an upload session expects (from its Range "0-N"). */
static int
upload_status(struct push *p, CURL *h, const char *location, uint64_t *ret_offset, struct err **err)
{
        struct reg_resp resp = {0};
        struct reg_req req = {.method = "GET", .url = location, .scope = p->t->scope};
        int r = reg_http_do(p->c, h, p->t->host, &req, &resp, err);
        if (r < 0)
                return r;
        if (resp.status != 204 && resp.status != 202) {
                r = reg_http_fail(p->t->host, &resp, err);
                reg_resp_clear(&resp);
                return r;
        }
        uint64_t a = 0, b = 0;
        if (resp.range && sscanf(resp.range, "%" SCNu64 "-%" SCNu64, &a, &b) == 2)
                *ret_offset = b + 1;
        else if (resp.range && sscanf(resp.range, "bytes=%" SCNu64 "-%" SCNu64, &a, &b) == 2)
                *ret_offset = b + 1;
        else
                *ret_offset = 0;
        reg_resp_clear(&resp);
        return 0;
}

static int
put_final(struct push *p, CURL *h, const char *location, const struct digest *d, const struct reg_body *body,
          long *ret_status, struct err **err)
{
        _cleanup_free_ char *dq = xasprintf("digest=%s", d->str);
        _cleanup_free_ char *url = with_query(location, dq);
        struct reg_resp resp = {0};
        struct reg_req req = {.method = "PUT", .url = url, .scope = p->t->scope, .body = body};
        int r = reg_http_do(p->c, h, p->t->host, &req, &resp, err);
        if (r < 0)
                return r;
        *ret_status = resp.status;
        if (resp.status != 201 && resp.status != 204) {
                r = reg_http_fail(p->t->host, &resp, err);
                reg_resp_clear(&resp);
                return r;
        }
        reg_resp_clear(&resp);
        return 0;
}

/* PATCH the blob in chunks.  Returns 0 when done, 1 when the registry
 * refused chunks (caller falls back to monolithic), negative on error. */
static int
upload_chunked(struct push *p, CURL *h, int fd, uint64_t size, const struct digest *d, char **location,
               int64_t chunk_min, struct err **err)
{
        uint64_t chunk = p->c->chunk_size;
        uint64_t off = 0;
        int failures = 0;
        int r;

        if (chunk_min > 0 && (uint64_t) chunk_min > chunk)
                chunk = (uint64_t) chunk_min;
        while (off < size) {
                uint64_t n = size - off < chunk ? size - off : chunk;
                char cr[96];
                snprintf(cr, sizeof(cr), "Content-Range: %" PRIu64 "-%" PRIu64, off, off + n - 1);
                struct reg_body body = {.fd = fd, .offset = (off_t) off, .size = n};
                struct reg_resp resp = {0};
                struct reg_req req = {
                        .method = "PATCH",
                        .url = *location,
                        .scope = p->t->scope,
                        .body = &body,
                        .headers = {cr},
                        .once = true,
                };
                r = reg_http_do(p->c, h, p->t->host, &req, &resp, err);
                /* Lost mid-chunk, a server error, or a chunk the session
                 * did not expect (416: e.g. curl re-sent a chunk on a fresh
                 * connection after the server had kept part of it): ask
                 * the session how far it got and go on from there. */
                if (r < 0 || resp.status >= 500 || (resp.status == 416 && off > 0)) {
                        reg_resp_clear(&resp);
                        if (++failures > p->c->retries)
                                return r < 0 ? r : err_set(err, ERR_HTTP, "PATCH %s failed", *location);
                        err_clear(err);
                        reg_client_logf(p->c, "Resuming upload of %s", d->str);
                        usleep(p->c->backoff_ms * 1000u);
                        r = upload_status(p, h, *location, &off, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (resp.status != 202) {
                        long st = resp.status;
                        if (off == 0 && st >= 400 && st < 500 && st != 401 && st != 403) {
                                reg_resp_clear(&resp);
                                return 1;
                        }
                        r = reg_http_fail(p->t->host, &resp, err);
                        reg_resp_clear(&resp);
                        return r;
                }
                if (resp.location) {
                        char *next = reg_url_resolve(resp.url, resp.location);
                        if (next) {
                                free(*location);
                                *location = next;
                        }
                }
                uint64_t a, b;
                if (resp.range && sscanf(resp.range, "%" SCNu64 "-%" SCNu64, &a, &b) == 2)
                        off = b + 1;
                else
                        off += n;
                reg_resp_clear(&resp);
        }
        long st;
        struct reg_body empty = {.fd = -1};
        return put_final(p, h, *location, d, &empty, &st, err);
}

static int
push_blob(size_t i, CURL *h, void *userdata, struct err **err)
{
        struct push *p = userdata;
        const struct oci_descriptor *desc = &p->blobs[i];
        struct digest d;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *url = NULL, *from = NULL;
        uint64_t size;
        int r;

        r = digest_parse(desc->digest, &d, err);
        if (r < 0)
                return r;
        url = reg_target_url(p->t, "blobs/%s", d.str);
        struct reg_resp resp = {0};
        struct reg_req head = {.method = "HEAD", .url = url, .scope = p->t->scope, .follow = true};
        r = reg_http_do(p->c, h, p->t->host, &head, &resp, err);
        if (r < 0)
                return err_prefix(err, "pushing blob %s", d.str);
        long st = resp.status;
        reg_resp_clear(&resp);
        if (st == 200) {
                reg_client_logf(p->c, "Blob %s already in %s", d.str, p->t->repo);
                pthread_mutex_lock(&p->lock);
                p->skipped++;
                pthread_mutex_unlock(&p->lock);
                return 0;
        }
        r = oci_layout_open_blob(p->layout, &d, &fd, &size, err);
        if (r < 0)
                return err_prefix(err, "pushing blob %s", d.str);
        if (desc->size >= 0 && size != (uint64_t) desc->size)
                return err_set(err, ERR_SIZE_INVALID, "pushing blob %s: %" PRIu64 " bytes in %s, descriptor says %" PRId64,
                               d.str, size, oci_layout_path(p->layout), desc->size);

        from = reg_client_find_source(p->c, p->t->host->host, p->t->repo, d.str);
        for (int session = 0;; session++) {
                _cleanup_free_ char *location = NULL;
                int64_t chunk_min = 0;
                r = start_upload(p, h, &d, session == 0 ? from : NULL, &location, &chunk_min, err);
                if (r == 1) {
                        reg_client_logf(p->c, "Mounted blob %s from %s", d.str, from);
                        pthread_mutex_lock(&p->lock);
                        p->mounted++;
                        pthread_mutex_unlock(&p->lock);
                        return 0;
                }
                if (r < 0)
                        return err_prefix(err, "pushing blob %s", d.str);
                reg_client_logf(p->c, "Uploading blob %s (%" PRIu64 " bytes)", d.str, size);
                if (size > p->c->chunk_threshold) {
                        r = upload_chunked(p, h, fd, size, &d, &location, chunk_min, err);
                        if (r == 1) {
                                reg_client_logf(p->c, "Registry refused chunks; uploading %s in one piece", d.str);
                                free(location);
                                location = NULL;
                                r = start_upload(p, h, &d, NULL, &location, &chunk_min, err);
                                if (r < 0)
                                        return err_prefix(err, "pushing blob %s", d.str);
                                struct reg_body body = {.fd = fd, .offset = 0, .size = size};
                                r = put_final(p, h, location, &d, &body, &st, err);
                        }
                } else {
                        struct reg_body body = {.fd = fd, .offset = 0, .size = size};
                        r = put_final(p, h, location, &d, &body, &st, err);
                }
                /* A session the registry forgot (restart, expiry): once more. */
                if (r < 0 && err_code(err) == ERR_BLOB_UPLOAD_UNKNOWN && session == 0) {
                        err_clear(err);
                        continue;
                }
                if (r < 0)
                        return err_prefix(err, "pushing blob %s", d.str);
                break;
        }
        reg_client_note_source(p->c, p->t->host->host, p->t->repo, d.str);
        pthread_mutex_lock(&p->lock);
        p->uploaded++;
        p->bytes += size;
        pthread_mutex_unlock(&p->lock);
        return 0;
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

int
reg_client_push_from_layout(struct reg_client *c, struct oci_layout *layout, const struct oci_descriptor *desc,
                            const char *dest_ref, char **ret_ref, struct err **err)
{
        struct reg_target t = {0};
        struct push p = {.c = c, .t = &t, .layout = layout};
        int r;

        r = reg_target_open(c, c->curl, dest_ref, true, &t, err);
        if (r < 0)
                return err_prefix(err, "pushing to %s", dest_ref);
        pthread_mutex_init(&p.lock, NULL);
        r = collect(&p, desc, 0, err);
        if (r < 0)
                goto out;
        const char *source = oci_descriptor_annotation(desc, REG_ANNOTATION_SOURCE);
        size_t hl = strlen(t.host->host);
        if (source && strncasecmp(source, t.host->host, hl) == 0 && source[hl] == '/' && source[hl + 1])
                for (size_t i = 0; i < p.n_blobs; i++)
                        reg_client_note_source(c, t.host->host, source + hl + 1, p.blobs[i].digest);
        if (t.ref->digest && strcmp(t.ref->digest, p.docs[p.n_docs - 1].digest.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "destination names %s but the image is %s", t.ref->digest,
                            p.docs[p.n_docs - 1].digest.str);
                goto out;
        }
        r = reg_run_jobs(c, p.n_blobs, push_blob, &p, err);
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
        pthread_mutex_destroy(&p.lock);
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
        r = reg_client_push_from_layout(c, oci_store_layout(store), &desc, dest_ref, ret_ref, err);
        oci_descriptor_clear(&desc);
        return r;
}
