/* libFuzzer: cosign signature inputs (oci/signature) on untrusted bytes:
 * the simple-signing payload parser, the PEM key loader (public and
 * private), base64 signature verification, and cosign's encrypted key
 * format.  Input: a selector byte (low two bits: which; bit 2: a private
 * key / the PEM-armoured encrypted key), then the bytes.
 *
 * scrypt stays cheap: the PEM loader runs without COSIGN_PASSWORD (it stops
 * after validating the file), and an encrypted key is only opened when the
 * cost it names is tiny (N*r*p <= FUZZ_SCRYPT_WORK); everything up to the
 * key derivation, the caps included, sees every input. */
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/signature-internal.h"
#include "oci/signature.h"

#define FUZZ_SCRYPT_WORK 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed P-256 public key to verify against (any signature must fail). */
static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZ8xSRodjwdg35mVkhZnXvTjwyNkB\n"
                              "prPxK8hWE6wxoTJmZr6ztZqSMXLnEw+vX7Euz8dnOh3Hyv0CwDzkfC6lCg==\n"
                              "-----END PUBLIC KEY-----\n";

/* Encrypted key body DATA: parsed, and opened when cheap; with ARMOUR also
 * through the PEM loader with the password set. */
static void
encrypted(const uint8_t *data, size_t size, bool armour)
{
        struct oci_sig_enckey ek = {0};
        struct err *e = NULL;
        unsigned char *der = NULL;
        size_t len = 0;
        bool cheap;

        if (oci_sig_enckey_parse(data, size, "fuzz", &ek, &e) < 0) {
                if (!e || !*err_msg(&e))
                        abort();
                err_clear(&e);
                return;
        }
        /* What the parser let through is within its caps. */
        if (ek.n < 2 || ek.n > OCI_SIG_SCRYPT_N_MAX || (ek.n & (ek.n - 1)) || ek.r * ek.p > OCI_SIG_SCRYPT_RP_MAX ||
            ek.salt_len < OCI_SIG_ENC_SALT_MIN || ek.ct_len < OCI_SIG_ENC_CT_MIN || ek.ct_len > OCI_SIG_ENC_CT_MAX)
                abort();
        cheap = ek.n * ek.r * ek.p <= FUZZ_SCRYPT_WORK;
        if (cheap) {
                if (oci_sig_enckey_open(&ek, "fuzz", "fuzz", 4, &der, &len, &e) == 0)
                        free(der);
                else if (!e || !*err_msg(&e))
                        abort();
                err_clear(&e);
        }
        oci_sig_enckey_clear(&ek);
        if (armour) {
                BIO *bio = BIO_new(BIO_s_mem());
                struct oci_sig_key *k = NULL;
                char *pem;
                long n;

                if (PEM_write_bio(bio, size & 1 ? OCI_SIG_PEM_ENCRYPTED_OLD : OCI_SIG_PEM_ENCRYPTED, "", data,
                                  (long) size) <= 0)
                        abort();
                n = BIO_get_mem_data(bio, &pem);
                if (cheap)
                        setenv(OCI_SIG_PASSWORD_ENV, "fuzz", 1);
                if (oci_sig_key_from_pem(pem, (size_t) n, "fuzz", true, &k, &e) == 0)
                        oci_sig_key_free(k);
                else if (!e || !*err_msg(&e))
                        abort();
                unsetenv(OCI_SIG_PASSWORD_ENV);
                err_clear(&e);
                BIO_free(bio);
        }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;

        if (size < 1 || size > 8192)
                return 0;
        /* The PEM loader never derives a key here (see the top). */
        unsetenv(OCI_SIG_PASSWORD_ENV);
        switch (data[0] % 4) {
        case 0: {
                struct oci_sig_payload p = {0};

                if (oci_sig_payload_parse(data + 1, size - 1, &p, &e) == 0) {
                        if (!p.docker_reference || !p.manifest_digest || !p.type || !strchr(p.manifest_digest, ':'))
                                abort();
                        oci_sig_payload_clear(&p);
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
                break;
        }
        case 1: {
                struct oci_sig_key *k = NULL;

                if (oci_sig_key_from_pem(data + 1, size - 1, "fuzz", data[0] & 4, &k, &e) == 0)
                        oci_sig_key_free(k);
                else if (!e || !*err_msg(&e))
                        abort();
                break;
        }
        case 3:
                encrypted(data + 1, size - 1, data[0] & 4);
                break;
        default: {
                struct oci_sig_key *k = NULL;
                char *sig = strndup((const char *) data + 1, size - 1);
                const char *payload = "{}";

                if (oci_sig_key_from_pem(pub_pem, strlen(pub_pem), "fixed", false, &k, NULL) < 0)
                        abort();
                /* No fuzzer input is a valid signature by a key nobody holds. */
                if (oci_sig_verify(k, payload, 2, sig, &e) == 0)
                        abort();
                oci_sig_key_free(k);
                free(sig);
                break;
        }
        }
        err_clear(&e);
        return 0;
}
