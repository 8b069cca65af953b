/* Image signatures in sigstore/cosign's format (cosign specs/SIGNATURE_SPEC.md):
 * a simple-signing payload (containers-signature(5)'s JSON) naming the
 * manifest digest, signed with ECDSA P-256 over SHA-256, the signature
 * base64 of its DER form.  In a registry the payload is a layer of media
 * type OCI_MT_COSIGN_SIMPLESIGNING in the manifest tagged oci_sig_tag(digest),
 * the signature in the layer's OCI_ANNOTATION_COSIGN_SIGNATURE annotation
 * (one layer per signature).
 *
 * Pure and offline: OpenSSL does the cryptography (libsodium the NaCl
 * secretbox of encrypted keys); fetching and pushing the signature manifest
 * is the registry client's.  Keys are PEM files: a PKCS#8 or SEC1 ("EC
 * PRIVATE KEY") private key, or cosign's password-encrypted one ("ENCRYPTED
 * SIGSTORE PRIVATE KEY", older "ENCRYPTED COSIGN PRIVATE KEY": scrypt +
 * secretbox around PKCS#8, password from $COSIGN_PASSWORD as cosign reads
 * it), a SubjectPublicKeyInfo ("PUBLIC KEY") public key, all on P-256 only
 * (any other curve or an RSA key is refused, naming the file). */
#ifndef OCI_SIGNATURE_H
#define OCI_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cleanup.h"
#include "common/err.h"

#define OCI_MT_COSIGN_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define OCI_ANNOTATION_COSIGN_SIGNATURE "dev.cosignproject.cosign/signature"
#define OCI_COSIGN_TYPE "cosign container image signature"
/* artifactType of a signature pushed as an OCI 1.1 referrer (cosign's
 * oci-1-1 mode): the same payload layer, the image as subject. */
#define OCI_ARTIFACT_COSIGN_SIGNATURE "application/vnd.dev.cosign.artifact.sig.v1+json"
/* Largest payload read back (ours are ~250 bytes). */
#define OCI_SIG_PAYLOAD_MAX (64 * 1024)

/* cosign's encrypted private keys and where their password comes from. */
#define OCI_SIG_PEM_ENCRYPTED "ENCRYPTED SIGSTORE PRIVATE KEY"
#define OCI_SIG_PEM_ENCRYPTED_OLD "ENCRYPTED COSIGN PRIVATE KEY"
#define OCI_SIG_PASSWORD_ENV "COSIGN_PASSWORD"
/* The scrypt cost an encrypted key file may ask for (it names its own
 * parameters, so these bound what a hostile file can make us spend):
 * N a power of two up to 2^20, r*p at most 64, 128*r*N bytes of memory at
 * most 256 MiB, N*r*p at most 2^23 (cosign writes N=32768 r=8 p=1: 32 MiB,
 * 2^18; go-securesystemslib reads up to N=131072 r=8 p=1). */
#define OCI_SIG_SCRYPT_N_MAX (1u << 20)
#define OCI_SIG_SCRYPT_RP_MAX 64
#define OCI_SIG_SCRYPT_MEM_MAX (256ull * 1024 * 1024)
#define OCI_SIG_SCRYPT_WORK_MAX (1u << 23)

/* The critical part of a payload. */
struct oci_sig_payload {
        char *docker_reference; /* critical.identity.docker-reference */
        char *manifest_digest;  /* critical.image.docker-manifest-digest */
        char *type;             /* critical.type */
};

/* The payload cosign writes for MANIFEST_DIGEST pushed as DOCKER_REFERENCE
 * (a repository, "host/path", no tag or digest): compact JSON, keys in
 * cosign's order, "optional": null.  *ret is NUL-terminated; free it. */
int oci_sig_payload_build(const char *docker_reference, const char *manifest_digest, char **ret, size_t *ret_len,
                          struct err **err);
/* Parse a payload strictly (containers-signature(5)): an object with
 * "critical" holding exactly "type", "image" (exactly
 * "docker-manifest-digest", case-insensitive key as cosign reads it) and
 * "identity" (exactly "docker-reference"), all strings, and an optional
 * "optional" of any JSON type; nothing else at the top.  The digest must
 * be a valid digest.  ERR_MANIFEST_INVALID-style EINVAL naming the field. */
int oci_sig_payload_parse(const void *buf, size_t len, struct oci_sig_payload *ret, struct err **err);
void oci_sig_payload_clear(struct oci_sig_payload *p);

/* "sha256-<hex>.sig" for "sha256:<hex>" (cosign's tag-based discovery);
 * NULL for a string without ':'. */
char *oci_sig_tag(const char *digest);

struct oci_sig_key;

/* Load a key from PEM bytes (NAME, a path, is for messages).  PRIVATE:
 * the private key (the public half is derived), else a public key.  A
 * cosign encrypted key is opened with the password in $COSIGN_PASSWORD
 * (empty allowed; never a prompt): ENOKEY when it is not set,
 * EKEYREJECTED for a wrong password or a tampered key, EINVAL/ENOTSUP
 * for a corrupt file or an unknown kdf/cipher, each naming NAME. */
int oci_sig_key_from_pem(const void *pem, size_t len, const char *name, bool private_key, struct oci_sig_key **ret,
                         struct err **err);
int oci_sig_key_load(const char *path, bool private_key, struct oci_sig_key **ret, struct err **err);
void oci_sig_key_free(struct oci_sig_key *k);
DEFINE_FREEP(struct oci_sig_key, oci_sig_key_free)
const char *oci_sig_key_name(const struct oci_sig_key *k);

/* A new P-256 key pair written as PREFIX.key (mode 0600) and PREFIX.pub,
 * each atomically; an existing file is not overwritten (EEXIST).  Without
 * PASSWORD the private key is plain PKCS#8 PEM; with one (possibly "") it
 * is cosign's ENCRYPTED SIGSTORE PRIVATE KEY sealed with it. */
int oci_sig_key_generate(const char *prefix, const char *password, struct err **err);

/* Sign PAYLOAD with private key K: *ret_b64 is base64 of the DER
 * ECDSA-SHA256 signature. */
int oci_sig_sign(const struct oci_sig_key *k, const void *payload, size_t len, char **ret_b64, struct err **err);
/* Verify B64 over PAYLOAD with K's public key: 0, or EBADMSG ("the
 * signature does not verify with KEY"), or EINVAL (not base64 / not a DER
 * signature). */
int oci_sig_verify(const struct oci_sig_key *k, const void *payload, size_t len, const char *b64, struct err **err);

struct oci_manifest;

/* Fetch blob DIGEST, at most CAP bytes, verified against DIGEST, for
 * oci_sig_check (from a registry, or from a registry's own storage). */
typedef int (*oci_sig_fetch_fn)(void *userdata, const char *digest, size_t cap, char **ret_data, size_t *ret_len,
                                struct err **err);

/* A signature manifest with more layers than this is refused unread. */
#define OCI_SIG_MAX_LAYERS 256

/* Does a signature in signature manifest SIGM pass for manifest DIGEST of
 * repository REPO: a simple-signing layer with a signature annotation whose
 * payload (fetched by its layer digest) verifies with one of KEYS, names
 * DIGEST, has cosign's type and an identity naming REPO ("host/path" with
 * oci_sig_identity_matches; BY_PATH: REPO is a path and only the
 * reference's path is compared, as a registry that does not know its
 * clients' host name must)?  0 with *ret_key (borrowed, may be NULL), or
 * EBADMSG with *ret_why (caller frees) saying why each signature failed:
 * not base64, bad signature, wrong digest, wrong identity, bad payload. */
int oci_sig_check(const struct oci_manifest *sigm, oci_sig_fetch_fn fetch, void *userdata, const char *digest,
                  const char *repo, bool by_path, struct oci_sig_key *const *keys, size_t n_keys,
                  const struct oci_sig_key **ret_key, char **ret_why);

/* Does payload identity REFERENCE name repository REPO ("host/path"; a tag
 * or digest on REFERENCE is ignored; docker.io short forms normalised)? */
bool oci_sig_identity_matches(const char *reference, const char *repo);

#endif
