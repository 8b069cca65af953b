/* Manifests (GET/HEAD/PUT/DELETE .../manifests/REF) and the referrers
 * API (distribution-spec v1.1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "registry/server/handlers-internal.h"
#include "registry/server/manifest.h"
#include "registry/server/policy.h"

/* 403 DENIED for an immutable tag, with detail {"reason": "TAG_INVALID"}
 * (Harbor's tag immutability). */
static enum MHD_Result
deny_tag(struct reg_req *r, const char *tag, char *msg)
{
        json_t *body = json_pack("{s:[{s:s, s:s, s:{s:s, s:s}}]}", "errors", "code", "DENIED", "message", msg,
                                 "detail", "reason", "TAG_INVALID", "tag", tag);

        reg_audit(r, "policy-deny", msg);
        free(msg);
        return reg_respond_json(r, 403, "application/json", body, REG_NO_HEADERS);
}

/* cosign's signature tag: sha256-<hex>.sig. */
static bool
is_signature_tag(const char *tag)
{
        size_t n = strlen(tag);

        return strncmp(tag, "sha256-", 7) == 0 && n == 7 + 64 + 4 && strcmp(tag + n - 4, ".sig") == 0;
}

static int
resolve_manifest(struct reg_req *r, struct digest *ret, char *mt, size_t mtlen, struct err **err)
{
        struct digest d;
        int rc;

        if (r->route.ref_is_digest) {
                rc = digest_parse(r->route.ref, &d, err);
        } else {
                rc = OPS(r)->tag_get(ST(r), r->route.name, r->route.ref, &d, err);
        }
        if (rc < 0)
                return rc;
        rc = OPS(r)->manifest_get(ST(r), r->route.name, &d, mt, mtlen, err);
        if (rc < 0)
                return rc;
        *ret = d;
        return 0;
}

enum MHD_Result
reg_handle_manifest_get(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;
        char mt[256], etag[DIGEST_STR_MAX + 4];
        struct reg_blob_reader *br;
        uint64_t size;
        struct MHD_Response *resp;

        if (resolve_manifest(r, &d, mt, sizeof(mt), &e) < 0)
                return reg_respond_err(r, &e);
        if (r->srv->policy && reg_policy_check_pull(r->srv->policy, ST(r), r->route.name, &d, &e) < 0) {
                if (err_code(&e) == ERR_DENIED) {
                        reg_audit(r, "policy-deny", err_msg(&e));
                        return reg_respond_error(r, 403, "DENIED", "%s", err_msg(&e));
                }
                return reg_respond_err(r, &e);
        }
        if (OPS(r)->blob_open(ST(r), &d, &br, &e) < 0) {
                if (err_code(&e) == ERR_BLOB_UNKNOWN) {
                        err_clear(&e);
                        return reg_respond_error(r, 404, "MANIFEST_UNKNOWN", "manifest %s not found",
                                                 d.str);
                }
                return reg_respond_err(r, &e);
        }
        size = br->size;
        /* Manifests are small: no sendfile hand-off, which would close the
         * connection. */
        resp = reg_blob_response(r, br, 0, size, false);
        if (!resp)
                return reg_respond_error(r, 500, "UNKNOWN", "cannot create response");
        snprintf(etag, sizeof(etag), "\"%s\"", d.str);
        MHD_add_response_header(resp, "Content-Type", mt);
        MHD_add_response_header(resp, "Docker-Content-Digest", d.str);
        MHD_add_response_header(resp, "ETag", etag);
        if (r->method == M_GET)
                r->bytes_out += size;
        return reg_respond(r, 200, resp);
}

enum MHD_Result
reg_handle_manifest_put(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_manifest m = { 0 };
        struct digest d;
        size_t i;
        _cleanup_free_ char *loc = NULL;
        const char *h[9] = { NULL };
        size_t nh = 0;
        enum MHD_Result ret;

        if (r->too_large)
                return reg_respond_error(r, 413, "SIZE_INVALID", "manifest is over the %d byte limit",
                                         LIMIT_MANIFEST_SIZE);
        if (reg_manifest_parse(r->buf ? r->buf : "", r->len, reg_header(r, "Content-Type"), &m, &e) < 0)
                return reg_respond_err(r, &e);
        if (r->route.ref_is_digest) {
                struct digest want;
                digest_parse(r->route.ref, &want, NULL);
                digest_buffer(want.alg, r->buf ? r->buf : "", r->len, &d);
                if (strcmp(d.str, want.str) != 0) {
                        reg_manifest_clear(&m);
                        return reg_respond_error(r, 400, "DIGEST_INVALID",
                                                 "manifest body has digest %s, not %s", d.str, want.str);
                }
        } else {
                digest_buffer(DIGEST_SHA256, r->buf ? r->buf : "", r->len, &d);
        }
        /* Every blob and child manifest must be in this repository, with
         * the size its descriptor says: a client trusting the descriptor
         * would read short or past the end of what it was given. */
        for (i = 0; i < m.n_blobs; i++) {
                uint64_t size;
                if (!OPS(r)->layer_exists(ST(r), r->route.name, &m.blobs[i]) ||
                    OPS(r)->blob_stat(ST(r), &m.blobs[i], &size, NULL) < 0) {
                        ret = reg_respond_error(r, 400, "MANIFEST_BLOB_UNKNOWN",
                                                "blob %s is not in repository %s", m.blobs[i].str,
                                                r->route.name);
                        reg_manifest_clear(&m);
                        return ret;
                }
                if (size != m.blob_sizes[i]) {
                        ret = reg_respond_error(r, 400, "MANIFEST_INVALID",
                                                "descriptor of blob %s says %llu bytes, but the blob is %llu bytes",
                                                m.blobs[i].str, (unsigned long long) m.blob_sizes[i],
                                                (unsigned long long) size);
                        reg_manifest_clear(&m);
                        return ret;
                }
        }
        for (i = 0; i < m.n_children; i++) {
                char cmt[256];
                uint64_t size;
                if (OPS(r)->manifest_get(ST(r), r->route.name, &m.children[i], cmt, sizeof(cmt), NULL) < 0 ||
                    OPS(r)->blob_stat(ST(r), &m.children[i], &size, NULL) < 0) {
                        ret = reg_respond_error(r, 400, "MANIFEST_BLOB_UNKNOWN",
                                                "manifest %s is not in repository %s",
                                                m.children[i].str, r->route.name);
                        reg_manifest_clear(&m);
                        return ret;
                }
                if (size != m.child_sizes[i]) {
                        ret = reg_respond_error(r, 400, "MANIFEST_INVALID",
                                                "descriptor of manifest %s says %llu bytes, but the manifest is "
                                                "%llu bytes",
                                                m.children[i].str, (unsigned long long) m.child_sizes[i],
                                                (unsigned long long) size);
                        reg_manifest_clear(&m);
                        return ret;
                }
        }
        /* An immutable tag never moves (the same manifest again is fine). */
        if (!r->route.ref_is_digest && reg_policy_immutable(r->srv->policy, r->route.name)) {
                struct digest old;

                if (OPS(r)->tag_get(ST(r), r->route.name, r->route.ref, &old, NULL) == 0 &&
                    strcmp(old.str, d.str) != 0) {
                        reg_manifest_clear(&m);
                        return deny_tag(r, r->route.ref,
                                        xasprintf("policy: tag %s of %s is immutable: it names %s", r->route.ref,
                                                  r->route.name, old.str));
                }
        }
        /* Content, then the revision, then the referrers entry, then the
         * tag: a crash in between leaves only unreferenced records. */
        if (OPS(r)->blob_put_buf(ST(r), &d, r->buf ? r->buf : "", r->len, &e) < 0 ||
            OPS(r)->manifest_put(ST(r), r->route.name, &d, m.media_type, &e) < 0) {
                reg_manifest_clear(&m);
                return reg_respond_err(r, &e);
        }
        if (m.has_subject) {
                _cleanup_free_ char *desc = reg_manifest_descriptor(&m, &d, r->len);
                if (OPS(r)->referrer_add(ST(r), r->route.name, &m.subject, &d, desc, &e) < 0) {
                        reg_manifest_clear(&m);
                        return reg_respond_err(r, &e);
                }
        }
        if (!r->route.ref_is_digest && OPS(r)->tag_put(ST(r), r->route.name, r->route.ref, &d, &e) < 0) {
                reg_manifest_clear(&m);
                return reg_respond_err(r, &e);
        }
        {
                _cleanup_free_ char *what = xasprintf("%s%s%s", d.str, r->route.ref_is_digest ? "" : " tag=",
                                                      r->route.ref_is_digest ? "" : r->route.ref);
                reg_audit(r, "push-manifest", what);
                if (!r->route.ref_is_digest && is_signature_tag(r->route.ref))
                        reg_audit(r, "push-signature", what);
        }
        loc = xasprintf("/v2/%s/manifests/%s", r->route.name, d.str);
        h[nh++] = "Location";
        h[nh++] = loc;
        h[nh++] = "Docker-Content-Digest";
        h[nh++] = d.str;
        if (m.has_subject) {
                h[nh++] = "OCI-Subject";
                h[nh++] = m.subject.str;
        }
        h[nh++] = "Content-Length";
        h[nh++] = "0";
        ret = reg_respond_empty(r, 201, h);
        reg_manifest_clear(&m);
        return ret;
}

enum MHD_Result
reg_handle_manifest_delete(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct digest d;

        if (!r->route.ref_is_digest && reg_policy_immutable(r->srv->policy, r->route.name))
                return deny_tag(r, r->route.ref,
                                xasprintf("policy: tag %s of %s is immutable: it cannot be deleted", r->route.ref,
                                          r->route.name));
        if (!r->route.ref_is_digest) {
                /* Deleting a tag removes only the tag. */
                if (OPS(r)->tag_delete(ST(r), r->route.name, r->route.ref, &e) < 0)
                        return reg_respond_err(r, &e);
                reg_audit(r, "delete-tag", r->route.ref);
                return reg_respond_empty(r, 202, REG_NO_HEADERS);
        }
        digest_parse(r->route.ref, &d, NULL);
        if (reg_policy_immutable(r->srv->policy, r->route.name)) {
                struct reg_strv tags = { 0 };

                if (OPS(r)->tags_of(ST(r), r->route.name, &d, &tags, NULL) == 0 && tags.n > 0) {
                        _cleanup_free_ char *t = xstrdup(tags.v[0]);

                        reg_strv_free(&tags);
                        return deny_tag(r, t,
                                        xasprintf("policy: tag %s of %s is immutable: its manifest cannot be deleted",
                                                  t, r->route.name));
                }
                reg_strv_free(&tags);
        }
        {
                _cleanup_free_ char *body = NULL;
                size_t len;
                char mt[256];
                if (OPS(r)->manifest_get(ST(r), r->route.name, &d, mt, sizeof(mt), &e) < 0)
                        return reg_respond_err(r, &e);
                if (OPS(r)->blob_read(ST(r), &d, LIMIT_MANIFEST_SIZE, &body, &len, NULL) == 0) {
                        struct reg_manifest m = { 0 };
                        if (reg_manifest_parse(body, len, mt, &m, NULL) == 0 && m.has_subject)
                                OPS(r)->referrer_remove(ST(r), r->route.name, &m.subject, &d, NULL);
                        reg_manifest_clear(&m);
                }
        }
        if (OPS(r)->manifest_delete(ST(r), r->route.name, &d, &e) < 0)
                return reg_respond_err(r, &e);
        reg_audit(r, "delete-manifest", d.str);
        return reg_respond_empty(r, 202, REG_NO_HEADERS);
}

enum MHD_Result
reg_handle_referrers(struct reg_req *r)
{
        _cleanup_err_ struct err *e = NULL;
        struct reg_strv descs = { 0 };
        struct digest subject;
        const char *filter = reg_query(r, "artifactType");
        json_t *root = json_object(), *arr = json_array();
        const char *h[3] = { NULL };
        size_t i;

        digest_parse(r->route.ref, &subject, NULL);
        if (OPS(r)->referrer_list(ST(r), r->route.name, &subject, &descs, &e) < 0) {
                json_decref(root);
                json_decref(arr);
                return reg_respond_err(r, &e);
        }
        for (i = 0; i < descs.n; i++) {
                json_t *d = json_loads(descs.v[i], 0, NULL);
                const char *at;
                if (!d)
                        continue;
                at = json_string_value(json_object_get(d, "artifactType"));
                if (filter && (!at || strcmp(at, filter) != 0)) {
                        json_decref(d);
                        continue;
                }
                json_array_append_new(arr, d);
        }
        reg_strv_free(&descs);
        json_object_set_new(root, "schemaVersion", json_integer(2));
        json_object_set_new(root, "mediaType", json_string("application/vnd.oci.image.index.v1+json"));
        json_object_set_new(root, "manifests", arr);
        if (filter) {
                h[0] = "OCI-Filters-Applied";
                h[1] = "artifactType";
        }
        return reg_respond_json(r, 200, "application/vnd.oci.image.index.v1+json", root, h);
}
