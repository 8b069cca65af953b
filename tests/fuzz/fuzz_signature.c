/* libFuzzer: cosign signature inputs (oci/signature) on untrusted bytes:
 * the simple-signing payload parser, the PEM key loader (public and
 * private) and base64 signature verification.  Input: a selector byte,
 * then the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed P-256 public key to verify against (any signature must fail). */
static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZ8xSRodjwdg35mVkhZnXvTjwyNkB\n"
                              "prPxK8hWE6wxoTJmZr6ztZqSMXLnEw+vX7Euz8dnOh3Hyv0CwDzkfC6lCg==\n"
                              "-----END PUBLIC KEY-----\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;

        if (size < 1 || size > 8192)
                return 0;
        switch (data[0] % 3) {
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
