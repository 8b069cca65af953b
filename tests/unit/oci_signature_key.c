/* oci/signature: cosign's password-encrypted private keys (scrypt +
 * NaCl secretbox around PKCS#8), read and written, and every way such a
 * file can be wrong. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/fsutil.h"
#include "oci/signature-internal.h"
#include "oci/signature.h"

/* go-securesystemslib's encrypted_test.go vectors, sealed with
 * "supersecret" by the Go implementation cosign uses: "reallyimportant"
 * with N=32768 (cosign's default), and the same as a JSON byte string
 * (its Marshal) with N=65536 (its "standard" strength). */
static const char *const go_plain[] = {"reallyimportant", "\"cmVhbGx5aW1wb3J0YW50\""};
static const char *const go_vectors[] = {
    "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7"
    "FV3mjVAQrg1g=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik\"},"
    "\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ==\"}",
    "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":65536,\"r\":8,\"p\":1},\"salt\":\"FhzPOt9/bJG4PTq6lQ6ecG6GzaOuOy/"
    "ynG5+yRiFlNs=\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"aw1ng1jHaDz/tQ7V2gR9O2+IGQ8xJEuE\"},"
    "\"ciphertext\":\"HycvuLZL4sYH0BrYTh4E/H20VtAW6u5zL5Pr+IBjYLYnCPzDkq8=\"}",
};

static void
go_test_vectors(void **state)
{
        (void) state;
        for (size_t i = 0; i < sizeof(go_vectors) / sizeof(go_vectors[0]); i++) {
                struct oci_sig_enckey ek = {0};
                unsigned char *der = NULL;
                size_t len = 0;

                assert_ok(oci_sig_enckey_parse(go_vectors[i], strlen(go_vectors[i]), "v", &ek, err));
                assert_int_equal(ek.r, 8);
                assert_int_equal(ek.salt_len, 32);
                assert_ok(oci_sig_enckey_open(&ek, "v", "supersecret", 11, &der, &len, err));
                assert_int_equal(len, strlen(go_plain[i]));
                assert_memory_equal(der, go_plain[i], len);
                free(der);
                assert_fails(oci_sig_enckey_open(&ek, "v.key", "supersecreT", 11, &der, &len, err), EKEYREJECTED,
                             "v.key", "wrong password");
                oci_sig_enckey_clear(&ek);
        }
}

static char *
tmpdir(void)
{
        char *d = xstrdup("/tmp/oci-sigkey-test.XXXXXX");

        assert_non_null(mkdtemp(d));
        return d;
}

static char *
read_all(const char *path, size_t *ret_len)
{
        char *buf = NULL;

        assert_ok(fs_read_file(path, 1 << 20, &buf, ret_len, err));
        return buf;
}

/* S with every FROM replaced by TO, in a new string. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
        char *out = xstrdup(""), *n;
        const char *p;

        while ((p = strstr(s, from))) {
                n = xasprintf("%s%.*s%s", out, (int) (p - s), s, to);
                free(out);
                out = n;
                s = p + strlen(from);
        }
        n = xasprintf("%s%s", out, s);
        free(out);
        return n;
}

/* PEM of type TYPE around BODY. */
static char *
pem_wrap(const char *type, const void *body, size_t len)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *data, *out;
        long n;

        assert_true(PEM_write_bio(bio, type, "", body, (long) len) > 0);
        n = BIO_get_mem_data(bio, &data);
        out = xstrndup(data, (size_t) n);
        BIO_free(bio);
        return out;
}

/* An encrypted key file of PK's PKCS#8 (or, SEC1, its EC private key
 * structure, which cosign never writes) sealed with PASSWORD. */
static char *
sealed_pem(EVP_PKEY *pk, bool sec1, const char *password)
{
        unsigned char *der = NULL;
        char *json = NULL, *pem;
        size_t jlen = 0;
        int dlen;

        if (sec1) {
                dlen = i2d_PrivateKey(pk, &der);
        } else {
                PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);

                dlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
                PKCS8_PRIV_KEY_INFO_free(p8);
        }
        assert_true(dlen > 0);
        assert_ok(oci_sig_enckey_seal(der, (size_t) dlen, password, strlen(password), &json, &jlen, err));
        pem = pem_wrap(OCI_SIG_PEM_ENCRYPTED, json, jlen);
        OPENSSL_free(der);
        free(json);
        EVP_PKEY_free(pk);
        return pem;
}

static void
generate_and_load(void **state)
{
        char *d = tmpdir(), *prefix = xasprintf("%s/ci", d), *kpath = xasprintf("%s.key", prefix);
        char *ppath = xasprintf("%s.pub", prefix), *pem, *old, *sig = NULL;
        struct oci_sig_key *priv = NULL, *pub = NULL;
        const char *payload = "{\"critical\":{}}";
        struct stat st;
        size_t len = 0;

        (void) state;
        assert_ok(oci_sig_key_generate(prefix, "s3cret", err));
        assert_int_equal(stat(kpath, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        pem = read_all(kpath, &len);
        assert_true(strncmp(pem, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", 47) == 0);
        /* No plain key material in the file. */
        assert_null(strstr(pem, "BEGIN PRIVATE KEY"));

        unsetenv("COSIGN_PASSWORD");
        assert_fails(oci_sig_key_load(kpath, true, &priv, err), ENOKEY, kpath, "set COSIGN_PASSWORD");
        setenv("COSIGN_PASSWORD", "s3cre", 1);
        assert_fails(oci_sig_key_load(kpath, true, &priv, err), EKEYREJECTED, kpath, "wrong password");
        setenv("COSIGN_PASSWORD", "", 1);
        assert_fails(oci_sig_key_load(kpath, true, &priv, err), EKEYREJECTED, kpath, NULL);
        /* Where a public key is wanted. */
        assert_fails(oci_sig_key_load(kpath, false, &priv, err), EINVAL, kpath, "not a public key");

        setenv("COSIGN_PASSWORD", "s3cret", 1);
        assert_ok(oci_sig_key_load(kpath, true, &priv, err));
        assert_ok(oci_sig_key_load(ppath, false, &pub, err));
        assert_ok(oci_sig_sign(priv, payload, strlen(payload), &sig, err));
        assert_ok(oci_sig_verify(pub, payload, strlen(payload), sig, err));
        oci_sig_key_free(priv);
        priv = NULL;
        free(sig);

        /* cosign's older PEM type, same body. */
        old = replace_all(pem, "SIGSTORE", "COSIGN");
        assert_non_null(strstr(old, "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n"));
        assert_ok(oci_sig_key_from_pem(old, strlen(old), "old.key", true, &priv, err));
        oci_sig_key_free(priv);
        priv = NULL;
        free(old);

        /* An empty password is a password (cosign allows it). */
        free(prefix);
        prefix = xasprintf("%s/empty", d);
        assert_ok(oci_sig_key_generate(prefix, "", err));
        free(kpath);
        kpath = xasprintf("%s.key", prefix);
        assert_fails(oci_sig_key_load(kpath, true, &priv, err), EKEYREJECTED, kpath, NULL);
        setenv("COSIGN_PASSWORD", "", 1);
        assert_ok(oci_sig_key_load(kpath, true, &priv, err));
        oci_sig_key_free(priv);
        unsetenv("COSIGN_PASSWORD");

        oci_sig_key_free(pub);
        free(pem);
        fs_rm_rf(d, NULL);
        free(d);
        free(prefix);
        free(kpath);
        free(ppath);
}

/* The JSON of an encrypted key with one part replaced. */
#define SALT "\"salt\":\"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g=\""
#define NONCE "\"nonce\":\"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik\""
#define CT "\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ==\""
#define PARAMS "\"params\":{\"N\":32768,\"r\":8,\"p\":1}"
#define KDF(params, salt) "{\"kdf\":{\"name\":\"scrypt\"," params "," salt "},"
#define CIPHER(nonce) "\"cipher\":{\"name\":\"nacl/secretbox\"," nonce "},"

static void
bad_encrypted(void **state)
{
        static const struct {
                const char *json;
                int code;
                const char *needle;
        } bad[] = {
            {"{\"kdf\":", EINVAL, "not valid JSON"},
            {"[]", EINVAL, "the encrypted key is not a JSON object"},
            {KDF(PARAMS, SALT) CIPHER(NONCE) CT ",\"version\":2}", EINVAL, "unknown field \"version\""},
            {KDF(PARAMS, SALT) "\"cipher\":{\"name\":\"nacl/secretbox\"," NONCE "}}", EINVAL, "ciphertext is missing"},
            /* Unknown formats: refused, never guessed at. */
            {"{\"kdf\":{\"name\":\"argon2id\"," PARAMS "," SALT "}," CIPHER(NONCE) CT "}", ENOTSUP,
             "unsupported kdf \"argon2id\""},
            {KDF(PARAMS, SALT) "\"cipher\":{\"name\":\"aes-256-gcm\"," NONCE "}," CT "}", ENOTSUP,
             "unsupported cipher \"aes-256-gcm\""},
            {KDF(PARAMS, SALT) "\"cipher\":{\"name\":1," NONCE "}," CT "}", EINVAL, "cipher.name is not a string"},
            {KDF("\"params\":{\"N\":32768,\"r\":8,\"p\":1,\"n\":16}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "kdf.params.N is given twice"},
            {KDF("\"params\":{\"N\":\"32768\",\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "kdf.params.N is not a positive integer"},
            {KDF("\"params\":{\"N\":32768.5,\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "not a positive integer"},
            {KDF("\"params\":{\"N\":32768,\"r\":0,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "kdf.params.r is not a positive integer"},
            {KDF("\"params\":{\"N\":32768,\"r\":8,\"p\":-1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "kdf.params.p is not a positive integer"},
            {KDF("\"params\":{\"N\":32767,\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL, "not a power of two"},
            {KDF("\"params\":{\"N\":1,\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL, "not a power of two"},
            /* Absurd costs: memory, r*p, N, work. */
            {KDF("\"params\":{\"N\":2097152,\"r\":1,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "N=2097152 is above the cap"},
            {KDF("\"params\":{\"N\":4611686018427387904,\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "above the cap"},
            {KDF("\"params\":{\"N\":1024,\"r\":16,\"p\":8}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "r*p is above the cap of 64"},
            {KDF("\"params\":{\"N\":1024,\"r\":4294967296,\"p\":4294967296}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "r*p is above the cap"},
            {KDF("\"params\":{\"N\":1048576,\"r\":8,\"p\":1}", SALT) CIPHER(NONCE) CT "}", EINVAL,
             "needs 1024 MiB (at most 256)"},
            {KDF("\"params\":{\"N\":262144,\"r\":4,\"p\":16}", SALT) CIPHER(NONCE) CT "}", EINVAL, "work cap"},
            /* Base64 and sizes. */
            {KDF(PARAMS, "\"salt\":\"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g\"") CIPHER(NONCE) CT "}", EINVAL,
             "kdf.salt is not base64"},
            {KDF(PARAMS, "\"salt\":\"N9a7x5JFGbrtB2uB*81jPwp0eiLR4A7FV3mjVAQrg1g=\"") CIPHER(NONCE) CT "}", EINVAL,
             "kdf.salt is not base64"},
            {KDF(PARAMS, "\"salt\":\"AAAA\"") CIPHER(NONCE) CT "}", EINVAL, "kdf.salt is 3 bytes (16 to 256"},
            {KDF(PARAMS, "\"salt\":7") CIPHER(NONCE) CT "}", EINVAL, "kdf.salt is not a string"},
            {KDF(PARAMS, SALT) CIPHER("\"nonce\":\"2h8HxMmgRfuYdpswZBQaU3xJ1nkA\"") CT "}", EINVAL,
             "cipher.nonce is 21 bytes, not 24"},
            {KDF(PARAMS, SALT) CIPHER(NONCE) "\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS\"}", EINVAL,
             "ciphertext is 15 bytes (17 to 16384 expected)"},
            {KDF(PARAMS, SALT) CIPHER(NONCE) "\"ciphertext\":\"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ=\"}", EINVAL,
             "ciphertext is not base64"},
            {KDF(PARAMS, SALT) CIPHER(NONCE) "\"ciphertext\":\"\"}", EINVAL, "ciphertext is 0 bytes"},
            {KDF(PARAMS, SALT) CIPHER(NONCE) "\"ciphertext\":\"SEW6sUh0jf2wfdjJ\"}", EINVAL, "ciphertext is 12 bytes"},
        };
        struct oci_sig_enckey ek = {0};
        struct oci_sig_key *k = NULL;

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *pem = pem_wrap(OCI_SIG_PEM_ENCRYPTED, bad[i].json, strlen(bad[i].json));

                assert_fails(oci_sig_enckey_parse(bad[i].json, strlen(bad[i].json), "bad.key", &ek, err), bad[i].code,
                             "bad.key", bad[i].needle);
                assert_null(ek.salt);
                /* The same through the PEM loader, password set or not:
                 * a broken file is reported as broken, not as a password
                 * problem. */
                unsetenv("COSIGN_PASSWORD");
                assert_fails(oci_sig_key_from_pem(pem, strlen(pem), "bad.key", true, &k, err), bad[i].code, "bad.key",
                             bad[i].needle);
                free(pem);
        }
}

static void
bad_encrypted_pem(void **state)
{
        char *pem, *cut;
        size_t n;
        struct oci_sig_key *k = NULL;

        (void) state;
        setenv("COSIGN_PASSWORD", "pw", 1);
        /* A key of the wrong curve, an RSA key, a SEC1 structure: each
         * decrypts and is refused for what it is. */
        pem = sealed_pem(EVP_EC_gen("P-384"), false, "pw");
        assert_fails(oci_sig_key_from_pem(pem, strlen(pem), "p384.key", true, &k, err), EINVAL, "p384.key",
                     "a secp384r1 key; signatures use ECDSA P-256 keys only");
        free(pem);
        pem = sealed_pem(EVP_RSA_gen(2048), false, "pw");
        assert_fails(oci_sig_key_from_pem(pem, strlen(pem), "rsa.key", true, &k, err), EINVAL, "rsa.key", "a RSA key");
        free(pem);
        pem = sealed_pem(EVP_EC_gen("P-256"), true, "pw");
        assert_fails(oci_sig_key_from_pem(pem, strlen(pem), "sec1.key", true, &k, err), EINVAL, "sec1.key",
                     "not a PKCS#8 private key");
        free(pem);

        /* A good one, then tampered and truncated. */
        pem = sealed_pem(EVP_EC_gen("P-256"), false, "pw");
        assert_ok(oci_sig_key_from_pem(pem, strlen(pem), "good.key", true, &k, err));
        oci_sig_key_free(k);
        n = strlen(pem);
        cut = xstrndup(pem, n / 2);
        assert_fails(oci_sig_key_from_pem(cut, strlen(cut), "cut.key", true, &k, err), EINVAL, "cut.key",
                     "a broken ENCRYPTED SIGSTORE PRIVATE KEY PEM block");
        free(cut);
        {
                /* One byte of the ciphertext flipped (in the JSON, so the
                 * base64 stays valid): the box does not open. */
                struct oci_sig_enckey ek = {0};
                unsigned char *der = NULL;
                size_t dlen = 0;
                const char *j = go_vectors[0];

                assert_ok(oci_sig_enckey_parse(j, strlen(j), "t.key", &ek, err));
                ek.ct[ek.ct_len - 1] ^= 1;
                assert_fails(oci_sig_enckey_open(&ek, "t.key", "supersecret", 11, &der, &dlen, err), EKEYREJECTED,
                             "t.key", "corrupt key");
                ek.ct[ek.ct_len - 1] ^= 1;
                ek.nonce[0] ^= 1;
                assert_fails(oci_sig_enckey_open(&ek, "t.key", "supersecret", 11, &der, &dlen, err), EKEYREJECTED, NULL,
                             NULL);
                ek.nonce[0] ^= 1;
                /* Truncated, yet long enough to parse. */
                ek.ct_len--;
                assert_fails(oci_sig_enckey_open(&ek, "t.key", "supersecret", 11, &der, &dlen, err), EKEYREJECTED,
                             "t.key", NULL);
                ek.ct_len++;
                assert_ok(oci_sig_enckey_open(&ek, "t.key", "supersecret", 11, &der, &dlen, err));
                free(der);
                oci_sig_enckey_clear(&ek);
        }
        free(pem);
        /* An OpenSSL-encrypted PEM header inside our PEM type: no prompt. */
        pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: "
              "AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        assert_fails(oci_sig_key_from_pem(pem, strlen(pem), "hdr.key", true, &k, err), EINVAL, "hdr.key", "broken");
        unsetenv("COSIGN_PASSWORD");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(go_test_vectors),
            cmocka_unit_test(generate_and_load),
            cmocka_unit_test(bad_encrypted),
            cmocka_unit_test(bad_encrypted_pem),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
