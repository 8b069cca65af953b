/* Internals shared by oci/layer-*.c; not part of the oci API. */
#ifndef OCI_LAYER_INTERNAL_H
#define OCI_LAYER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/layer.h"

#define OCI_LAYER_WHITEOUT_PREFIX ".wh."
#define OCI_LAYER_WHITEOUT_META_PREFIX ".wh..wh."
#define OCI_LAYER_OPAQUE ".wh..wh..opq"

/* Map ID through M (NULL = identity).  Returns 0 and sets *ret_id, or
 * -EOVERFLOW when the id has no mapping. */
int oci_layer_map_id(const struct oci_layer_idmap *m, bool is_gid, bool to_image, uint32_t id, uint32_t *ret_id);

/* True for xattrs that belong to overlayfs itself (trusted.overlay.*,
 * user.overlay.*): never written to a layer, never applied from one. */
bool oci_layer_is_overlay_xattr(const char *name);

/* A set of strings (paths), open addressing.  Owns copies of its keys. */
struct oci_layer_strset {
        char **slots;
        size_t cap;
        size_t n;
};

/* Add KEY (copied); returns true when it was not there yet. */
bool oci_layer_strset_add(struct oci_layer_strset *s, const char *key);
bool oci_layer_strset_has(const struct oci_layer_strset *s, const char *key);
void oci_layer_strset_free(struct oci_layer_strset *s);

/* Parallel gzip (oci/layer-gzip.c): the same bytes for any thread count.
 * EMIT receives the compressed stream in order; a negative return from it
 * (or -EIO on a zlib failure) is returned. */
typedef int (*oci_layer_emit_fn)(void *userdata, const void *buf, size_t len);
struct oci_layer_pgzip;
struct oci_layer_pgzip *oci_layer_pgzip_new(int level, int threads);
int oci_layer_pgzip_write(struct oci_layer_pgzip *g, const void *buf, size_t len, oci_layer_emit_fn emit,
                          void *userdata);
int oci_layer_pgzip_finish(struct oci_layer_pgzip *g, oci_layer_emit_fn emit, void *userdata);
void oci_layer_pgzip_free(struct oci_layer_pgzip *g);

#endif
