/* The local content store: an OCI image layout (oci/layout.h) plus working
 * directories, shared by ibuild, ipush and ipull.
 *
 *     STORE/oci-layout, index.json, blobs/   the layout; any OCI tool reads it
 *                                           (skopeo oci:STORE:NAME, umoci)
 *     STORE/snapshots/   unpacked layers (builder)
 *     STORE/cache/       build cache (builder)
 *     STORE/tmp/         scratch space on the same file system
 *     STORE/lock         flock(2) target of index.json operations
 *     STORE/users.lock   flock(2) target of the store hold (below)
 *     STORE/blobinfo.json where blobs were last pushed or pulled (registry
 *                        client: blobinfo.c; never credentials)
 *
 * Location: an explicit path, else $IBUILD_STORE, else $XDG_DATA_HOME/ibuild
 * (when XDG_DATA_HOME is absolute), else $HOME/.local/share/ibuild.
 *
 * Names: what a user types ("app:1.0", "alpine", "ghcr.io/x/y:2") is
 * normalised with oci/ref.h's OCI_REF_LOCAL mode ("localhost/app:1.0",
 * "docker.io/library/alpine:latest" only when written with a domain) and the
 * full string is stored as org.opencontainers.image.ref.name.  Resolving a
 * short name tries the LOCAL form first, then the DOCKER form ("alpine" →
 * "docker.io/library/alpine:latest"), as podman does.
 *
 * Concurrency: every operation on index.json takes flock on STORE/lock,
 * shared for reads and exclusive for read-modify-write and for garbage
 * collection; each operation opens its own lock fd, so threads and processes
 * are serialised alike.  Blob writes take no lock (atomic rename, identical
 * content).
 *
 * The hold (STORE/users.lock): that lock cannot protect what a build uses
 * between operations.  A build reads its base's blobs and mounts their
 * snapshots as overlay lowers for minutes, writes layers, configs, cache
 * entries and snapshots long before anything names them, and tags last;
 * ipull writes every blob before the tag, ipush reads blobs nothing may
 * name any more.  So every such process holds the store SHARED for its
 * whole run (oci_store_hold), and whatever removes content (ibuild prune,
 * oci_store_gc) holds it EXCLUSIVE: removal waits for the running builds,
 * pulls and pushes to end, and one that starts meanwhile waits for the
 * removal.  Order: users.lock is taken before lock, never while holding
 * it.  The grace period (blobs and snapshots younger than it are never
 * removed; a re-added existing blob gets its mtime bumped) stays as the
 * second line, for writers that do not hold the store (other OCI tools).
 * flock has no writer preference: a stream of overlapping builds can keep
 * a prune waiting.
 */
#ifndef OCI_STORE_H
#define OCI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "digest/digest.h"
#include "oci/layout.h"
#include "oci/model.h"

#define OCI_STORE_ENV "IBUILD_STORE"
/* Default GC grace period: blobs younger than this are never swept. */
#define OCI_STORE_GC_GRACE_DEFAULT (10 * 60)

struct oci_store;

/* The store path to use when none is given: $IBUILD_STORE,
 * $XDG_DATA_HOME/ibuild, or $HOME/.local/share/ibuild (newly allocated).
 * ENOENT when none of those variables is usable. */
int oci_store_default_path(char **ret_path, struct err **err);

/* Open the store at PATH (NULL: the default path), creating it and its
 * subdirectories when missing.  Creation is done under the exclusive lock,
 * so two processes opening a fresh store at once are safe. */
int oci_store_open(const char *path, struct oci_store **ret_store, struct err **err);

void oci_store_free(struct oci_store *store);
DEFINE_FREEP(struct oci_store, oci_store_free)
#define _cleanup_oci_store_ __attribute__((cleanup(oci_store_freep)))

/* The store's layout (borrowed): add blobs through it directly.  Do not call
 * its index.json read-modify-write functions (oci_layout_tag/untag/
 * write_index) without holding the exclusive lock (oci_store_lock). */
struct oci_layout *oci_store_layout(struct oci_store *store);

/* Paths (borrowed): the store root, and its snapshots/, cache/ and tmp/
 * directories (they exist once the store is open). */
const char *oci_store_path(const struct oci_store *store);
const char *oci_store_snapshots_dir(const struct oci_store *store);
const char *oci_store_cache_dir(const struct oci_store *store);
const char *oci_store_tmp_dir(const struct oci_store *store);

/* Take the store lock (shared or EXCLUSIVE), blocking.  Returns a lock fd
 * (>= 0) to hand to oci_store_unlock.  For callers that need several steps
 * under one lock; never call other oci_store_* functions that lock while
 * holding it (they would wait for it). */
int oci_store_lock(struct oci_store *store, bool exclusive, struct err **err);
/* Release a lock taken by oci_store_lock; a negative FD is a no-op. */
void oci_store_unlock(int fd);

/* Hold STORE shared (a build, pull or push using it) or EXCLUSIVE (a
 * removal) until oci_store_release or oci_store_free; the flock is on an
 * O_CLOEXEC fd, so RUN steps and other programs started meanwhile do not
 * inherit it.  WAIT: block until granted; else a conflicting hold fails at
 * once with EWOULDBLOCK and a message naming the store and, for EXCLUSIVE,
 * how many processes hold it (when /proc/locks tells).  Holding again in
 * the mode already held is a no-op; asking for the other mode is EBUSY
 * (flock's conversion drops the lock before taking the new one).  A store
 * this user may not write can still be held shared when its users.lock
 * exists; when it doesn't (a store from before the hold), a shared hold
 * returns 0 without holding anything: no prune can hold such a store
 * exclusively either, until someone who may write it does. */
int oci_store_hold(struct oci_store *store, bool exclusive, bool wait, struct err **err);

/* Drop the hold taken by oci_store_hold (no-op when none). */
void oci_store_release(struct oci_store *store);

/* How many holds of STORE are shared now (this process's own included), as
 * /proc/locks lists them; -1 when that cannot be read.  A count for
 * messages, racy by nature. */
int oci_store_users(struct oci_store *store);

/* Normalise NAME as the store keeps it ("app:1.0" → "localhost/app:1.0").
 * A NAME with a digest ("app@sha256:...") is refused: a name is a tag.
 * ERR_REFERENCE_INVALID / ERR_TAG_INVALID from oci/ref.h. */
int oci_store_normalize_name(const char *name, char **ret_name, struct err **err);

/* Name the manifest or index DESC NAME, moving the name if another image
 * had it.  Under the exclusive lock, the image must be complete: DESC's blob
 * and the config and layers of every manifest it reaches that is present
 * (an index may lack other platforms' manifests) must be in the store, else
 * ERR_MANIFEST_BLOB_UNKNOWN naming the blob.  Since GC takes the same lock,
 * a complete image stays complete once named: write the blobs, then tag.
 * NAME NULL adds DESC unnamed (a digest pull): it is then a GC root and
 * resolvable by digest, and adding it again is a no-op. */
int oci_store_tag(struct oci_store *store, const char *name, const struct oci_descriptor *desc, struct err **err);

/* Remove NAME.  ERR_MANIFEST_UNKNOWN when the store has no such name. */
int oci_store_untag(struct oci_store *store, const char *name, struct err **err);

/* Resolve WHAT to a descriptor: a name (LOCAL form, then DOCKER form), a
 * name with a digest ("app@sha256:..."; the digest decides), a full digest
 * ("sha256:<64 hex>"), or a unique prefix of at least 4 hex characters of
 * the digest of a descriptor in index.json ("sha256:" optional).
 * *ret_desc filled (caller clears); *ret_name (may be NULL) gets the stored
 * name of the entry found, or NULL when it was found by digest and has
 * none.  ERR_MANIFEST_UNKNOWN when nothing matches; ERR_REFERENCE_INVALID
 * for an ambiguous prefix (the message lists the candidates).  Shared lock. */
int oci_store_resolve(struct oci_store *store, const char *what, struct oci_descriptor *ret_desc, char **ret_name,
                      struct err **err);

struct oci_store_image {
        char *name; /* stored name, NULL for an unnamed entry */
        struct oci_descriptor desc;
        uint64_t size; /* config + layers (all children of an index) */
        char *created; /* the config's "created" or NULL */
};

/* List the images of index.json in order.  Sizes and created dates come
 * from the manifests and configs; an image whose blobs are missing is
 * listed with what could be read.  Free with oci_store_images_free. */
int oci_store_list(struct oci_store *store, struct oci_store_image **ret_images, size_t *ret_n, struct err **err);
void oci_store_images_free(struct oci_store_image *images, size_t n);

struct oci_store_gc_opts {
        int64_t grace_seconds;     /* < 0: OCI_STORE_GC_GRACE_DEFAULT; 0: none */
        bool dry_run;              /* report, remove nothing */
        const struct digest *keep; /* extra roots (e.g. the build cache's
                                      manifests/configs/layers); a manifest
                                      or index among them is walked */
        size_t n_keep;
        /* The roots as the caller has already found them, or NULL (the GC
         * finds them).  When set, the GC neither walks index.json nor reads
         * cache/: ROOTS, an object whose keys are blob digests, must name
         * every blob reachable from index.json and every config and layer
         * of the build cache entries that stay; KEEP is still walked.
         * Only a caller that holds the store EXCLUSIVE (oci_store_hold)
         * from reading those to the end of the GC can promise that (ibuild
         * prune, which reads them anyway to decide what to remove). */
        const json_t *roots;
};

struct oci_store_gc_result {
        size_t blobs_removed; /* (or that would be, with dry_run) */
        uint64_t bytes_freed;
        size_t temps_removed; /* stale blobs/.tmp-* files */
        size_t blobs_kept;    /* reachable or young blobs left */
        char **removed;       /* strv of the digests removed, or NULL */
};

/* Garbage-collect: under the exclusive lock, mark every blob reachable from
 * index.json (through indexes, manifests → config, layers, subject), from
 * OPTS->keep and from the build cache entries (cache/<64 hex>: JSON whose
 * "config" digest and "layers"[].digest are roots, so the GC never strands
 * a cache entry; remove entries first to release their blobs) -- or, with
 * OPTS->roots, just those and OPTS->keep -- then remove
 * every other blob in blobs/<alg>/ whose mtime is older than the grace
 * period, and stale writer temp files.  OPTS may be NULL (defaults).
 * *ret_result (may be NULL) is cleared with oci_store_gc_result_clear.
 * tmp/, snapshots/ and cache/ are left alone.  The GC needs the store held
 * EXCLUSIVE: when the caller does not hold it, the GC holds it itself for
 * its run (waiting for running builds); when the caller holds it shared,
 * EDEADLK. */
int oci_store_gc(struct oci_store *store, const struct oci_store_gc_opts *opts, struct oci_store_gc_result *ret_result,
                 struct err **err);
void oci_store_gc_result_clear(struct oci_store_gc_result *result);

#endif
