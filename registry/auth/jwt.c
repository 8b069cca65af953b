/* JSON Web Tokens as the Docker token specification uses them
 * (distribution docs/content/spec/auth/jwt.md): compact JWS, ES256 / RS256,
 * signing key named by a libtrust "kid" or an "x5c" certificate chain. */
#include "registry/auth/auth-internal.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "digest/digest.h"
#include "registry/common/base64.h"

static void
evp_pkey_freep(EVP_PKEY **p)
{
        EVP_PKEY_free(*p);
}
static void
x509_freep(X509 **p)
{
        X509_free(*p);
}
static void
bio_freep(BIO **p)
{
        BIO_free(*p);
}
static void
md_ctx_freep(EVP_MD_CTX **p)
{
        EVP_MD_CTX_free(*p);
}

int
reg_jwt_kid(EVP_PKEY *pkey, char out[REG_JWT_KID_LEN], struct err **err)
{
        static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        _cleanup_free_ unsigned char *der = NULL;
        unsigned char *p;
        unsigned char md[32];
        unsigned int mdlen = 0;
        char b32[49];
        int n = i2d_PUBKEY(pkey, NULL);
        size_t o = 0;

        if (n <= 0)
                return err_set(err, EINVAL, "cannot encode public key");
        der = xmalloc((size_t) n);
        p = der;
        if (i2d_PUBKEY(pkey, &p) != n || !EVP_Digest(der, (size_t) n, md, &mdlen, EVP_sha256(), NULL))
                return err_set(err, EINVAL, "cannot hash public key");
        /* 30 bytes = 240 bits = exactly 48 base32 characters, no padding. */
        for (size_t i = 0; i < 30; i += 5) {
                uint64_t v = 0;
                for (size_t k = 0; k < 5; k++)
                        v = v << 8 | md[i + k];
                for (int k = 7; k >= 0; k--)
                        b32[o++] = B32[(v >> (5 * k)) & 31];
        }
        b32[48] = '\0';
        o = 0;
        for (size_t i = 0; i < 48; i++) {
                if (i > 0 && i % 4 == 0)
                        out[o++] = ':';
                out[o++] = b32[i];
        }
        out[o] = '\0';
        return 0;
}

/* The JWS algorithm for PKEY, or NULL when it is not usable. */
static const char *
key_alg(EVP_PKEY *pkey, struct err **err)
{
        int id = EVP_PKEY_get_base_id(pkey);

        if (id == EVP_PKEY_EC) {
                char curve[64] = "";
                size_t len = 0;
                if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), &len) ||
                    strcmp(curve, "prime256v1") != 0) {
                        err_set(err, EINVAL, "EC key on curve '%s': only P-256 (ES256) is supported", curve);
                        return NULL;
                }
                return "ES256";
        }
        if (id == EVP_PKEY_RSA) {
                if (EVP_PKEY_get_bits(pkey) < 2048) {
                        err_set(err, EINVAL, "RSA key of %d bits: at least 2048 are required", EVP_PKEY_get_bits(pkey));
                        return NULL;
                }
                return "RS256";
        }
        err_set(err, EINVAL, "unsupported key type (need EC P-256 or RSA)");
        return NULL;
}

int
reg_jwt_key_from_pkey(EVP_PKEY *pkey, struct reg_jwt_key **ret, struct err **err)
{
        struct reg_jwt_key *k;
        const char *alg = key_alg(pkey, err);
        char kid[REG_JWT_KID_LEN];
        int r;

        if (!alg)
                return -EINVAL;
        r = reg_jwt_kid(pkey, kid, err);
        if (r < 0)
                return r;
        k = xcalloc(1, sizeof(*k));
        k->pkey = pkey;
        k->alg = alg;
        memcpy(k->kid, kid, sizeof(kid));
        *ret = k;
        return 0;
}

int
reg_jwt_key_load_private(const char *path, struct reg_jwt_key **ret, struct err **err)
{
        _cleanup_secret_ char *pem = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *pkey = NULL;
        size_t len;
        int r;

        r = fs_read_file(path, REG_AUTH_PEM_MAX, &pem, &len, err);
        if (r < 0)
                return err_prefix(err, "token signing key");
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!bio)
                return err_set(err, ENOMEM, "%s: out of memory", path);
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (!pkey)
                return err_set(err, EINVAL, "%s: no PEM private key found", path);
        r = reg_jwt_key_from_pkey(pkey, ret, err);
        if (r < 0)
                return err_prefix(err, "%s", path);
        pkey = NULL;
        return 0;
}

void
reg_jwt_key_free(struct reg_jwt_key *k)
{
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);
        free(k);
}

DEFINE_FREEP(struct reg_jwt_key, reg_jwt_key_free)

/* ES256 signatures are raw r||s (RFC 7518 section 3.4), OpenSSL speaks DER. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t len, unsigned char raw[64])
{
        const unsigned char *p = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long) len);
        const BIGNUM *r, *s;
        int ok;

        if (!sig)
                return -1;
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
        ECDSA_SIG_free(sig);
        return ok ? 0 : -1;
}

static int
ecdsa_raw_to_der(const unsigned char raw[64], unsigned char **ret_der, size_t *ret_len)
{
        ECDSA_SIG *sig = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
        unsigned char *der = NULL;
        int n;

        if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
                BN_free(r);
                BN_free(s);
                ECDSA_SIG_free(sig);
                return -1;
        }
        n = i2d_ECDSA_SIG(sig, &der);
        ECDSA_SIG_free(sig);
        if (n <= 0)
                return -1;
        *ret_der = der;
        *ret_len = (size_t) n;
        return 0;
}

int
reg_jwt_sign(const struct reg_jwt_key *key, json_t *claims, const unsigned char *x5c_der, size_t x5c_len,
             char **ret_token, struct err **err)
{
        _cleanup_(json_decrefp) json_t *hdr = NULL;
        _cleanup_free_ char *hdr_json = NULL, *claims_json = NULL, *h64 = NULL, *c64 = NULL, *signing = NULL,
                            *s64 = NULL;
        _cleanup_free_ unsigned char *sig = NULL;
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        size_t siglen = 0;

        hdr = json_pack("{s:s, s:s, s:s}", "typ", "JWT", "alg", key->alg, "kid", key->kid);
        if (!hdr)
                return err_set(err, ENOMEM, "building JWT header");
        if (x5c_der) {
                _cleanup_free_ char *b = reg_b64_encode(x5c_der, x5c_len, false);
                json_object_set_new(hdr, "x5c", json_pack("[s]", b));
        }
        hdr_json = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
        claims_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!hdr_json || !claims_json)
                return err_set(err, EINVAL, "cannot serialise JWT");
        h64 = reg_b64_encode(hdr_json, strlen(hdr_json), true);
        c64 = reg_b64_encode(claims_json, strlen(claims_json), true);
        signing = xasprintf("%s.%s", h64, c64);

        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
            EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *) signing, strlen(signing)) != 1) {
                ERR_clear_error();
                return err_set(err, EINVAL, "cannot sign token with %s key %s", key->alg, key->kid);
        }
        sig = xmalloc(siglen);
        if (EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) signing, strlen(signing)) != 1) {
                ERR_clear_error();
                return err_set(err, EINVAL, "cannot sign token with %s key %s", key->alg, key->kid);
        }
        if (strcmp(key->alg, "ES256") == 0) {
                unsigned char raw[64];
                if (ecdsa_der_to_raw(sig, siglen, raw) < 0)
                        return err_set(err, EINVAL, "bad ECDSA signature from OpenSSL");
                s64 = reg_b64_encode(raw, 64, true);
        } else {
                s64 = reg_b64_encode(sig, siglen, true);
        }
        *ret_token = xasprintf("%s.%s", signing, s64);
        return 0;
}

/* ---- trust ---- */

struct reg_jwt_trust {
        size_t n;
        struct reg_jwt_key **keys; /* public keys by kid */
        X509_STORE *roots;
        size_t n_roots;
};

struct reg_jwt_trust *
reg_jwt_trust_new(void)
{
        struct reg_jwt_trust *t = xcalloc(1, sizeof(*t));
        t->roots = X509_STORE_new();
        if (!t->roots)
                abort();
        return t;
}

void
reg_jwt_trust_free(struct reg_jwt_trust *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                reg_jwt_key_free(t->keys[i]);
        free(t->keys);
        X509_STORE_free(t->roots);
        free(t);
}

static void
trust_push(struct reg_jwt_trust *t, struct reg_jwt_key *k)
{
        t->keys = xrealloc(t->keys, (t->n + 1) * sizeof(*t->keys));
        t->keys[t->n++] = k;
}

int
reg_jwt_trust_add_key(struct reg_jwt_trust *t, const struct reg_jwt_key *key, struct err **err)
{
        struct reg_jwt_key *k;

        if (!EVP_PKEY_up_ref(key->pkey))
                return err_set(err, ENOMEM, "EVP_PKEY_up_ref");
        k = xcalloc(1, sizeof(*k));
        k->pkey = key->pkey;
        k->alg = key->alg;
        memcpy(k->kid, key->kid, sizeof(k->kid));
        trust_push(t, k);
        return 0;
}

int
reg_jwt_trust_add_bundle(struct reg_jwt_trust *t, const char *path, struct err **err)
{
        _cleanup_free_ char *pem = NULL;
        _cleanup_(bio_freep) BIO *bio = NULL;
        size_t len, count = 0;
        int r;

        r = fs_read_file(path, REG_AUTH_PEM_MAX, &pem, &len, err);
        if (r < 0)
                return err_prefix(err, "token rootcertbundle");
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!bio)
                return err_set(err, ENOMEM, "%s: out of memory", path);
        for (;;) {
                _cleanup_(x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
                struct reg_jwt_key *k = NULL;
                EVP_PKEY *pk;

                if (!cert)
                        break;
                count++;
                pk = X509_get_pubkey(cert);
                if (!pk)
                        return err_set(err, EINVAL, "%s: certificate %zu has no usable public key", path, count);
                r = reg_jwt_key_from_pkey(pk, &k, err);
                if (r < 0) {
                        EVP_PKEY_free(pk);
                        return err_prefix(err, "%s: certificate %zu", path, count);
                }
                trust_push(t, k);
                if (X509_STORE_add_cert(t->roots, cert) != 1)
                        ERR_clear_error(); /* a duplicate certificate is harmless */
                t->n_roots++;
        }
        ERR_clear_error();
        if (count == 0)
                return err_set(err, EINVAL, "%s: no PEM certificate found", path);
        return 0;
}

/* Verify the x5c chain (base64 DER certificates, leaf first) against the
 * trusted roots and return the leaf's public key. */
static int
x5c_key(const struct reg_jwt_trust *t, json_t *x5c, EVP_PKEY **ret, struct err **err)
{
        _cleanup_(x509_freep) X509 *leaf = NULL;
        STACK_OF(X509) *chain = NULL;
        X509_STORE_CTX *vctx = NULL;
        size_t i;
        json_t *v;
        int r = -1, ok;

        if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > 8)
                return err_set(err, ERR_UNAUTHORIZED, "token header: x5c must be an array of 1 to 8 certificates");
        if (t->n_roots == 0)
                return err_set(err, ERR_UNAUTHORIZED, "token carries x5c but no root certificates are configured");
        chain = sk_X509_new_null();
        json_array_foreach(x5c, i, v)
        {
                _cleanup_free_ unsigned char *der = NULL;
                const unsigned char *p;
                size_t len;
                X509 *c;
                struct err *e2 = NULL;

                if (!json_is_string(v) ||
                    reg_b64_decode(json_string_value(v), json_string_length(v), &der, &len, &e2) < 0) {
                        err_clear(&e2);
                        err_set(err, ERR_UNAUTHORIZED, "token header: x5c[%zu] is not base64", i);
                        goto out;
                }
                p = der;
                c = d2i_X509(NULL, &p, (long) len);
                if (!c || p != der + len) {
                        X509_free(c);
                        err_set(err, ERR_UNAUTHORIZED, "token header: x5c[%zu] is not a DER certificate", i);
                        goto out;
                }
                if (i == 0)
                        leaf = c;
                else
                        sk_X509_push(chain, c);
        }
        vctx = X509_STORE_CTX_new();
        if (!vctx || X509_STORE_CTX_init(vctx, t->roots, leaf, chain) != 1) {
                err_set(err, ENOMEM, "X509_STORE_CTX");
                goto out;
        }
        /* A bundle may hold the issuing certificate itself rather than a CA. */
        X509_STORE_CTX_set_flags(vctx, X509_V_FLAG_PARTIAL_CHAIN);
        ok = X509_verify_cert(vctx);
        if (ok != 1) {
                err_set(err, ERR_UNAUTHORIZED, "token x5c chain not trusted: %s",
                        X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
                goto out;
        }
        *ret = X509_get_pubkey(leaf);
        if (!*ret) {
                err_set(err, ERR_UNAUTHORIZED, "token x5c leaf has no usable key");
                goto out;
        }
        r = 0;
out:
        ERR_clear_error();
        X509_STORE_CTX_free(vctx);
        sk_X509_pop_free(chain, X509_free);
        return r < 0 ? -ERR_UNAUTHORIZED : 0;
}

static int
decode_json_segment(const char *s, size_t n, const char *what, json_t **ret, struct err **err)
{
        _cleanup_free_ unsigned char *raw = NULL;
        json_error_t je;
        size_t len;
        json_t *j;
        struct err *e2 = NULL;

        if (reg_b64_decode(s, n, &raw, &len, &e2) < 0) {
                int r = err_set(err, ERR_UNAUTHORIZED, "malformed token %s: %s", what, err_msg(&e2));
                err_clear(&e2);
                return r;
        }
        j = json_loadb((const char *) raw, len, JSON_REJECT_DUPLICATES, &je);
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return err_set(err, ERR_UNAUTHORIZED, "malformed token %s: not a JSON object", what);
        }
        *ret = j;
        return 0;
}

int
reg_jwt_verify(const struct reg_jwt_trust *t, const char *token, json_t **ret_claims, struct err **err)
{
        _cleanup_(json_decrefp) json_t *hdr = NULL, *claims = NULL;
        _cleanup_(evp_pkey_freep) EVP_PKEY *x5c_pkey = NULL;
        _cleanup_free_ unsigned char *sig = NULL, *der = NULL;
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        const char *dot1, *dot2, *alg, *kid;
        size_t toklen = strlen(token), siglen, derlen;
        EVP_PKEY *pkey = NULL;
        const char *want_alg;
        json_t *x5c;
        int r;

        if (toklen > REG_AUTH_TOKEN_MAX)
                return err_set(err, ERR_UNAUTHORIZED, "token longer than %d bytes", REG_AUTH_TOKEN_MAX);
        dot1 = strchr(token, '.');
        dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
        if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
                return err_set(err, ERR_UNAUTHORIZED, "malformed token: expected three '.'-separated parts");
        r = decode_json_segment(token, (size_t) (dot1 - token), "header", &hdr, err);
        if (r < 0)
                return r;
        r = decode_json_segment(dot1 + 1, (size_t) (dot2 - dot1 - 1), "claims", &claims, err);
        if (r < 0)
                return r;
        {
                struct err *e2 = NULL;
                if (reg_b64_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen, &e2) < 0) {
                        err_clear(&e2);
                        return err_set(err, ERR_UNAUTHORIZED, "malformed token signature");
                }
        }

        alg = json_string_value(json_object_get(hdr, "alg"));
        if (!alg || (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0))
                return err_set(err, ERR_UNAUTHORIZED, "token algorithm '%.32s' not accepted (ES256, RS256)",
                               alg ? alg : "(none)");

        x5c = json_object_get(hdr, "x5c");
        kid = json_string_value(json_object_get(hdr, "kid"));
        /* A kid naming a key we trust directly wins; else the x5c chain
         * must lead to a trusted root.  Either way the signature below is
         * checked with that key. */
        for (size_t i = 0; kid && i < t->n && !pkey; i++)
                if (strcmp(t->keys[i]->kid, kid) == 0)
                        pkey = t->keys[i]->pkey;
        if (!pkey && x5c) {
                r = x5c_key(t, x5c, &x5c_pkey, err);
                if (r < 0)
                        return r;
                pkey = x5c_pkey;
        } else if (!pkey && kid) {
                return err_set(err, ERR_UNAUTHORIZED, "token signed by untrusted key '%.64s'", kid);
        } else if (!pkey) {
                return err_set(err, ERR_UNAUTHORIZED, "token header names no signing key (kid or x5c)");
        }

        /* The algorithm must match the key type (no RS/ES confusion). */
        {
                struct err *e2 = NULL;
                want_alg = key_alg(pkey, &e2);
                if (!want_alg) {
                        r = err_set(err, ERR_UNAUTHORIZED, "token signing key unusable: %s", err_msg(&e2));
                        err_clear(&e2);
                        return r;
                }
        }
        if (strcmp(want_alg, alg) != 0)
                return err_set(err, ERR_UNAUTHORIZED, "token algorithm %s does not match its %s key", alg, want_alg);
        if (strcmp(alg, "ES256") == 0) {
                if (siglen != 64 || ecdsa_raw_to_der(sig, &der, &derlen) < 0)
                        return err_set(err, ERR_UNAUTHORIZED, "token ES256 signature must be 64 bytes");
        } else {
                der = steal_ptr(&sig);
                derlen = siglen;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1) {
                ERR_clear_error();
                return err_set(err, ENOMEM, "EVP_DigestVerifyInit");
        }
        r = EVP_DigestVerify(ctx, der, derlen, (const unsigned char *) token, (size_t) (dot2 - token));
        ERR_clear_error();
        if (r != 1)
                return err_set(err, ERR_UNAUTHORIZED, "token signature does not verify");
        *ret_claims = steal_ptr(&claims);
        return 0;
}

/* NumericDate claims (RFC 7519 section 2) are attacker-controlled numbers:
 * anything beyond +-2^53 seconds (far past any real date, and where doubles
 * stop being exact) is refused rather than overflowed by the leeway maths. */
#define TIME_CLAIM_MAX ((json_int_t) 1 << 53)

/* 1 and *ret when NAME is a number in range, 0 when absent, -1 when it is
 * present but not a usable time. */
static int
time_claim(json_t *claims, const char *name, json_int_t *ret)
{
        json_t *v = json_object_get(claims, name);
        json_int_t t;

        if (!v)
                return 0;
        if (json_is_integer(v)) {
                t = json_integer_value(v);
        } else if (json_is_real(v)) {
                double d = json_real_value(v);
                if (!(d >= (double) -TIME_CLAIM_MAX && d <= (double) TIME_CLAIM_MAX))
                        return -1;
                t = (json_int_t) d;
        } else {
                return -1;
        }
        if (t < -TIME_CLAIM_MAX || t > TIME_CLAIM_MAX)
                return -1;
        *ret = t;
        return 1;
}

int
reg_jwt_check_claims(json_t *claims, const char *issuer, const char *audience, time_t now, struct err **err)
{
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        json_t *aud = json_object_get(claims, "aud");
        json_int_t exp, nbf;
        bool aud_ok = false;
        int r;

        if (!iss || strcmp(iss, issuer) != 0)
                return err_set(err, ERR_UNAUTHORIZED, "token issuer '%.64s' is not trusted (want '%s')", iss ? iss : "",
                               issuer);
        if (json_is_string(aud)) {
                aud_ok = strcmp(json_string_value(aud), audience) == 0;
        } else if (json_is_array(aud)) {
                size_t i;
                json_t *v;
                json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
                    aud_ok = true;
        }
        if (!aud_ok)
                return err_set(err, ERR_UNAUTHORIZED, "token audience does not include '%s'", audience);
        r = time_claim(claims, "exp", &exp);
        if (r == 0)
                return err_set(err, ERR_UNAUTHORIZED, "token has no exp claim");
        if (r < 0)
                return err_set(err, ERR_UNAUTHORIZED, "token exp claim is not a time in range");
        if ((json_int_t) now > exp + REG_AUTH_LEEWAY)
                return err_set(err, ERR_UNAUTHORIZED, "token expired %lld seconds ago",
                               (long long) ((json_int_t) now - exp));
        r = time_claim(claims, "nbf", &nbf);
        if (r < 0)
                return err_set(err, ERR_UNAUTHORIZED, "token nbf claim is not a time in range");
        if (r > 0 && (json_int_t) now < nbf - REG_AUTH_LEEWAY)
                return err_set(err, ERR_UNAUTHORIZED, "token not valid for another %lld seconds",
                               (long long) (nbf - (json_int_t) now));
        return 0;
}
