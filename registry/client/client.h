/* The registry client: pull images from an OCI Distribution (Registry V2)
 * registry into the local store or an OCI layout, and push stored images to
 * a registry.  Transport is libcurl; authentication follows the registry's
 * 401 challenge (Basic, or Bearer tokens from the realm it names, cached per
 * scope until they expire); credentials come from registry/common/creds.h.
 *
 *     struct reg_client_opts o = { .platform = "linux/amd64" };
 *     _cleanup_reg_client_ struct reg_client *c = NULL;
 *     reg_client_new(&o, &c, err);
 *     reg_client_pull_to_store(c, "alpine:3.20", store, NULL, &res, err);
 *     reg_client_push_from_store(c, store, "app:1.0", "ghcr.io/me/app:1.0", &ref, err);
 *
 * Endpoints: docker.io is reached at registry-1.docker.io ("library/" added
 * for single names, oci/ref.h).  HTTPS is used unless plain_http is set;
 * loopback registries (localhost, 127.0.0.0/8, [::1]) fall back to plain
 * HTTP when the HTTPS ping fails, as Docker treats them as insecure.
 *
 * Errors name the registry, the request (method and URL) and the registry's
 * error codes and messages; the code maps the first registry error code
 * (MANIFEST_UNKNOWN → ERR_MANIFEST_UNKNOWN, UNAUTHORIZED → ERR_UNAUTHORIZED,
 * ...), else ERR_HTTP for other statuses, EIO for transport failures.
 *
 * A reg_client may be used by one thread at a time.  Blob transfers
 * (downloads, and each blob's upload requests) run concurrently, up to
 * opts.jobs, on one curl multi handle on the calling thread.
 */
#ifndef REGISTRY_CLIENT_CLIENT_H
#define REGISTRY_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "oci/oci.h"

/* Annotation on the index.json descriptor of a pulled image naming the
 * registry repository it came from ("host:port/repo"): a later push to
 * another repository of that registry mounts the blobs from there. */
#define REG_ANNOTATION_SOURCE "io.ibuild.source.repository"

/* Progress lines ("Copying blob sha256:... (12.3 MB)", "Writing manifest")
 * for the CLI to print; never called with secrets. */
typedef void (*reg_client_log_fn)(const char *line, void *userdata);

struct reg_client_opts {
        const char *creds;         /* "user:pass" (user may hold '$'), or NULL */
        const char *authfile;      /* auth.json / config.json to use, or NULL: the usual search */
        bool tls_verify_disable;   /* --tls-verify=false: accept any certificate */
        const char *cert_dir;      /* *.crt CAs, *.cert + *.key client pair; NULL:
                                      /etc/containers/certs.d/HOST[:PORT] then
                                      /etc/docker/certs.d/HOST[:PORT] when present */
        bool plain_http;           /* talk HTTP to every registry */
        int jobs;                  /* concurrent blob transfers; <= 0: 4 */
        int retries;               /* retries of a failed request; < 0: 3 */
        const char *platform;      /* pull: "os/arch[/variant]", "all", or NULL (host) */
        reg_client_log_fn log;     /* may be NULL */
        void *log_data;
        /* Warnings (a credsStore helper that is not installed, an
         * unreadable blob-location record): things the user should fix but
         * that do not stop the work.  NULL: they go to LOG as
         * "warning: ..." lines. */
        reg_client_log_fn warn;
        void *warn_data;
};

struct reg_client;

/* A new client with a copy of OPTS (NULL: defaults).  *ret freed with
 * reg_client_free.  EINVAL for a bad platform string. */
int reg_client_new(const struct reg_client_opts *opts, struct reg_client **ret, struct err **err);
void reg_client_free(struct reg_client *c);
DEFINE_FREEP(struct reg_client, reg_client_free)
#define _cleanup_reg_client_ __attribute__((cleanup(reg_client_freep)))

/* What a pull stored. */
struct reg_pull_result {
        char *ref;                 /* "host/repo@sha256:..." of desc (canonical name) */
        char *name;                /* the name it was tagged with, or NULL (digest pull) */
        struct oci_descriptor desc;/* the manifest (one platform) or index ("all") stored */
        char *source_digest;       /* digest of what the registry served for the reference
                                      (the index when a platform was picked from one) */
};
void reg_pull_result_clear(struct reg_pull_result *r);

/* Pull REF (a registry reference, Docker normalisation: "alpine" →
 * docker.io/library/alpine:latest) into STORE and name it NAME (NULL: the
 * reference's store name, e.g. "docker.io/library/alpine:latest"; a digest
 * reference without a tag is stored unnamed).  From an index the client's
 * platform is picked (its manifest is what gets named), or with "all" the
 * index and every child.  Blobs already in the store are not fetched;
 * others are streamed to blobs/.tmp-pull-<alg>-<hex>, verified (digest
 * and size) and renamed into place, so a failed or killed pull leaves no
 * partial blob in blobs/<alg>/; what a failed transfer got stays in its
 * temp file and the next pull of that blob re-hashes it and asks for the
 * rest with Range.  Stale temp files in blobs/ are swept at the start.
 * Where the blobs came from goes into the store's blob-location record
 * (STORE/blobinfo.json) for later mounts.  *ret (may be NULL) is filled
 * on success (clear with reg_pull_result_clear). */
int reg_client_pull_to_store(struct reg_client *c, const char *ref, struct oci_store *store, const char *name,
                             struct reg_pull_result *ret, struct err **err);

/* The same into an OCI layout; NAME (may be NULL: unnamed) is the ref.name
 * annotation in index.json. */
int reg_client_pull_to_layout(struct reg_client *c, const char *ref, struct oci_layout *layout, const char *name,
                              struct reg_pull_result *ret, struct err **err);

/* Push the image SRC of STORE (a store name or digest, oci_store_resolve)
 * to DEST_REF.  Blobs the registry has are skipped (HEAD), blobs known in
 * another repository of the same registry (the store's blob-location
 * record, which earlier pushes and pulls filled, or the image's
 * REG_ANNOTATION_SOURCE) are mounted, others uploaded; a mount the
 * registry refuses or answers with an upload session becomes an upload.
 * Then manifests, children before their index, byte for byte as stored.
 * Where the blobs now are goes into the record.  *ret_ref (may be NULL)
 * receives "host/repo@sha256:..." of the pushed root manifest (caller
 * frees). */
int reg_client_push_from_store(struct reg_client *c, struct oci_store *store, const char *src, const char *dest_ref,
                               char **ret_ref, struct err **err);

/* Push the root descriptor DESC (manifest or index) of LAYOUT to DEST_REF,
 * as above, without a blob-location record (only this client's own
 * observations and the source annotation find mounts). */
int reg_client_push_from_layout(struct reg_client *c, struct oci_layout *layout, const struct oci_descriptor *desc,
                                const char *dest_ref, char **ret_ref, struct err **err);

struct oci_sig_key;

/* Sign manifest DIGEST as pushed to REF (its repository is the payload's
 * docker-reference) with private KEY, cosign's way: a simple-signing
 * payload layer with the signature annotation in the manifest at tag
 * sha256-<hex>.sig of that repository, keeping the signatures already
 * there (an identical one by the same key: nothing to do). */
int reg_client_sign(struct reg_client *c, const char *ref, const char *digest, const struct oci_sig_key *key,
                    struct err **err);

/* The OCI 1.1 way: the same signature as an artifact of artifactType
 * OCI_ARTIFACT_COSIGN_SIGNATURE with the image manifest DIGEST as subject,
 * pushed by digest (listed by the referrers API; without one, the push
 * keeps the sha256-<hex> referrers tag).  SUBJECT (may be NULL: fetched)
 * is DIGEST's descriptor when the caller has it. */
int reg_client_sign_referrer(struct reg_client *c, const char *ref, const char *digest,
                             const struct oci_descriptor *subject, const struct oci_sig_key *key, struct err **err);

/* Resolve REF to its digest (*ret_digest, what the registry serves for
 * it) and check that a signature in its sha256-<hex>.sig manifest, or in a
 * signature referrer (reg_client_sign_referrer), verifies
 * with one of KEYS, over a payload naming that digest and REF's
 * repository; *ret_key names the key (both may be NULL; caller frees).
 * ERR_DENIED naming the image, the keys tried and why each signature
 * failed (none found, bad signature, wrong digest, wrong identity). */
int reg_client_verify(struct reg_client *c, const char *ref, struct oci_sig_key *const *keys, size_t n_keys,
                      char **ret_digest, char **ret_key, struct err **err);

/* GET the manifest REF names (Accept: the four manifest types) without
 * storing it: *ret_body (NUL-terminated) and *ret_len, *ret_media_type and
 * *ret_digest (the sha256 of the body; a digest reference is verified), all
 * owned by the caller. */
int reg_client_get_manifest(struct reg_client *c, const char *ref, char **ret_body, size_t *ret_len,
                            char **ret_media_type, char **ret_digest, struct err **err);

/* GET blob DIGEST of REF's repository into memory (at most CAP bytes),
 * verified.  *ret_data is NUL-terminated, owned by the caller. */
int reg_client_get_blob(struct reg_client *c, const char *ref, const char *digest, size_t cap, char **ret_data,
                        size_t *ret_len, struct err **err);

/* Every tag of REPO (a reference; any tag in it is ignored), following the
 * Link header's pagination.  *ret_tags is a NULL-terminated vector
 * (oci_strv_free). */
int reg_client_list_tags(struct reg_client *c, const char *repo, char ***ret_tags, struct err **err);

/* One artifact that refers to an image. */
struct reg_referrer {
        char *media_type;    /* of the referrer's manifest */
        char *artifact_type; /* or NULL */
        char *digest;
        int64_t size;
        const char *source;  /* "referrers API", "tag schema" (sha256-<hex>), "cosign tag" (sha256-<hex>.sig) */
};

/* What refers to the image REF names: the registry's referrers API, or
 * without it the referrers tag schema's sha256-<hex> index, plus cosign's
 * signature manifest at sha256-<hex>.sig (artifactType the simple-signing
 * type).  *ret (free with reg_referrers_free) and *ret_n; *ret_digest
 * (may be NULL; caller frees) is the image's digest. */
int reg_client_list_referrers(struct reg_client *c, const char *ref, struct reg_referrer **ret, size_t *ret_n,
                              char **ret_digest, struct err **err);
void reg_referrers_free(struct reg_referrer *v, size_t n);

/* Copy the image DESC of SRC and every blob it reaches into DST (blobs DST
 * has are skipped; each copy is verified while written).  Manifests of
 * other platforms missing from SRC are skipped; any other missing blob is
 * ERR_BLOB_UNKNOWN.  Naming it in DST is the caller's business. */
int reg_layout_copy(struct oci_layout *src, const struct oci_descriptor *desc, struct oci_layout *dst,
                    struct err **err);

#endif
