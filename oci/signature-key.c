/* Signing keys (see signature.h): PEM files read and written through
 * OpenSSL, P-256 only; cosign's encrypted private keys unwrapped with the
 * password from the environment (signature-enckey.c does the format). */
#include "oci/signature-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/cleanup.h"
#include "common/fsutil.h"

/* Largest key file read (a PEM key is well under 4 KiB). */
#define KEY_FILE_MAX (64 * 1024)

/* The first OpenSSL error's text, for messages. */
static const char *
ssl_reason(char *buf, size_t len)
{
        unsigned long e = ERR_peek_last_error();

        if (!e)
                return "not a PEM key";
        ERR_error_string_n(e, buf, len);
        ERR_clear_error();
        return buf;
}

/* No passphrase prompts, ever: an encrypted PEM key is refused. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
        (void) buf;
        (void) size;
        (void) rwflag;
        *(bool *) u = true;
        return -1;
}

int
oci_sig_key_wrap(EVP_PKEY *pk, const char *name, bool private_key, struct oci_sig_key **ret, struct err **err)
{
        char group[64] = "";
        size_t glen = 0;
        struct oci_sig_key *k;

        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
            EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1 ||
            strcmp(group, "prime256v1") != 0) {
                const char *what = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? group : EVP_PKEY_get0_type_name(pk);
                int r = err_set(err, EINVAL, "key %s: a %s key; signatures use ECDSA P-256 keys only", name,
                                what && *what ? what : "non-EC");

                EVP_PKEY_free(pk);
                ERR_clear_error();
                return r;
        }
        k = xcalloc(1, sizeof(*k));
        k->pkey = pk;
        k->name = xstrdup(name);
        k->private_key = private_key;
        *ret = k;
        return 0;
}

/* Which of cosign's encrypted PEM types PEM holds, or NULL. */
static const char *
encrypted_type(const void *pem, size_t len)
{
        static const char *const types[] = {OCI_SIG_PEM_ENCRYPTED, OCI_SIG_PEM_ENCRYPTED_OLD};

        for (size_t i = 0; i < 2; i++) {
                char begin[64];
                int n = snprintf(begin, sizeof(begin), "-----BEGIN %s-----", types[i]);

                if (memmem(pem, len, begin, (size_t) n))
                        return types[i];
        }
        return NULL;
}

/* The private key inside DER (PKCS#8, nothing after it). */
static int
from_pkcs8(const unsigned char *der, size_t len, const char *name, struct oci_sig_key **ret, struct err **err)
{
        const unsigned char *p = der;
        PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long) len);
        EVP_PKEY *pk = NULL;

        if (p8 && p == der + len)
                pk = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8);
        ERR_clear_error();
        if (!pk)
                return err_set(err, EINVAL, "key %s: the decrypted key is not a PKCS#8 private key", name);
        return oci_sig_key_wrap(pk, name, true, ret, err);
}

/* A cosign encrypted private key of PEM type TYPE, opened with PASSWORD
 * (NULL: the variable is not set). */
static int
load_encrypted(const void *pem, size_t len, const char *name, const char *type, const char *password,
               struct oci_sig_key **ret, struct err **err)
{
        struct oci_sig_enckey ek = {0};
        unsigned char *body = NULL, *der = NULL;
        long blen = 0;
        size_t dlen = 0;
        char reason[256];
        bool asked = false;
        BIO *bio = BIO_new_mem_buf(pem, (int) len);
        int r;

        if (!bio)
                return err_set(err, ENOMEM, "key %s: out of memory", name);
        r = PEM_bytes_read_bio(&body, &blen, NULL, type, bio, no_password, &asked);
        BIO_free(bio);
        if (r != 1)
                return err_set(err, EINVAL, "key %s: a broken %s PEM block: %s", name, type,
                               ssl_reason(reason, sizeof(reason)));
        r = oci_sig_enckey_parse(body, (size_t) blen, name, &ek, err);
        OPENSSL_free(body);
        if (r < 0)
                return r;
        /* After the parse, so a corrupt file is reported as such first. */
        if (!password)
                r = err_set(err, ENOKEY,
                            "key %s: an encrypted cosign key: set %s to its password (empty if it has none)", name,
                            OCI_SIG_PASSWORD_ENV);
        else
                r = oci_sig_enckey_open(&ek, name, password, strlen(password), &der, &dlen, err);
        oci_sig_enckey_clear(&ek);
        if (r < 0)
                return r;
        r = from_pkcs8(der, dlen, name, ret, err);
        OPENSSL_cleanse(der, dlen);
        free(der);
        return r;
}

int
oci_sig_key_from_pem(const void *pem, size_t len, const char *name, bool private_key, struct oci_sig_key **ret,
                     struct err **err)
{
        const char *enc;
        BIO *bio;
        EVP_PKEY *pk;
        char reason[256];
        bool asked = false;

        if (len > KEY_FILE_MAX)
                return err_set(err, EINVAL, "key %s: too large for a key (%zu bytes)", name, len);
        enc = encrypted_type(pem, len);
        if (enc && !private_key)
                return err_set(err, EINVAL, "key %s: a cosign encrypted private key, not a public key", name);
        if (enc)
                return load_encrypted(pem, len, name, enc, getenv(OCI_SIG_PASSWORD_ENV), ret, err);
        bio = BIO_new_mem_buf(pem, (int) len);
        if (!bio)
                return err_set(err, ENOMEM, "key %s: out of memory", name);
        pk = private_key ? PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked)
                         : PEM_read_bio_PUBKEY(bio, NULL, no_password, &asked);
        BIO_free(bio);
        if (!pk) {
                if (asked)
                        return err_set(err, ENOTSUP, "key %s: an encrypted PEM key (no passphrase is ever asked for)",
                                       name);
                return err_set(err, EINVAL, "key %s: not a PEM %s key: %s", name, private_key ? "private" : "public",
                               ssl_reason(reason, sizeof(reason)));
        }
        return oci_sig_key_wrap(pk, name, private_key, ret, err);
}

int
oci_sig_key_load(const char *path, bool private_key, struct oci_sig_key **ret, struct err **err)
{
        char *buf = NULL;
        size_t len = 0;
        int r = fs_read_file(path, KEY_FILE_MAX, &buf, &len, err);

        if (r < 0)
                return err_prefix(err, "key %s", path);
        r = oci_sig_key_from_pem(buf, len, path, private_key, ret, err);
        OPENSSL_cleanse(buf, len);
        free(buf);
        return r;
}

void
oci_sig_key_free(struct oci_sig_key *k)
{
        if (!k)
                return;
        EVP_PKEY_free(k->pkey);
        free(k->name);
        free(k);
}

const char *
oci_sig_key_name(const struct oci_sig_key *k)
{
        return k->name;
}

/* The bytes written to BIO, NUL-terminated, into a new buffer (the BIO is
 * wiped: it may hold a private key). */
static char *
bio_take(BIO *bio, size_t *ret_len)
{
        char *data, *out = NULL;
        long n = BIO_get_mem_data(bio, &data);

        if (n > 0) {
                out = xmalloc((size_t) n + 1);
                memcpy(out, data, (size_t) n);
                out[n] = '\0';
                *ret_len = (size_t) n;
                OPENSSL_cleanse(data, (size_t) n);
        }
        return out;
}

/* PEM of PK's public key. */
static char *
pub_pem(EVP_PKEY *pk, size_t *ret_len)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *out = NULL;

        if (bio && PEM_write_bio_PUBKEY(bio, pk) == 1)
                out = bio_take(bio, ret_len);
        BIO_free(bio);
        return out;
}

/* PEM of PK's private key: plain PKCS#8 ("PRIVATE KEY") without PASSWORD,
 * else cosign's "ENCRYPTED SIGSTORE PRIVATE KEY" sealed with it. */
static int
priv_pem(EVP_PKEY *pk, const char *password, char **ret, size_t *ret_len, struct err **err)
{
        BIO *bio = BIO_new(BIO_s_mem());
        PKCS8_PRIV_KEY_INFO *p8 = NULL;
        unsigned char *der = NULL;
        _cleanup_free_ char *json = NULL;
        size_t jlen = 0;
        int dlen = -1, r = 0;

        if (!bio)
                return err_set(err, ENOMEM, "writing the key: out of memory");
        if (!password) {
                if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1)
                        r = err_set(err, EIO, "writing the key as PEM failed");
        } else {
                p8 = EVP_PKEY2PKCS8(pk);
                if (p8)
                        dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
                PKCS8_PRIV_KEY_INFO_free(p8);
                if (dlen <= 0)
                        r = err_set(err, EIO, "encoding the key as PKCS#8 failed");
                if (r >= 0)
                        r = oci_sig_enckey_seal(der, (size_t) dlen, password, strlen(password), &json, &jlen, err);
                if (der) {
                        OPENSSL_cleanse(der, (size_t) dlen);
                        OPENSSL_free(der);
                }
                if (r >= 0 && PEM_write_bio(bio, OCI_SIG_PEM_ENCRYPTED, "", (unsigned char *) json, (long) jlen) <= 0)
                        r = err_set(err, EIO, "writing the key as PEM failed");
        }
        if (r >= 0 && !(*ret = bio_take(bio, ret_len)))
                r = err_set(err, EIO, "writing the key as PEM failed");
        BIO_free(bio);
        ERR_clear_error();
        return r;
}

int
oci_sig_key_generate(const char *prefix, const char *password, struct err **err)
{
        _cleanup_free_ char *kpath = xasprintf("%s.key", prefix), *ppath = xasprintf("%s.pub", prefix);
        _cleanup_free_ char *ppem = NULL;
        char *kpem = NULL;
        EVP_PKEY *pk;
        size_t klen = 0, plen = 0;
        int r;

        if (access(kpath, F_OK) == 0 || access(ppath, F_OK) == 0)
                return err_set(err, EEXIST, "%s: exists; not overwriting a key",
                               access(kpath, F_OK) == 0 ? kpath : ppath);
        pk = EVP_EC_gen("P-256");
        if (!pk)
                return err_set(err, EIO, "generating a P-256 key failed");
        r = priv_pem(pk, password, &kpem, &klen, err);
        if (r >= 0 && !(ppem = pub_pem(pk, &plen)))
                r = err_set(err, EIO, "writing the public key as PEM failed");
        EVP_PKEY_free(pk);
        if (r >= 0)
                r = fs_write_atomic(kpath, kpem, klen, 0600, err);
        if (r >= 0)
                r = fs_write_atomic(ppath, ppem, plen, 0644, err);
        if (kpem) {
                OPENSSL_cleanse(kpem, klen);
                free(kpem);
        }
        return r;
}
