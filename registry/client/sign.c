/* Cosign signatures in a registry (see client.h: reg_client_sign,
 * reg_client_verify): the signature manifest at tag sha256-<hex>.sig of the
 * image's repository, one simple-signing layer per signature, pushed with
 * the ordinary push path from a small temp layout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/model.h"
#include "oci/ref.h"
#include "oci/signature.h"
#include "registry/client/client.h"

/* "host/repo" of REF and "host/repo:sha256-<hex>.sig" for DIGEST. */
static int
sig_refs(const char *ref, const char *digest, char **ret_repo, char **ret_sigref, struct err **err)
{
        _cleanup_oci_ref_ struct oci_ref *pr = NULL;
        _cleanup_free_ char *tag = oci_sig_tag(digest);
        int r = oci_ref_parse(ref, &pr, err);

        if (r < 0)
                return r;
        if (!tag)
                return err_set(err, ERR_DIGEST_INVALID, "'%s' is not a digest", digest);
        *ret_repo = oci_ref_name(pr);
        *ret_sigref = xasprintf("%s:%s", *ret_repo, tag);
        return 0;
}

/* The signature manifest at SIGREF, or NULL (0) when there is none. */
static int
get_sig_manifest(struct reg_client *c, const char *sigref, struct oci_manifest **ret, struct err **err)
{
        _cleanup_free_ char *body = NULL, *mt = NULL, *dg = NULL;
        size_t len = 0;
        struct err *e = NULL;
        int r = reg_client_get_manifest(c, sigref, &body, &len, &mt, &dg, &e);

        *ret = NULL;
        if (r < 0) {
                int code = err_code(&e);

                if (code == ERR_MANIFEST_UNKNOWN || code == ERR_NAME_UNKNOWN || code == ENOENT) {
                        err_clear(&e);
                        return 0;
                }
                *err = e;
                return r;
        }
        r = oci_manifest_parse(body, len, ret, err);
        if (r < 0)
                return err_prefix(err, "signature manifest %s", sigref);
        if ((*ret)->n_layers > OCI_SIG_MAX_LAYERS) {
                r = err_set(err, ERR_MANIFEST_INVALID, "signature manifest %s has %zu layers (at most %d are read)",
                            sigref, (*ret)->n_layers, OCI_SIG_MAX_LAYERS);
                oci_manifest_free(*ret);
                *ret = NULL;
                return r;
        }
        return 1;
}

static const char *
layer_signature(const struct oci_descriptor *l)
{
        json_t *v = l->annotations ? json_object_get(l->annotations, OCI_ANNOTATION_COSIGN_SIGNATURE) : NULL;

        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* cosign's config of a signature manifest: one diff_id a layer. */
static char *
sig_config(const struct oci_manifest *m, size_t *ret_len)
{
        json_t *ids = json_array();
        json_t *j;
        char *s;

        for (size_t i = 0; i < m->n_layers; i++)
                json_array_append_new(ids, json_string(m->layers[i].digest));
        j = json_pack("{s:s, s:s, s:[{s:s}], s:s, s:{s:s, s:o}, s:{}}", "architecture", "", "created",
                      "0001-01-01T00:00:00Z", "history", "created", "0001-01-01T00:00:00Z", "os", "", "rootfs", "type",
                      "layers", "diff_ids", ids, "config");
        s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        *ret_len = strlen(s);
        return s;
}

int
reg_client_sign(struct reg_client *c, const char *ref, const char *digest, const struct oci_sig_key *key,
                struct err **err)
{
        _cleanup_free_ char *repo = NULL, *sigref = NULL, *payload = NULL, *sig = NULL, *tmp = NULL, *cfg = NULL;
        _cleanup_free_ char *pushed = NULL;
        _cleanup_oci_layout_ struct oci_layout *lay = NULL;
        struct oci_manifest *old = NULL, *m = NULL;
        struct oci_descriptor ld = {0}, cd = {0}, md = {0};
        struct digest pd, cdg, mdg;
        size_t plen = 0, clen = 0, mlen = 0;
        _cleanup_free_ char *mbuf = NULL;
        const char *tmpdir = getenv("TMPDIR");
        int r;

        r = sig_refs(ref, digest, &repo, &sigref, err);
        if (r >= 0)
                r = oci_sig_payload_build(repo, digest, &payload, &plen, err);
        if (r >= 0)
                r = oci_sig_sign(key, payload, plen, &sig, err);
        if (r >= 0)
                r = get_sig_manifest(c, sigref, &old, err);
        if (r < 0)
                return err_prefix(err, "signing %s", ref);
        r = fs_mkdtemp_in(tmpdir && *tmpdir ? tmpdir : "/tmp", "ibuild-sign-", &tmp, err);
        if (r >= 0)
                r = oci_layout_create(tmp, &lay, err);
        m = oci_manifest_new(OCI_MT_MANIFEST);
        /* The signatures already there stay, each with its payload. */
        for (size_t i = 0; r >= 0 && old && i < old->n_layers; i++) {
                const struct oci_descriptor *l = &old->layers[i];
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                struct digest d;

                if (!oci_mediatype_equal(l->media_type, OCI_MT_COSIGN_SIMPLESIGNING))
                        continue;
                r = reg_client_get_blob(c, sigref, l->digest, OCI_SIG_PAYLOAD_MAX, &data, &len, err);
                if (r >= 0)
                        r = digest_parse(l->digest, &d, err);
                if (r >= 0)
                        r = oci_layout_add_blob(lay, data, len, &d, NULL, err);
                if (r < 0)
                        break;
                /* Signed before with this key over these bytes: done. */
                if (layer_signature(l) && oci_sig_verify(key, data, len, layer_signature(l), NULL) == 0 &&
                    len == plen && memcmp(data, payload, len) == 0) {
                        oci_manifest_free(old);
                        oci_manifest_free(m);
                        fs_rm_rf(tmp, NULL);
                        return 0;
                }
                oci_manifest_add_layer(m, l);
        }
        if (r >= 0)
                r = oci_layout_add_blob(lay, payload, plen, NULL, &pd, err);
        if (r >= 0) {
                oci_descriptor_init(&ld, OCI_MT_COSIGN_SIMPLESIGNING, pd.str, (int64_t) plen);
                oci_descriptor_set_annotation(&ld, OCI_ANNOTATION_COSIGN_SIGNATURE, sig);
                oci_manifest_add_layer(m, &ld);
                cfg = sig_config(m, &clen);
                r = oci_layout_add_blob(lay, cfg, clen, NULL, &cdg, err);
        }
        if (r >= 0) {
                oci_descriptor_init(&cd, OCI_MT_CONFIG, cdg.str, (int64_t) clen);
                oci_manifest_set_config(m, &cd);
                r = oci_manifest_serialize(m, &mbuf, &mlen, err);
        }
        if (r >= 0)
                r = oci_layout_add_blob(lay, mbuf, mlen, NULL, &mdg, err);
        if (r >= 0) {
                oci_descriptor_init(&md, OCI_MT_MANIFEST, mdg.str, (int64_t) mlen);
                r = reg_client_push_from_layout(c, lay, &md, sigref, &pushed, err);
        }
        oci_descriptor_clear(&ld);
        oci_descriptor_clear(&cd);
        oci_descriptor_clear(&md);
        oci_manifest_free(old);
        oci_manifest_free(m);
        if (tmp)
                fs_rm_rf(tmp, NULL);
        return r < 0 ? err_prefix(err, "signing %s", ref) : 0;
}

int
reg_client_sign_referrer(struct reg_client *c, const char *ref, const char *digest,
                         const struct oci_descriptor *subject, const struct oci_sig_key *key, struct err **err)
{
        _cleanup_free_ char *repo = NULL, *sigref = NULL, *payload = NULL, *sig = NULL, *tmp = NULL;
        _cleanup_free_ char *body = NULL, *mt = NULL, *dg = NULL, *pinned = NULL, *mbuf = NULL, *dest = NULL;
        _cleanup_free_ char *pushed = NULL;
        _cleanup_oci_layout_ struct oci_layout *lay = NULL;
        struct oci_manifest *m = NULL;
        struct oci_descriptor ld = {0}, cd = {0}, md = {0}, sd = {0};
        struct digest pd, edg, mdg;
        size_t plen = 0, blen = 0, mlen = 0;
        const char *tmpdir = getenv("TMPDIR");
        int r;

        r = sig_refs(ref, digest, &repo, &sigref, err);
        if (r < 0)
                return err_prefix(err, "signing %s", ref);
        /* The subject descriptor: the caller's, else what the registry
         * holds under DIGEST (a registry whose policy wants the signature
         * first would refuse that GET). */
        if (subject && subject->media_type && strcmp(subject->digest, digest) == 0) {
                mt = xstrdup(subject->media_type);
                blen = (size_t) subject->size;
        } else {
                pinned = xasprintf("%s@%s", repo, digest);
                r = reg_client_get_manifest(c, pinned, &body, &blen, &mt, &dg, err);
        }
        if (r >= 0)
                r = oci_sig_payload_build(repo, digest, &payload, &plen, err);
        if (r >= 0)
                r = oci_sig_sign(key, payload, plen, &sig, err);
        if (r >= 0)
                r = fs_mkdtemp_in(tmpdir && *tmpdir ? tmpdir : "/tmp", "ibuild-sign-", &tmp, err);
        if (r >= 0)
                r = oci_layout_create(tmp, &lay, err);
        if (r >= 0)
                r = oci_layout_add_blob(lay, payload, plen, NULL, &pd, err);
        if (r >= 0)
                r = oci_layout_add_blob(lay, OCI_EMPTY_DATA, OCI_EMPTY_SIZE, NULL, &edg, err);
        if (r >= 0) {
                /* An OCI 1.1 artifact: the empty config, the payload layer,
                 * the image as subject (cosign's oci-1-1 mode). */
                m = oci_manifest_new(OCI_MT_MANIFEST);
                m->artifact_type = xstrdup(OCI_ARTIFACT_COSIGN_SIGNATURE);
                oci_descriptor_init(&cd, OCI_MT_EMPTY, edg.str, OCI_EMPTY_SIZE);
                oci_manifest_set_config(m, &cd);
                oci_descriptor_init(&ld, OCI_MT_COSIGN_SIMPLESIGNING, pd.str, (int64_t) plen);
                oci_descriptor_set_annotation(&ld, OCI_ANNOTATION_COSIGN_SIGNATURE, sig);
                oci_manifest_add_layer(m, &ld);
                oci_descriptor_init(&sd, mt, digest, (int64_t) blen);
                oci_manifest_set_subject(m, &sd);
                r = oci_manifest_serialize(m, &mbuf, &mlen, err);
        }
        if (r >= 0)
                r = oci_layout_add_blob(lay, mbuf, mlen, NULL, &mdg, err);
        if (r >= 0) {
                /* By digest: the registry lists it as a referrer (or the
                 * push keeps the sha256-<hex> referrers tag). */
                oci_descriptor_init(&md, OCI_MT_MANIFEST, mdg.str, (int64_t) mlen);
                dest = xasprintf("%s@%s", repo, mdg.str);
                r = reg_client_push_from_layout(c, lay, &md, dest, &pushed, err);
        }
        oci_descriptor_clear(&ld);
        oci_descriptor_clear(&cd);
        oci_descriptor_clear(&md);
        oci_descriptor_clear(&sd);
        oci_manifest_free(m);
        if (tmp)
                fs_rm_rf(tmp, NULL);
        return r < 0 ? err_prefix(err, "signing %s", ref) : 0;
}

struct fetch {
        struct reg_client *c;
        const char *ref;
};

static int
fetch_blob(void *userdata, const char *digest, size_t cap, char **ret, size_t *ret_len, struct err **err)
{
        struct fetch *f = userdata;

        return reg_client_get_blob(f->c, f->ref, digest, cap, ret, ret_len, err);
}

/* The signature manifests of DIGEST in REPO: cosign's tag (SIGREF) and
 * referrers of artifactType OCI_ARTIFACT_COSIGN_SIGNATURE.  Each parsed one
 * is checked at once; 0 with *ret_key on the first that passes. */
static int
check_all(struct reg_client *c, const char *ref, const char *repo, const char *sigref, const char *digest,
          struct oci_sig_key *const *keys, size_t n_keys, const struct oci_sig_key **ret_key, size_t *ret_found,
          char **why, struct err **err)
{
        struct reg_referrer *refs = NULL;
        struct oci_manifest *m = NULL;
        struct fetch f = {c, sigref};
        size_t n = 0, found = 0;
        struct err *e = NULL;
        char *w = NULL;
        int r;

        r = get_sig_manifest(c, sigref, &m, err);
        if (r < 0)
                return r;
        if (r > 0) {
                found++;
                r = oci_sig_check(m, fetch_blob, &f, digest, repo, false, keys, n_keys, ret_key, &w);
                oci_manifest_free(m);
                if (r == 0)
                        return 0;
                *why = xasprintf("tag %s: %s", strrchr(sigref, ':') + 1, w);
                free(w);
        }
        /* A registry without referrers (or any referrer) is no error. */
        if (reg_client_list_referrers(c, ref, &refs, &n, NULL, &e) < 0)
                err_clear(&e);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *body = NULL, *mt = NULL, *dg = NULL, *pin = NULL;
                size_t len = 0;
                char *line;

                if (!refs[i].artifact_type || strcmp(refs[i].artifact_type, OCI_ARTIFACT_COSIGN_SIGNATURE) != 0)
                        continue;
                found++;
                pin = xasprintf("%s@%s", repo, refs[i].digest);
                w = NULL;
                if (reg_client_get_manifest(c, pin, &body, &len, &mt, &dg, &e) < 0 ||
                    oci_manifest_parse(body, len, &m, &e) < 0) {
                        w = xstrdup(err_msg(&e));
                        err_clear(&e);
                } else {
                        f.ref = pin;
                        r = oci_sig_check(m, fetch_blob, &f, digest, repo, false, keys, n_keys, ret_key, &w);
                        oci_manifest_free(m);
                        if (r == 0) {
                                reg_referrers_free(refs, n);
                                return 0;
                        }
                }
                line = xasprintf("%s%sreferrer %s: %s", *why ? *why : "", *why ? "; " : "", refs[i].digest, w);
                free(w);
                free(*why);
                *why = line;
        }
        reg_referrers_free(refs, n);
        *ret_found = found;
        return 1;
}

int
reg_client_verify(struct reg_client *c, const char *ref, struct oci_sig_key *const *keys, size_t n_keys,
                  char **ret_digest, char **ret_key, struct err **err)
{
        _cleanup_free_ char *body = NULL, *mt = NULL, *digest = NULL, *repo = NULL, *sigref = NULL, *why = NULL;
        _cleanup_free_ char *names = NULL;
        const struct oci_sig_key *good = NULL;
        size_t len = 0, found = 0;
        int r;

        for (size_t k = 0; k < n_keys; k++) {
                char *n = xasprintf("%s%s%s", names ? names : "", names ? ", " : "", oci_sig_key_name(keys[k]));

                free(names);
                names = n;
        }
        r = reg_client_get_manifest(c, ref, &body, &len, &mt, &digest, err);
        if (r >= 0)
                r = sig_refs(ref, digest, &repo, &sigref, err);
        if (r >= 0)
                r = check_all(c, ref, repo, sigref, digest, keys, n_keys, &good, &found, &why, err);
        if (r < 0)
                return err_prefix(err, "verifying %s", ref);
        if (r > 0 && found == 0)
                return err_set(err, ERR_DENIED,
                               "%s (%s): no signature found (no %s, no signature referrer); keys "
                               "tried: %s",
                               ref, digest, strrchr(sigref, ':') + 1, names ? names : "none");
        if (r > 0)
                return err_set(err, ERR_DENIED, "%s (%s): no valid signature by %s: %s", ref, digest,
                               names ? names : "no key", why ? why : "none");
        if (ret_key)
                *ret_key = xstrdup(oci_sig_key_name(good));
        if (ret_digest)
                *ret_digest = steal_ptr(&digest);
        return 0;
}
