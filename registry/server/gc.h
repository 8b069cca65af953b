/* `ireg gc`: mark-and-sweep garbage collection of a registry store.
 *
 * The rule, per repository:
 *  - roots: every tagged manifest, and every manifest younger than the
 *    grace period (a multi-arch push uploads its child manifests untagged
 *    before the index that names them);
 *  - reachable: the roots, the manifests an index names (recursively), and
 *    every referrer (a manifest whose "subject" is reachable), recursively;
 *  - untagged, unreachable manifests are deleted unless keep_untagged;
 *  - a repository's blob links are kept when a kept manifest names the blob
 *    or the link is younger than the grace period (a push in progress);
 *    others are removed;
 *  - upload sessions untouched for upload_max_age are deleted;
 *  - the blob -> repositories index is repaired: kept links get their
 *    entry, entries without a link (older than the grace period) go.
 * Then, globally, a blob is deleted when no kept manifest or link in any
 * repository references it and it is older than the grace period.  The
 * server may keep running: whatever a push creates during the run is young,
 * and pushes refresh the mtime of content they reuse, as do blob HEAD/GET
 * (the link's), so the grace period counts from a blob's last use.
 */
#ifndef REGISTRY_SERVER_GC_H
#define REGISTRY_SERVER_GC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "common/err.h"
#include "registry/server/storage.h"

struct reg_gc_options {
        bool dry_run;          /* report, change nothing */
        bool keep_untagged;    /* never delete manifests */
        time_t grace;          /* seconds; content younger than this is kept */
        time_t upload_max_age; /* seconds an idle upload session is kept */
        FILE *report;          /* one line per deletion (may be NULL) */
};

struct reg_gc_stats {
        uint64_t manifests_deleted;
        uint64_t links_deleted;
        uint64_t blobs_deleted;
        uint64_t bytes_freed;
        uint64_t uploads_deleted;
        uint64_t blobs_kept;
        uint64_t index_repaired; /* blob -> repositories index entries added or removed */
};

/* Run one collection over STORE.  Fails only when the store cannot be read;
 * individual deletions that fail are reported and skipped. */
int reg_gc_run(struct reg_store *store, const struct reg_gc_options *opts,
               struct reg_gc_stats *ret_stats, struct err **err);

/* Parse a duration "90", "30s", "15m", "24h", "7d" into seconds. */
int reg_parse_duration(const char *s, time_t *ret, struct err **err);

#endif
