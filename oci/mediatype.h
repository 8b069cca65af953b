/* Media types of the OCI image-spec and of Docker's image manifest v2
 * schema 2, and small classifiers over them.
 *
 * Comparisons ignore media-type parameters ("; charset=utf-8") and ASCII
 * case, as RFC 6838 media types are case-insensitive; the constants below are
 * the canonical spellings we write.
 */
#ifndef OCI_MEDIATYPE_H
#define OCI_MEDIATYPE_H

#include <stdbool.h>

/* OCI image-spec v1.1 */
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYOUT_HEADER "application/vnd.oci.layout.header.v1+json"
#define OCI_MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
/* Non-distributable layers (deprecated in v1.1 but still read). */
#define OCI_MT_LAYER_ND_TAR "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define OCI_MT_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define OCI_MT_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
/* The empty JSON object "{}", used as the config of artifacts. */
#define OCI_MT_EMPTY "application/vnd.oci.empty.v1+json"
#define OCI_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define OCI_EMPTY_SIZE 2
#define OCI_EMPTY_DATA "{}"

/* Docker image manifest v2, schema 2 */
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* Schema 1 (only recognised, never produced or accepted for storage). */
#define DOCKER_MT_MANIFEST_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_MT_MANIFEST_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Compression implied by a layer media type. */
enum oci_media_compression {
        OCI_MEDIA_COMPRESSION_NONE,
        OCI_MEDIA_COMPRESSION_GZIP,
        OCI_MEDIA_COMPRESSION_ZSTD,
        OCI_MEDIA_COMPRESSION_UNKNOWN, /* not a known layer type */
};

/* True when A and B name the same media type (case-insensitive, parameters
 * after ';' and surrounding blanks ignored).  NULL equals nothing. */
bool oci_mediatype_equal(const char *a, const char *b);

/* An image manifest: OCI manifest or Docker schema 2 manifest. */
bool oci_mediatype_is_manifest(const char *mt);
/* An index: OCI image index or Docker manifest list. */
bool oci_mediatype_is_index(const char *mt);
/* A manifest or an index (what /v2/<name>/manifests/ serves, schema 1 excluded). */
bool oci_mediatype_is_manifest_or_index(const char *mt);
/* An image config: OCI or Docker. */
bool oci_mediatype_is_config(const char *mt);
/* A known layer type (OCI tar/gzip/zstd, non-distributable, Docker
 * rootfs.diff and foreign). */
bool oci_mediatype_is_layer(const char *mt);
/* A non-distributable or foreign layer (may be absent from registries). */
bool oci_mediatype_is_nondistributable(const char *mt);
/* Compression of a layer type; OCI_MEDIA_COMPRESSION_UNKNOWN when MT is not
 * a known layer type. */
enum oci_media_compression oci_mediatype_layer_compression(const char *mt);
/* The layer type for compression C in Docker schema 2 manifests (DOCKER) or
 * OCI manifests, non-distributable (foreign) when NONDIST; NULL when that
 * format has none (Docker has no zstd and no uncompressed foreign layer). */
const char *oci_mediatype_layer_for(enum oci_media_compression c, bool docker, bool nondist);

/* RFC 6838 grammar check: type "/" subtype, restricted-name characters,
 * optional ";" parameters.  Used to validate descriptor mediaType fields. */
bool oci_mediatype_valid(const char *mt);

#endif
