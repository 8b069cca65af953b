/* Overlay snapshots: unpacked layers keyed by diffID, and turning a RUN
 * step's overlay upper dir into a layer.
 *
 * A snapshot dir ROOT/<hex of diffID> holds one layer's change set in
 * overlay lower-dir form (a deletion is a char 0/0 whiteout, an opaque dir
 * carries user.overlay.opaque=y, the form overlayfs itself writes when
 * mounted with "userxattr" in a user namespace), so a stage's root is the
 * overlay of its snapshot dirs, top-most first, and nothing is copied.
 * ROOT is normally oci_store_snapshots_dir() of the local store.
 *
 * Files in snapshots belong to in-image ids as seen inside the build user
 * namespace; rootless, that means subordinate ids the caller cannot touch
 * directly, so unpacking, reading and deleting happen in a helper child
 * with the same mapping (build_idmap_call).
 */
#ifndef BUILDER_SNAPSHOT_SNAPSHOT_H
#define BUILDER_SNAPSHOT_SNAPSHOT_H

#include <stdint.h>

#include "builder/sandbox/sandbox.h"
#include "common/err.h"
#include "digest/digest.h"
#include "oci/layer.h"

/* The snapshot dir of DIFF_ID under ROOT (caller frees). */
char *build_snapshot_path(const char *root, const struct digest *diff_id);

/* Unpack the layer blob at LAYER_PATH (gzip, zstd or plain tar) into the
 * snapshot of its diffID under ROOT, unless that snapshot already exists
 * (checked first when DIFF_ID is given).  The unpack runs in MAP's user
 * namespace, into a temp dir that is renamed into place only when complete
 * (and, with DIFF_ID, only when the content matches it).  Device nodes that
 * cannot be created are skipped; such skips come back in *ret_warnings
 * (newline-separated, NULL when none).  *ret_dir is the snapshot dir. */
int build_snapshot_unpack(const struct build_idmap *map, const char *root, const char *layer_path,
                          const struct digest *diff_id, char **ret_dir, char **ret_warnings, struct err **err);

/* A fresh upper and work dir for one RUN step, in a new dir under ROOT (so
 * the upper dir can later be renamed into a snapshot).  *ret_step is that
 * dir, for build_snapshot_remove() when the step is done. */
int build_snapshot_new_step(const char *root, char **ret_step, char **ret_upper, char **ret_work,
                            struct err **err);

struct build_snapshot_layer {
        struct digest diff_id;
        struct digest blob_digest;
        uint64_t blob_size;
        char *snapshot_dir; /* where UPPER now lives; NULL when not kept */
};

/* Write overlay upper dir UPPER as a layer to OUT_FD with OPTS (compression,
 * level, threads, source_date_epoch; NULL = uncompressed defaults; the
 * source mode is always the overlay one):
 * whiteouts and opaque dirs become OCI ".wh." entries, in-image ownership
 * (read inside MAP's namespace), hard links kept; one pass computes the
 * diffID and blob digest.  With ROOT, UPPER is then renamed to the
 * snapshot of the new diffID (or removed when that snapshot already
 * exists) and ret_layer->snapshot_dir says where it is (caller frees). */
int build_snapshot_commit(const struct build_idmap *map, const char *upper, const char *root,
                          const struct oci_layer_write_opts *opts, int out_fd, struct build_snapshot_layer *ret_layer,
                          struct err **err);

/* Remove a snapshot, step or upper dir whose files may belong to mapped
 * ids.  A missing DIR is success. */
int build_snapshot_remove(const struct build_idmap *map, const char *dir, struct err **err);

#endif
