/* Cosign image signatures: payloads and ECDSA P-256 signatures (see
 * signature.h; keys are signature-key.c's). */
#include "oci/signature-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "digest/digest.h"
#include "oci/model.h"
#include "oci/ref.h"

/* ---- payloads ---------------------------------------------------------- */

int
oci_sig_payload_build(const char *docker_reference, const char *manifest_digest, char **ret, size_t *ret_len,
                      struct err **err)
{
        struct digest d;
        json_t *j;
        char *s;
        int r;

        r = digest_parse(manifest_digest, &d, err);
        if (r < 0)
                return err_prefix(err, "signature payload");
        j = json_pack("{s:{s:{s:s}, s:{s:s}, s:s}, s:n}", "critical", "identity", "docker-reference", docker_reference,
                      "image", "docker-manifest-digest", manifest_digest, "type", OCI_COSIGN_TYPE, "optional");
        if (!j)
                return err_set(err, EINVAL, "signature payload: the reference is not UTF-8");
        s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s)
                return err_set(err, ENOMEM, "signature payload: out of memory");
        *ret = s;
        *ret_len = strlen(s);
        return 0;
}

/* The string member of O named KEY (case-insensitive, as cosign's Go
 * decoder matches), where every member of O must be one of KEYS. */
static int
only_strings(const json_t *o, const char *where, const char *const *keys, const char **ret, struct err **err)
{
        const char *k;
        json_t *v;
        size_t n = 0;

        while (keys[n])
                n++;
        if (!json_is_object(o))
                return err_set(err, EINVAL, "signature payload: %s is not an object", where);
        for (size_t i = 0; i < n; i++)
                ret[i] = NULL;
        json_object_foreach((json_t *) o, k, v)
        {
                size_t i;

                for (i = 0; i < n && strcasecmp(k, keys[i]) != 0; i++)
                        ;
                if (i == n)
                        return err_set(err, EINVAL, "signature payload: %s has an unknown field \"%.64s\"", where, k);
                if (ret[i])
                        return err_set(err, EINVAL, "signature payload: %s.%s is given twice", where, keys[i]);
                if (!json_is_string(v))
                        return err_set(err, EINVAL, "signature payload: %s.%s is not a string", where, keys[i]);
                ret[i] = json_string_value(v);
        }
        for (size_t i = 0; i < n; i++)
                if (!ret[i])
                        return err_set(err, EINVAL, "signature payload: %s.%s is missing", where, keys[i]);
        return 0;
}

int
oci_sig_payload_parse(const void *buf, size_t len, struct oci_sig_payload *ret, struct err **err)
{
        static const char *const ident_keys[] = {"docker-reference", NULL};
        static const char *const image_keys[] = {"docker-manifest-digest", NULL};
        json_t *j = NULL, *crit = NULL, *ident = NULL, *image = NULL, *type = NULL, *v;
        const char *k, *ref, *dg;
        struct digest d;
        bool seen_optional = false;
        int r;

        r = oci_json_load(buf, len, OCI_SIG_PAYLOAD_MAX, "signature payload", &j, err);
        if (r < 0)
                return r;
        if (!json_is_object(j)) {
                r = err_set(err, EINVAL, "signature payload: not a JSON object");
                goto out;
        }
        json_object_foreach(j, k, v)
        {
                bool is_crit = strcasecmp(k, "critical") == 0;

                if ((!is_crit && strcasecmp(k, "optional") != 0) || (is_crit ? crit != NULL : seen_optional)) {
                        r = err_set(err, EINVAL, "signature payload: unknown or repeated field \"%.64s\"", k);
                        goto out;
                }
                if (is_crit)
                        crit = v;
                else
                        seen_optional = true;
        }
        if (!json_is_object(crit)) {
                r = err_set(err, EINVAL, "signature payload: \"critical\" is %s", crit ? "not an object" : "missing");
                goto out;
        }
        json_object_foreach(crit, k, v)
        {
                json_t **slot = strcasecmp(k, "identity") == 0 ? &ident
                                : strcasecmp(k, "image") == 0  ? &image
                                : strcasecmp(k, "type") == 0   ? &type
                                                               : NULL;

                if (!slot) {
                        r = err_set(err, EINVAL, "signature payload: critical has an unknown field \"%.64s\"", k);
                        goto out;
                }
                if (*slot) {
                        r = err_set(err, EINVAL, "signature payload: critical.%s is given twice", k);
                        goto out;
                }
                *slot = v;
        }
        if (!type || !json_is_string(type)) {
                r = err_set(err, EINVAL, "signature payload: critical.type is %s", type ? "not a string" : "missing");
                goto out;
        }
        if (!ident || !image) {
                r = err_set(err, EINVAL, "signature payload: critical.%s is missing", ident ? "image" : "identity");
                goto out;
        }
        if ((r = only_strings(ident, "critical.identity", ident_keys, &ref, err)) < 0 ||
            (r = only_strings(image, "critical.image", image_keys, &dg, err)) < 0)
                goto out;
        if (digest_parse(dg, &d, NULL) < 0) {
                r = err_set(err, EINVAL,
                            "signature payload: critical.image.docker-manifest-digest \"%.80s\" is not a "
                            "digest",
                            dg);
                goto out;
        }
        ret->docker_reference = xstrdup(ref);
        ret->manifest_digest = xstrdup(dg);
        ret->type = xstrdup(json_string_value(type));
        r = 0;
out:
        json_decref(j);
        return r;
}

void
oci_sig_payload_clear(struct oci_sig_payload *p)
{
        free(p->docker_reference);
        free(p->manifest_digest);
        free(p->type);
        memset(p, 0, sizeof(*p));
}

char *
oci_sig_tag(const char *digest)
{
        const char *colon = digest ? strchr(digest, ':') : NULL;

        if (!colon)
                return NULL;
        return xasprintf("%.*s-%s.sig", (int) (colon - digest), digest, colon + 1);
}

bool
oci_sig_identity_matches(const char *reference, const char *repo)
{
        _cleanup_(oci_ref_freep) struct oci_ref *a = NULL, *b = NULL;

        if (oci_ref_parse(reference, &a, NULL) < 0 || oci_ref_parse(repo, &b, NULL) < 0)
                return false;
        return strcmp(a->domain, b->domain) == 0 && strcmp(a->path, b->path) == 0;
}

/* ---- signing ----------------------------------------------------------- */

int
oci_sig_sign(const struct oci_sig_key *k, const void *payload, size_t len, char **ret_b64, struct err **err)
{
        EVP_MD_CTX *ctx;
        unsigned char *sig = NULL;
        size_t siglen = 0;
        char *b64;
        int ok;

        if (!k->private_key)
                return err_set(err, EINVAL, "key %s: a public key cannot sign", k->name);
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return err_set(err, ENOMEM, "signing: out of memory");
        ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, NULL, &siglen, payload, len) == 1;
        if (ok) {
                sig = xmalloc(siglen);
                ok = EVP_DigestSign(ctx, sig, &siglen, payload, len) == 1;
        }
        EVP_MD_CTX_free(ctx);
        if (!ok) {
                free(sig);
                ERR_clear_error();
                return err_set(err, EIO, "signing with key %s failed", k->name);
        }
        b64 = xmalloc(4 * ((siglen + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *) b64, sig, (int) siglen);
        free(sig);
        *ret_b64 = b64;
        return 0;
}

/* Strict RFC 4648 base64 (padding required, no blanks) into *ret. */
static int
b64_decode(const char *s, unsigned char **ret, size_t *ret_len)
{
        size_t n = strlen(s), pad = 0;
        unsigned char *out;
        int got;

        if (n == 0 || n % 4 != 0 || n > 4096)
                return -1;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (c == '=') {
                        if (i < n - 2)
                                return -1;
                        pad++;
                } else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                    c == '+' || c == '/')) {
                        return -1;
                }
        }
        out = xmalloc(n / 4 * 3);
        got = EVP_DecodeBlock(out, (const unsigned char *) s, (int) n);
        if (got < 0 || (size_t) got < pad) {
                free(out);
                return -1;
        }
        *ret = out;
        *ret_len = (size_t) got - pad;
        return 0;
}

int
oci_sig_verify(const struct oci_sig_key *k, const void *payload, size_t len, const char *b64, struct err **err)
{
        _cleanup_free_ unsigned char *sig = NULL;
        size_t siglen = 0;
        EVP_MD_CTX *ctx;
        int v;

        if (b64_decode(b64, &sig, &siglen) < 0)
                return err_set(err, EINVAL, "the signature is not base64");
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return err_set(err, ENOMEM, "verifying: out of memory");
        v = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1
                ? EVP_DigestVerify(ctx, sig, siglen, payload, len)
                : -1;
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        if (v != 1)
                return err_set(err, EBADMSG, "the signature does not verify with key %s", k->name);
        return 0;
}
