/* Pull: manifest (platform pick from an index), blobs fetched concurrently
 * into a layout with verification and resume, manifests written after
 * their blobs, then the name. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "registry/client/client-internal.h"
#include "registry/common/range.h"

#define MAX_NESTING 4
/* Blobs from this size on get a writer thread (reg_partial_async). */
#define PULL_ASYNC_MIN (1024 * 1024)

struct download;

struct pulled_doc {
        char *body;
        size_t len;
        char *media_type;
        struct digest digest;
};

struct pull {
        struct reg_client *c;
        struct reg_target *t;
        struct oci_layout *layout;
        struct pulled_doc *docs;   /* children first, root last */
        size_t n_docs;
        struct oci_descriptor *blobs; /* copies, deduplicated */
        size_t n_blobs;
        struct download *dls;      /* one per blob */
        uint64_t bytes;
        size_t fetched, skipped;
};

static void
pull_clear(struct pull *p)
{
        for (size_t i = 0; i < p->n_docs; i++) {
                free(p->docs[i].body);
                free(p->docs[i].media_type);
        }
        free(p->docs);
        for (size_t i = 0; i < p->n_blobs; i++)
                oci_descriptor_clear(&p->blobs[i]);
        free(p->blobs);
}

static void
add_blob(struct pull *p, const struct oci_descriptor *d)
{
        for (size_t i = 0; i < p->n_blobs; i++)
                if (strcmp(p->blobs[i].digest, d->digest) == 0)
                        return;
        p->blobs = xrealloc(p->blobs, (p->n_blobs + 1) * sizeof(*p->blobs));
        oci_descriptor_copy(&p->blobs[p->n_blobs++], d);
}

static void
add_doc(struct pull *p, char **body, size_t len, const char *mt, const struct digest *d)
{
        for (size_t i = 0; i < p->n_docs; i++)
                if (strcmp(p->docs[i].digest.str, d->str) == 0) {
                        free(*body);
                        *body = NULL;
                        return;
                }
        p->docs = xrealloc(p->docs, (p->n_docs + 1) * sizeof(*p->docs));
        struct pulled_doc *doc = &p->docs[p->n_docs++];
        doc->body = steal_ptr(body);
        doc->len = len;
        doc->media_type = xstrdup(mt);
        doc->digest = *d;
}

/* Take in a fetched document: its blobs (manifest) or children (index,
 * all of them when ALL, else the platform's pick, returned in
 * *ret_pick when PICK is asked for). */
static int
take_document(struct pull *p, char **body, size_t len, const char *mt, const char *digest, int depth, bool all,
              struct oci_descriptor *ret_pick, struct err **err)
{
        struct oci_document doc = {0};
        struct digest d;
        int r = digest_parse(digest, &d, err);
        if (r < 0)
                return r;
        r = oci_document_parse(*body, len, mt, &doc, err);
        if (r < 0)
                return err_prefix(err, "%s@%s", p->t->repo, digest);
        if (doc.manifest) {
                struct oci_manifest *m = doc.manifest;
                add_blob(p, &m->config);
                for (size_t i = 0; i < m->n_layers; i++) {
                        const struct oci_descriptor *l = &m->layers[i];
                        /* Foreign layers live elsewhere (their urls); the
                         * registry need not have them. */
                        if (oci_mediatype_is_nondistributable(l->media_type) && l->urls && l->urls[0])
                                continue;
                        add_blob(p, l);
                }
                add_doc(p, body, len, mt, &d);
                oci_document_clear(&doc);
                return 0;
        }
        struct oci_index *idx = doc.index;
        if (depth >= MAX_NESTING) {
                oci_document_clear(&doc);
                return err_set(err, ERR_MANIFEST_INVALID, "%s: indexes nested deeper than %d", digest, MAX_NESTING);
        }
        if (!all) {
                size_t pick;
                r = oci_index_select_platform(idx, p->c->platform, &pick, err);
                if (r < 0) {
                        oci_document_clear(&doc);
                        return err_prefix(err, "%s", p->t->repo);
                }
                oci_descriptor_copy(ret_pick, &idx->manifests[pick]);
                oci_document_clear(&doc);
                free(*body);
                *body = NULL;
                return 0;
        }
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const struct oci_descriptor *cd = &idx->manifests[i];
                if (!oci_mediatype_is_manifest_or_index(cd->media_type)) {
                        /* An artifact or unknown entry: copy its blob as is. */
                        add_blob(p, cd);
                        continue;
                }
                _cleanup_free_ char *cbody = NULL, *cmt = NULL, *cdig = NULL;
                size_t clen;
                r = reg_fetch_manifest(p->c, p->c->curl, p->t, cd->digest, &cbody, &clen, &cmt, &cdig, err);
                if (r >= 0 && (int64_t) clen != cd->size)
                        r = err_set(err, ERR_SIZE_INVALID, "%s@%s: manifest is %zu bytes, index says %" PRId64,
                                    p->t->repo, cd->digest, clen, cd->size);
                if (r >= 0)
                        r = take_document(p, &cbody, clen, cmt, cdig, depth + 1, true, NULL, err);
                if (r < 0) {
                        oci_document_clear(&doc);
                        return r;
                }
        }
        add_doc(p, body, len, mt, &d);
        oci_document_clear(&doc);
        return 0;
}

/* ---- one blob --------------------------------------------------------- */

struct download {
        struct pull *p;
        const struct oci_descriptor *desc;
        struct digest d;
        struct reg_partial pa;     /* pa.got: bytes so far */
        bool open;
        bool fresh;
        char range[64];
        char *url;
        struct reg_req req;
        struct reg_resp resp;
};

static int
dl_prepare(void *userdata, struct err **err)
{
        struct download *dl = userdata;
        dl->fresh = true;
        if (dl->pa.got > 0) {
                snprintf(dl->range, sizeof(dl->range), "bytes=%" PRIu64 "-", dl->pa.got);
                dl->req.range = dl->range;
        } else {
                dl->req.range = NULL;
        }
        return 0;
}

static bool
dl_sink(const void *data, size_t len, long status, void *userdata, struct err **err)
{
        struct download *dl = userdata;
        if (dl->fresh) {
                dl->fresh = false;
                bool resumed = false;
                if (status == 206 && dl->pa.got > 0) {
                        /* We asked for "bytes=GOT-": the part must be
                         * "bytes GOT-END/TOTAL" of this blob.  Any other
                         * part would be written at the wrong offset. */
                        const char *cr = dl->resp.content_range;
                        uint64_t start, end, total;
                        _cleanup_err_ struct err *e = NULL;

                        if (reg_byte_range_parse(cr, &start, &end, &total, &e) < 0) {
                                err_set(err, ERR_RANGE_INVALID, "206 for bytes=%" PRIu64 "-: %s", dl->pa.got,
                                        err_msg(&e));
                                return false;
                        }
                        if (start != dl->pa.got ||
                            (total != REG_RANGE_TOTAL_UNKNOWN && dl->desc->size >= 0 &&
                             total != (uint64_t) dl->desc->size)) {
                                err_set(err, ERR_RANGE_INVALID,
                                        "206 for bytes=%" PRIu64 "- has Content-Range '%.64s' (blob size %" PRId64 ")",
                                        dl->pa.got, cr, dl->desc->size);
                                return false;
                        }
                        resumed = true;
                }
                if (!resumed && dl->pa.got > 0) {
                        /* The server sent the whole blob again: start over. */
                        reg_client_logf(dl->p->c, "Registry ignored the range: fetching %s from the start",
                                        dl->d.str);
                        if (reg_partial_restart(&dl->pa, err) < 0)
                                return false;
                }
        }
        return reg_partial_write(&dl->pa, data, len, err) >= 0;
}

static char *
human_size(uint64_t n, char *buf, size_t len)
{
        if (n >= 1024 * 1024)
                snprintf(buf, len, "%.1f MiB", (double) n / (1024.0 * 1024.0));
        else if (n >= 1024)
                snprintf(buf, len, "%.1f KiB", (double) n / 1024.0);
        else
                snprintf(buf, len, "%" PRIu64 " B", n);
        return buf;
}

/* Batch START: a request for blob I unless the layout has it. */
static int
dl_start(size_t i, void *userdata, struct reg_req **ret_req, struct reg_resp **ret_resp, struct err **err)
{
        struct pull *p = userdata;
        struct download *dl = &p->dls[i];
        char sz[32], sz2[32];
        int r;

        dl->p = p;
        dl->desc = &p->blobs[i];
        r = digest_parse(dl->desc->digest, &dl->d, err);
        if (r < 0)
                return r;
        if (oci_layout_has_blob(p->layout, &dl->d)) {
                uint64_t have;
                struct err *e = NULL;
                if (oci_layout_stat_blob(p->layout, &dl->d, &have, &e) >= 0 && have == (uint64_t) dl->desc->size) {
                        reg_client_logf(p->c, "Blob %s already present", dl->d.str);
                        /* Not fetched, but the repository's manifest needs
                         * it: the registry holds it there. */
                        reg_client_note_source(p->c, p->t->host->host, p->t->repo, dl->d.str);
                        p->skipped++;
                        return 0;
                }
                err_clear(&e);
        }
        r = reg_partial_open(p->layout, &dl->d, dl->desc->size, &dl->pa, err);
        if (r < 0)
                return err_prefix(err, "pulling blob %s", dl->d.str);
        dl->open = true;
        if (dl->desc->size >= 0 && dl->pa.got == (uint64_t) dl->desc->size) {
                /* A complete download an earlier run did not get to rename. */
                struct err *e = NULL;
                if (reg_partial_commit(&dl->pa, &e) >= 0) {
                        reg_client_logf(p->c, "Blob %s completed from an earlier run", dl->d.str);
                        reg_partial_close(&dl->pa, false);
                        dl->open = false;
                        p->fetched++;
                        p->bytes += (uint64_t) dl->desc->size;
                        return 0;
                }
                err_clear(&e);
        }
        /* Big blobs are hashed and written on threads of their own, so
         * that this loop only moves bytes. */
        if (dl->desc->size < 0 || dl->desc->size >= PULL_ASYNC_MIN)
                reg_partial_async(&dl->pa);
        if (dl->pa.got > 0)
                reg_client_logf(p->c, "Resuming blob %s at %s of %s", dl->d.str,
                                human_size(dl->pa.got, sz2, sizeof(sz2)),
                                human_size((uint64_t) dl->desc->size, sz, sizeof(sz)));
        else
                reg_client_logf(p->c, "Copying blob %s (%s)", dl->d.str,
                                human_size((uint64_t) dl->desc->size, sz, sizeof(sz)));
        dl->url = reg_target_url(p->t, "blobs/%s", dl->d.str);
        dl->req = (struct reg_req){
                .method = "GET",
                .url = dl->url,
                .scope = p->t->scope,
                .sink = dl_sink,
                .prepare = dl_prepare,
                .userdata = dl,
                .follow = true,
        };
        *ret_req = &dl->req;
        *ret_resp = &dl->resp;
        return 1;
}

/* KEEP: leave the partial file for a later resume. */
static void
dl_clear(struct download *dl, bool keep)
{
        if (dl->open)
                reg_partial_close(&dl->pa, keep);
        dl->open = false;
        reg_resp_clear(&dl->resp);
        free(dl->url);
        dl->url = NULL;
}

/* Batch FINISH: verify and commit blob I. */
static int
dl_finish(size_t i, void *userdata, int r, struct reg_req **ret_req, struct reg_resp **ret_resp, struct err **err)
{
        struct pull *p = userdata;
        struct download *dl = &p->dls[i];

        if (r >= 0 && dl->resp.status == 416)
                reg_partial_restart(&dl->pa, NULL); /* no use resuming from there */
        if (r >= 0 && dl->resp.status != 200 && dl->resp.status != 206)
                r = reg_http_fail(p->t->host, &dl->resp, err);
        if (r >= 0)
                r = reg_partial_commit(&dl->pa, err);
        if (r < 0)
                err_prefix(err, "pulling blob %s", dl->d.str);
        /* What a failed transfer got is kept for the next run; a blob that
         * failed verification was emptied (dropped on close). */
        dl_clear(dl, true);
        if (r < 0)
                return r;
        reg_client_note_source(p->c, p->t->host->host, p->t->repo, dl->d.str);
        p->fetched++;
        p->bytes += (uint64_t) dl->desc->size;
        return 0;
}

static int
fetch_blobs(struct pull *p, struct err **err)
{
        static const struct reg_batch_ops ops = {.start = dl_start, .finish = dl_finish};
        p->dls = xcalloc(p->n_blobs ? p->n_blobs : 1, sizeof(*p->dls));
        int r = reg_http_batch(p->c, p->t->host, p->n_blobs, &ops, p, err);
        for (size_t i = 0; i < p->n_blobs; i++)
                dl_clear(&p->dls[i], true);
        free(p->dls);
        p->dls = NULL;
        return r;
}

/* ---- the whole pull ------------------------------------------------------ */

static int
pull_into(struct reg_client *c, const char *ref, struct oci_layout *layout, struct oci_descriptor *ret_desc,
          struct reg_pull_result *ret, struct err **err)
{
        struct reg_target t = {0};
        struct pull p = {.c = c, .t = &t, .layout = layout};
        struct oci_descriptor pick = {0};
        _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL;
        _cleanup_free_ char *source_digest = NULL;
        size_t len;
        int r;

        r = reg_target_open(c, c->curl, ref, false, &t, err);
        if (r < 0)
                return err_prefix(err, "pulling %s", ref);
        r = reg_fetch_manifest(c, c->curl, &t, oci_ref_manifest_reference(t.ref), &body, &len, &mt, &digest, err);
        if (r < 0)
                goto out;
        source_digest = xstrdup(digest);
        /* Leftovers of killed runs (not of running ones: those are locked). */
        size_t swept = 0;
        struct err *se = NULL;
        if (reg_partials_sweep(layout, time(NULL), &swept, &se) < 0)
                err_clear(&se);
        else if (swept)
                reg_client_logf(c, "Removed %zu stale temp file%s", swept, swept == 1 ? "" : "s");
        bool picked = false;
        if (oci_mediatype_is_index(mt) && !c->all_platforms) {
                r = take_document(&p, &body, len, mt, digest, 0, false, &pick, err);
                if (r < 0)
                        goto out;
                free(digest);
                free(mt);
                digest = mt = NULL;
                reg_client_logf(c, "Picked %s for the platform", pick.digest);
                r = reg_fetch_manifest(c, c->curl, &t, pick.digest, &body, &len, &mt, &digest, err);
                if (r >= 0 && (int64_t) len != pick.size)
                        r = err_set(err, ERR_SIZE_INVALID, "%s@%s: manifest is %zu bytes, index says %" PRId64,
                                    t.repo, pick.digest, len, pick.size);
                if (r < 0)
                        goto out;
                picked = true;
        }
        struct oci_descriptor root = {0};
        oci_descriptor_init(&root, mt, digest, (int64_t) len);
        if (picked && pick.platform)
                root.platform = oci_platform_dup(pick.platform);
        r = take_document(&p, &body, len, mt, digest, 0, true, NULL, err);
        if (r < 0) {
                oci_descriptor_clear(&root);
                goto out;
        }
        r = fetch_blobs(&p, err);
        if (r < 0) {
                oci_descriptor_clear(&root);
                goto out;
        }
        /* Manifests after their blobs, children before their index. */
        for (size_t i = 0; i < p.n_docs && r >= 0; i++)
                r = oci_layout_add_blob(layout, p.docs[i].body, p.docs[i].len, &p.docs[i].digest, NULL, err);
        if (r < 0) {
                oci_descriptor_clear(&root);
                goto out;
        }
        reg_client_logf(c, "Fetched %zu blobs (%" PRIu64 " bytes), %zu already present", p.fetched, p.bytes,
                        p.skipped);
        /* Where it came from, for cross-repository mounts when it is
         * pushed to another repository of the same registry. */
        char *source = xasprintf("%s/%s", t.host->host, t.repo);
        oci_descriptor_set_annotation(&root, REG_ANNOTATION_SOURCE, source);
        free(source);
        if (ret) {
                _cleanup_free_ char *name = oci_ref_name(t.ref);
                ret->ref = xasprintf("%s@%s", name, root.digest);
                ret->source_digest = steal_ptr(&source_digest);
        }
        *ret_desc = root;
out:
        if (r < 0)
                err_prefix(err, "pulling %s", ref);
        oci_descriptor_clear(&pick);
        pull_clear(&p);
        reg_target_clear(&t);
        return r;
}

void
reg_pull_result_clear(struct reg_pull_result *r)
{
        if (!r)
                return;
        free(r->ref);
        free(r->name);
        free(r->source_digest);
        oci_descriptor_clear(&r->desc);
        memset(r, 0, sizeof(*r));
}

int
reg_client_pull_to_layout(struct reg_client *c, const char *ref, struct oci_layout *layout, const char *name,
                          struct reg_pull_result *ret, struct err **err)
{
        struct reg_pull_result res = {0};
        struct oci_descriptor desc = {0};
        int r;

        if (name && !oci_layout_name_valid(name))
                return err_set(err, ERR_REFERENCE_INVALID, "'%s' is not a valid OCI layout image name", name);
        r = pull_into(c, ref, layout, &desc, &res, err);
        if (r < 0)
                return r;
        r = oci_layout_tag(layout, name, &desc, err);
        if (r < 0) {
                oci_descriptor_clear(&desc);
                reg_pull_result_clear(&res);
                return r;
        }
        if (ret) {
                res.name = name ? xstrdup(name) : NULL;
                res.desc = desc;
                *ret = res;
        } else {
                oci_descriptor_clear(&desc);
                reg_pull_result_clear(&res);
        }
        return 0;
}

int
reg_client_pull_to_store(struct reg_client *c, const char *ref, struct oci_store *store, const char *name,
                         struct reg_pull_result *ret, struct err **err)
{
        struct reg_pull_result res = {0};
        struct oci_descriptor desc = {0};
        _cleanup_free_ char *tag_name = NULL;
        int r;

        if (name) {
                r = oci_store_normalize_name(name, &tag_name, err);
                if (r < 0)
                        return r;
        } else {
                _cleanup_oci_ref_ struct oci_ref *pr = NULL;
                r = oci_ref_parse(ref, &pr, err);
                if (r < 0)
                        return r;
                if (pr->tag) {
                        oci_ref_set_digest(pr, NULL, NULL);
                        tag_name = oci_ref_string(pr);
                }
        }
        r = pull_into(c, ref, oci_store_layout(store), &desc, &res, err);
        /* Where the blobs came from, for a later push to another
         * repository of that registry (also what a failed pull got). */
        reg_client_blobinfo_save(c, store);
        if (r < 0)
                return r;
        if (tag_name) {
                r = oci_store_tag(store, tag_name, &desc, err);
        } else {
                int lock = oci_store_lock(store, true, err);
                r = lock;
                if (lock >= 0) {
                        r = oci_layout_tag(oci_store_layout(store), NULL, &desc, err);
                        oci_store_unlock(lock);
                }
        }
        if (r < 0) {
                oci_descriptor_clear(&desc);
                reg_pull_result_clear(&res);
                return err_prefix(err, "pulling %s", ref);
        }
        if (ret) {
                res.name = steal_ptr(&tag_name);
                res.desc = desc;
                *ret = res;
        } else {
                oci_descriptor_clear(&desc);
                reg_pull_result_clear(&res);
        }
        return 0;
}
