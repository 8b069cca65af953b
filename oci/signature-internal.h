/* Internals of oci/signature: the key object shared by signature.c (sign,
 * verify) and signature-key.c (PEM loading, generation), and cosign's
 * password-encrypted key format (signature-enckey.c). */
#ifndef OCI_SIGNATURE_INTERNAL_H
#define OCI_SIGNATURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/err.h"
#include "oci/signature.h"

struct oci_sig_key {
        EVP_PKEY *pkey;
        char *name;
        bool private_key;
};

/* Take PK (always, also on failure) into a new key named NAME after
 * checking that it is an EC P-256 key (else EINVAL naming NAME and what
 * the key is). */
int oci_sig_key_wrap(EVP_PKEY *pk, const char *name, bool private_key, struct oci_sig_key **ret, struct err **err);

/* cosign's encrypted key body (go-securesystemslib's "encrypted" package):
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
 *    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 * key = scrypt(password, salt, N, r, p, 32); the ciphertext is NaCl's
 * secretbox (XSalsa20-Poly1305, tag first) of the PKCS#8 DER key. */
#define OCI_SIG_ENC_KDF "scrypt"
#define OCI_SIG_ENC_CIPHER "nacl/secretbox"
#define OCI_SIG_ENC_NONCE_LEN 24
#define OCI_SIG_ENC_KEY_LEN 32
#define OCI_SIG_ENC_SALT_LEN 32 /* what cosign writes */
#define OCI_SIG_ENC_SALT_MIN 16
#define OCI_SIG_ENC_SALT_MAX 256
/* Poly1305 tag (16) + a PKCS#8 key; RSA-8192 PKCS#8 is under 5 KiB. */
#define OCI_SIG_ENC_CT_MIN 17
#define OCI_SIG_ENC_CT_MAX (16 * 1024)

struct oci_sig_enckey {
        uint64_t n;
        uint64_t r, p;
        unsigned char *salt;
        size_t salt_len;
        unsigned char nonce[OCI_SIG_ENC_NONCE_LEN];
        unsigned char *ct;
        size_t ct_len;
};

/* Parse and validate the JSON body of an encrypted key (NAME, a path, is
 * for messages) without deriving anything: field names as Go reads them
 * (case-insensitive), no unknown or repeated field, kdf "scrypt" and cipher
 * "nacl/secretbox" only, strict base64, a 24-byte nonce, and scrypt
 * parameters within OCI_SIG_SCRYPT_* (signature.h) so a hostile file cannot
 * make us spend gigabytes or minutes.  EINVAL or ENOTSUP naming NAME. */
int oci_sig_enckey_parse(const void *json, size_t len, const char *name, struct oci_sig_enckey *ret, struct err **err);
void oci_sig_enckey_clear(struct oci_sig_enckey *ek);

/* Derive the key from PASSWORD (PWLEN bytes, may be 0) and open the box:
 * *ret_der (wiped and freed by the caller) is the plaintext.  A wrong
 * password and a tampered box are one failure: EKEYREJECTED. */
int oci_sig_enckey_open(const struct oci_sig_enckey *ek, const char *name, const char *password, size_t pwlen,
                        unsigned char **ret_der, size_t *ret_len, struct err **err);

/* The JSON body cosign writes for DER sealed with PASSWORD: a fresh
 * 32-byte salt and 24-byte nonce, N=32768 r=8 p=1 (cosign's parameters),
 * keys in Go's struct order.  *ret is NUL-terminated; free it. */
int oci_sig_enckey_seal(const void *der, size_t len, const char *password, size_t pwlen, char **ret, size_t *ret_len,
                        struct err **err);

#endif
