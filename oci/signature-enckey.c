/* cosign's password-encrypted private keys (see signature-internal.h):
 * scrypt from OpenSSL, NaCl secretbox and base64 from libsodium (OpenSSL has
 * no XSalsa20).  Every field of the JSON is checked before any key is
 * derived, and the scrypt cost is capped: the parameters come from the file,
 * and an unchecked N or r is a request for gigabytes of memory. */
#include "oci/signature-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include "common/cleanup.h"

/* cosign's (go-securesystemslib's "legacy", still its default) cost. */
#define COSIGN_SCRYPT_N 32768
#define COSIGN_SCRYPT_R 8
#define COSIGN_SCRYPT_P 1

/* ---- parsing ----------------------------------------------------------- */

/* The members of object O named KEYS (matched case-insensitively, as Go's
 * encoding/json does), into RET in KEYS' order; an unknown or repeated
 * member, or a missing one, is refused naming its path (WHERE: the path of
 * O, "" at the top). */
static int
members(const json_t *o, const char *name, const char *where, const char *const *keys, json_t **ret, struct err **err)
{
        const char *k, *dot = *where ? "." : "";
        json_t *v;
        size_t n = 0;

        while (keys[n])
                n++;
        if (!json_is_object(o))
                return err_set(err, EINVAL, "key %s: %s is not a JSON object", name,
                               *where ? where : "the encrypted key");
        for (size_t i = 0; i < n; i++)
                ret[i] = NULL;
        json_object_foreach((json_t *) o, k, v)
        {
                size_t i;

                for (i = 0; i < n && strcasecmp(k, keys[i]) != 0; i++)
                        ;
                if (i == n)
                        return err_set(err, EINVAL, "key %s: unknown field \"%s%s%.64s\"", name, where, dot, k);
                if (ret[i])
                        return err_set(err, EINVAL, "key %s: %s%s%s is given twice", name, where, dot, keys[i]);
                ret[i] = v;
        }
        for (size_t i = 0; i < n; i++)
                if (!ret[i])
                        return err_set(err, EINVAL, "key %s: %s%s%s is missing", name, where, dot, keys[i]);
        return 0;
}

/* Strict base64 (RFC 4648, padded, canonical, no blanks) of string V into
 * a new buffer of MIN..MAX bytes. */
static int
b64_field(const json_t *v, const char *name, const char *field, size_t min, size_t max, unsigned char **ret,
          size_t *ret_len, struct err **err)
{
        const char *s;
        size_t slen, got = 0;
        unsigned char *out;

        if (!json_is_string(v))
                return err_set(err, EINVAL, "key %s: %s is not a string", name, field);
        s = json_string_value(v);
        slen = json_string_length(v);
        /* Checked before decoding: the buffer below is sized by it. */
        if (slen / 4 * 3 > max + 2)
                return err_set(err, EINVAL, "key %s: %s is too long (%zu base64 characters, at most %zu bytes)", name,
                               field, slen, max);
        out = xmalloc(max + 3);
        if (sodium_base642bin(out, max + 3, s, slen, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
                free(out);
                return err_set(err, EINVAL, "key %s: %s is not base64", name, field);
        }
        if (got < min || got > max) {
                free(out);
                if (min == max)
                        return err_set(err, EINVAL, "key %s: %s is %zu bytes, not %zu", name, field, got, min);
                return err_set(err, EINVAL, "key %s: %s is %zu bytes (%zu to %zu expected)", name, field, got, min,
                               max);
        }
        *ret = out;
        *ret_len = got;
        return 0;
}

/* A positive JSON integer field (Go's int: no fraction, no exponent). */
static int
uint_field(const json_t *v, const char *name, const char *field, uint64_t *ret, struct err **err)
{
        if (!json_is_integer(v) || json_integer_value(v) < 1)
                return err_set(err, EINVAL, "key %s: %s is not a positive integer", name, field);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

/* The scrypt cost a file asks for, refused past the caps in signature.h
 * (cosign writes N=32768 r=8 p=1: 32 MiB and about 0.1 s). */
static int
check_scrypt(const struct oci_sig_enckey *ek, const char *name, struct err **err)
{
        if (ek->n < 2 || (ek->n & (ek->n - 1)) != 0)
                return err_set(err, EINVAL, "key %s: scrypt N=%llu is not a power of two above 1", name,
                               (unsigned long long) ek->n);
        if (ek->n > OCI_SIG_SCRYPT_N_MAX)
                return err_set(err, EINVAL, "key %s: scrypt N=%llu is above the cap of %u", name,
                               (unsigned long long) ek->n, (unsigned) OCI_SIG_SCRYPT_N_MAX);
        if (ek->r > OCI_SIG_SCRYPT_RP_MAX || ek->p > OCI_SIG_SCRYPT_RP_MAX || ek->r * ek->p > OCI_SIG_SCRYPT_RP_MAX)
                return err_set(err, EINVAL, "key %s: scrypt r=%llu p=%llu: r*p is above the cap of %d", name,
                               (unsigned long long) ek->r, (unsigned long long) ek->p, OCI_SIG_SCRYPT_RP_MAX);
        /* scrypt's working set is 128*r*N bytes; its work N*r*p blocks. */
        if (128 * ek->r * ek->n > OCI_SIG_SCRYPT_MEM_MAX)
                return err_set(err, EINVAL, "key %s: scrypt N=%llu r=%llu needs %llu MiB (at most %u)", name,
                               (unsigned long long) ek->n, (unsigned long long) ek->r,
                               (unsigned long long) (128 * ek->r * ek->n >> 20),
                               (unsigned) (OCI_SIG_SCRYPT_MEM_MAX >> 20));
        if (ek->n * ek->r * ek->p > OCI_SIG_SCRYPT_WORK_MAX)
                return err_set(err, EINVAL, "key %s: scrypt N=%llu r=%llu p=%llu is above the work cap (N*r*p <= %u)",
                               name, (unsigned long long) ek->n, (unsigned long long) ek->r, (unsigned long long) ek->p,
                               (unsigned) OCI_SIG_SCRYPT_WORK_MAX);
        return 0;
}

static int
parse_kdf(const json_t *kdf, const char *name, struct oci_sig_enckey *ek, struct err **err)
{
        static const char *const kdf_keys[] = {"name", "params", "salt", NULL};
        static const char *const param_keys[] = {"N", "r", "p", NULL};
        json_t *f[3], *pf[3];
        int r;

        r = members(kdf, name, "kdf", kdf_keys, f, err);
        if (r < 0)
                return r;
        if (!json_is_string(f[0]))
                return err_set(err, EINVAL, "key %s: kdf.name is not a string", name);
        /* Not ours to guess: a newer format is refused, never misread. */
        if (strcmp(json_string_value(f[0]), OCI_SIG_ENC_KDF) != 0)
                return err_set(err, ENOTSUP, "key %s: unsupported kdf \"%.64s\" (cosign's keys use \"%s\")", name,
                               json_string_value(f[0]), OCI_SIG_ENC_KDF);
        if ((r = members(f[1], name, "kdf.params", param_keys, pf, err)) < 0 ||
            (r = uint_field(pf[0], name, "kdf.params.N", &ek->n, err)) < 0 ||
            (r = uint_field(pf[1], name, "kdf.params.r", &ek->r, err)) < 0 ||
            (r = uint_field(pf[2], name, "kdf.params.p", &ek->p, err)) < 0 || (r = check_scrypt(ek, name, err)) < 0)
                return r;
        return b64_field(f[2], name, "kdf.salt", OCI_SIG_ENC_SALT_MIN, OCI_SIG_ENC_SALT_MAX, &ek->salt, &ek->salt_len,
                         err);
}

static int
parse_cipher(const json_t *cipher, const char *name, struct oci_sig_enckey *ek, struct err **err)
{
        static const char *const cipher_keys[] = {"name", "nonce", NULL};
        _cleanup_free_ unsigned char *nonce = NULL;
        json_t *f[2];
        size_t len = 0;
        int r;

        r = members(cipher, name, "cipher", cipher_keys, f, err);
        if (r < 0)
                return r;
        if (!json_is_string(f[0]))
                return err_set(err, EINVAL, "key %s: cipher.name is not a string", name);
        if (strcmp(json_string_value(f[0]), OCI_SIG_ENC_CIPHER) != 0)
                return err_set(err, ENOTSUP, "key %s: unsupported cipher \"%.64s\" (cosign's keys use \"%s\")", name,
                               json_string_value(f[0]), OCI_SIG_ENC_CIPHER);
        r = b64_field(f[1], name, "cipher.nonce", OCI_SIG_ENC_NONCE_LEN, OCI_SIG_ENC_NONCE_LEN, &nonce, &len, err);
        if (r < 0)
                return r;
        memcpy(ek->nonce, nonce, sizeof(ek->nonce));
        return 0;
}

int
oci_sig_enckey_parse(const void *json, size_t len, const char *name, struct oci_sig_enckey *ret, struct err **err)
{
        static const char *const top_keys[] = {"kdf", "cipher", "ciphertext", NULL};
        struct oci_sig_enckey ek = {0};
        json_error_t jerr;
        json_t *j, *f[3];
        int r;

        if (len > OCI_SIG_ENC_CT_MAX * 2)
                return err_set(err, EINVAL, "key %s: the encrypted key is too large (%zu bytes)", name, len);
        j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return err_set(err, EINVAL, "key %s: the encrypted key is not valid JSON (line %d column %d: %s)", name,
                               jerr.line, jerr.column, jerr.text);
        r = members(j, name, "", top_keys, f, err);
        if (r >= 0)
                r = parse_kdf(f[0], name, &ek, err);
        if (r >= 0)
                r = parse_cipher(f[1], name, &ek, err);
        if (r >= 0)
                r = b64_field(f[2], name, "ciphertext", OCI_SIG_ENC_CT_MIN, OCI_SIG_ENC_CT_MAX, &ek.ct, &ek.ct_len,
                              err);
        json_decref(j);
        if (r < 0) {
                oci_sig_enckey_clear(&ek);
                return r;
        }
        *ret = ek;
        return 0;
}

void
oci_sig_enckey_clear(struct oci_sig_enckey *ek)
{
        if (!ek)
                return;
        free(ek->salt);
        free(ek->ct);
        memset(ek, 0, sizeof(*ek));
}

/* ---- the cryptography --------------------------------------------------- */

/* scrypt(PASSWORD, SALT, N, r, p) into KEY (OCI_SIG_ENC_KEY_LEN bytes). */
static int
derive(const struct oci_sig_enckey *ek, const char *password, size_t pwlen, unsigned char *key)
{
        /* OpenSSL refuses work past maxmem (32 MiB by default, just under
         * cosign's own parameters): allow our cap plus the small B array. */
        uint64_t maxmem = (uint64_t) OCI_SIG_SCRYPT_MEM_MAX + 1024 * 1024;
        int ok = EVP_PBE_scrypt(password ? password : "", pwlen, ek->salt, ek->salt_len, ek->n, ek->r, ek->p, maxmem,
                                key, OCI_SIG_ENC_KEY_LEN);

        ERR_clear_error();
        return ok == 1 ? 0 : -1;
}

int
oci_sig_enckey_open(const struct oci_sig_enckey *ek, const char *name, const char *password, size_t pwlen,
                    unsigned char **ret_der, size_t *ret_len, struct err **err)
{
        unsigned char key[OCI_SIG_ENC_KEY_LEN], *der;
        size_t len;
        int r;

        if (ek->ct_len < crypto_secretbox_MACBYTES + 1)
                return err_set(err, EINVAL, "key %s: the ciphertext is truncated (%zu bytes)", name, ek->ct_len);
        if (derive(ek, password, pwlen, key) < 0)
                return err_set(err, EINVAL, "key %s: scrypt failed (N=%llu r=%llu p=%llu)", name,
                               (unsigned long long) ek->n, (unsigned long long) ek->r, (unsigned long long) ek->p);
        len = ek->ct_len - crypto_secretbox_MACBYTES;
        der = xmalloc(len);
        r = crypto_secretbox_open_easy(der, ek->ct, ek->ct_len, ek->nonce, key);
        sodium_memzero(key, sizeof(key));
        if (r != 0) {
                sodium_memzero(der, len);
                free(der);
                /* Poly1305 cannot tell the two apart. */
                return err_set(err, EKEYREJECTED,
                               "key %s: cannot decrypt it with the password in %s (a wrong password, or a corrupt "
                               "key)",
                               name, OCI_SIG_PASSWORD_ENV);
        }
        *ret_der = der;
        *ret_len = len;
        return 0;
}

int
oci_sig_enckey_seal(const void *der, size_t len, const char *password, size_t pwlen, char **ret, size_t *ret_len,
                    struct err **err)
{
        unsigned char salt[OCI_SIG_ENC_SALT_LEN], key[OCI_SIG_ENC_KEY_LEN];
        struct oci_sig_enckey ek = {
            .n = COSIGN_SCRYPT_N, .r = COSIGN_SCRYPT_R, .p = COSIGN_SCRYPT_P, .salt = salt, .salt_len = sizeof(salt)};
        size_t ctlen = len + crypto_secretbox_MACBYTES;
        _cleanup_free_ unsigned char *ct = NULL;
        _cleanup_free_ char *b_salt = NULL, *b_nonce = NULL, *b_ct = NULL;
        json_t *j;
        char *s;

        if (len == 0 || len > OCI_SIG_ENC_CT_MAX - crypto_secretbox_MACBYTES)
                return err_set(err, EINVAL, "encrypting a key of %zu bytes: out of range", len);
        if (sodium_init() < 0)
                return err_set(err, EIO, "libsodium failed to initialise");
        randombytes_buf(salt, sizeof(salt));
        randombytes_buf(ek.nonce, sizeof(ek.nonce));
        if (derive(&ek, password, pwlen, key) < 0)
                return err_set(err, EIO, "scrypt failed while encrypting the key");
        ct = xmalloc(ctlen);
        crypto_secretbox_easy(ct, der, len, ek.nonce, key);
        sodium_memzero(key, sizeof(key));
        b_salt = xmalloc(sodium_base64_ENCODED_LEN(sizeof(salt), sodium_base64_VARIANT_ORIGINAL));
        b_nonce = xmalloc(sodium_base64_ENCODED_LEN(sizeof(ek.nonce), sodium_base64_VARIANT_ORIGINAL));
        b_ct = xmalloc(sodium_base64_ENCODED_LEN(ctlen, sodium_base64_VARIANT_ORIGINAL));
        sodium_bin2base64(b_salt, sodium_base64_ENCODED_LEN(sizeof(salt), sodium_base64_VARIANT_ORIGINAL), salt,
                          sizeof(salt), sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2base64(b_nonce, sodium_base64_ENCODED_LEN(sizeof(ek.nonce), sodium_base64_VARIANT_ORIGINAL),
                          ek.nonce, sizeof(ek.nonce), sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2base64(b_ct, sodium_base64_ENCODED_LEN(ctlen, sodium_base64_VARIANT_ORIGINAL), ct, ctlen,
                          sodium_base64_VARIANT_ORIGINAL);
        j = json_pack("{s:{s:s, s:{s:I, s:I, s:I}, s:s}, s:{s:s, s:s}, s:s}", "kdf", "name", OCI_SIG_ENC_KDF, "params",
                      "N", (json_int_t) ek.n, "r", (json_int_t) ek.r, "p", (json_int_t) ek.p, "salt", b_salt, "cipher",
                      "name", OCI_SIG_ENC_CIPHER, "nonce", b_nonce, "ciphertext", b_ct);
        s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (!s)
                return err_set(err, ENOMEM, "encrypting the key: out of memory");
        *ret = s;
        *ret_len = strlen(s);
        return 0;
}
