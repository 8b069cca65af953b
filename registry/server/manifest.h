/* What the server needs to know about a pushed manifest: its kind, the
 * blobs and child manifests it references, its subject and artifact type.
 * Accepted: OCI image manifest, OCI image index, Docker schema 2 manifest,
 * Docker manifest list (artifacts are OCI manifests with an artifactType or
 * a non-image config).  Anything else is ERR_MANIFEST_INVALID.
 */
#ifndef REGISTRY_SERVER_MANIFEST_H
#define REGISTRY_SERVER_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "digest/digest.h"

struct reg_manifest {
        char media_type[256];    /* the effective media type (stored, served) */
        bool is_index;
        struct digest *blobs;    /* config + distributable layers (image manifests) */
        uint64_t *blob_sizes;    /* their descriptors' sizes */
        size_t n_blobs;
        struct digest *children; /* manifests of an index */
        uint64_t *child_sizes;
        size_t n_children;
        bool has_subject;
        struct digest subject;
        char artifact_type[256]; /* artifactType, else config.mediaType, else "" */
        char *annotations;       /* JSON object text, or NULL */
};

/* Parse BODY (LEN bytes) sent with CONTENT_TYPE (may be NULL).  The media
 * type is CONTENT_TYPE when it names a manifest kind, else the body's
 * "mediaType"; when both are present they must agree.  Errors are
 * ERR_MANIFEST_INVALID naming the field (JSON errors with line and column).
 * *ret is filled on success; release with reg_manifest_clear. */
int reg_manifest_parse(const char *body, size_t len, const char *content_type,
                       struct reg_manifest *ret, struct err **err);
void reg_manifest_clear(struct reg_manifest *m);

/* The referrers-API descriptor JSON for manifest M with DIGEST and SIZE
 * (newly allocated). */
char *reg_manifest_descriptor(const struct reg_manifest *m, const struct digest *digest,
                              size_t size);

#endif
