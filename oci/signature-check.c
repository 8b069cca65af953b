/* Checking a cosign signature manifest against keys (see oci_sig_check in
 * signature.h): shared by the registry client (ipull --verify-key) and the
 * registry's pull policy. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "oci/mediatype.h"
#include "oci/model.h"
#include "oci/ref.h"
#include "oci/signature.h"

/* Append one reason to *WHY ("; " between). */
static void why_add(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
why_add(char **why, const char *fmt, ...)
{
        va_list ap;
        char *line, *n;

        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                abort();
        va_end(ap);
        n = xasprintf("%s%s%s", *why ? *why : "", *why ? "; " : "", line);
        free(line);
        free(*why);
        *why = n;
}

static bool
identity_ok(const char *reference, const char *repo, bool by_path)
{
        _cleanup_(oci_ref_freep) struct oci_ref *r = NULL;

        if (!by_path)
                return oci_sig_identity_matches(reference, repo);
        return oci_ref_parse(reference, &r, NULL) >= 0 && strcmp(r->path, repo) == 0;
}

int
oci_sig_check(const struct oci_manifest *sigm, oci_sig_fetch_fn fetch, void *userdata, const char *digest,
              const char *repo, bool by_path, struct oci_sig_key *const *keys, size_t n_keys,
              const struct oci_sig_key **ret_key, char **ret_why)
{
        char *why = NULL;

        if (sigm->n_layers > OCI_SIG_MAX_LAYERS) {
                *ret_why = xasprintf("the signature manifest has %zu layers (at most %d are read)", sigm->n_layers,
                                     OCI_SIG_MAX_LAYERS);
                return -EBADMSG;
        }
        for (size_t i = 0; i < sigm->n_layers; i++) {
                const struct oci_descriptor *l = &sigm->layers[i];
                json_t *sv = l->annotations ? json_object_get(l->annotations, OCI_ANNOTATION_COSIGN_SIGNATURE) : NULL;
                _cleanup_free_ char *data = NULL;
                struct oci_sig_payload p = {0};
                struct err *e = NULL;
                size_t len = 0;

                if (!oci_mediatype_equal(l->media_type, OCI_MT_COSIGN_SIMPLESIGNING))
                        continue;
                if (!json_is_string(sv)) {
                        why_add(&why, "signature %zu: no %s annotation", i + 1, OCI_ANNOTATION_COSIGN_SIGNATURE);
                        continue;
                }
                if (fetch(userdata, l->digest, OCI_SIG_PAYLOAD_MAX, &data, &len, &e) < 0 ||
                    oci_sig_payload_parse(data, len, &p, &e) < 0) {
                        why_add(&why, "signature %zu: %s", i + 1, err_msg(&e));
                        err_clear(&e);
                        continue;
                }
                for (size_t k = 0; k < n_keys; k++) {
                        const char *kn = oci_sig_key_name(keys[k]);

                        if (oci_sig_verify(keys[k], data, len, json_string_value(sv), &e) < 0) {
                                why_add(&why, "signature %zu: %s", i + 1, err_msg(&e));
                                err_clear(&e);
                        } else if (strcmp(p.manifest_digest, digest) != 0) {
                                why_add(&why, "signature %zu (key %s): wrong digest: it signs %s", i + 1, kn,
                                        p.manifest_digest);
                        } else if (strcmp(p.type, OCI_COSIGN_TYPE) != 0) {
                                why_add(&why, "signature %zu (key %s): type \"%.64s\" is not \"%s\"", i + 1, kn, p.type,
                                        OCI_COSIGN_TYPE);
                        } else if (!identity_ok(p.docker_reference, repo, by_path)) {
                                why_add(&why, "signature %zu (key %s): wrong identity: it names %.200s, not %s", i + 1,
                                        kn, p.docker_reference, repo);
                        } else {
                                if (ret_key)
                                        *ret_key = keys[k];
                                oci_sig_payload_clear(&p);
                                free(why);
                                return 0;
                        }
                }
                oci_sig_payload_clear(&p);
        }
        *ret_why = why ? why : xstrdup("the signature manifest has no simple-signing layer");
        return -EBADMSG;
}
