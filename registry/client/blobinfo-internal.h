/* The blob-location record: which registry repositories are known to hold
 * a blob, so that a push to another repository of the same registry can
 * mount it (POST .../blobs/uploads/?mount=D&from=REPO) instead of
 * uploading it again.  skopeo's blob-info cache keeps the same facts.
 *
 * It lives in the local store as STORE/blobinfo.json:
 *
 *     {"version": 1, "blobs": [{"digest": "sha256:...", "locations":
 *         [{"host": "registry:5000", "repository": "team/app", "time": 1718000000}]}]}
 *
 * host[:port] and repository only: never credentials, tokens or URLs.
 * Newest first; at most REG_BLOBINFO_REPOS locations per digest and
 * REG_BLOBINFO_DIGESTS digests (those used longest ago are dropped), so
 * the file stays under LIMIT_JSON_SIZE even with names of the longest
 * kind (about 10 MB; a few hundred KB for usual names).  Reads take the store's
 * shared lock, updates its exclusive lock (re-read, merge, write to a temp
 * file + fsync + rename), so concurrent pushes and pulls each add what
 * they saw.  The record is a hint: a location that went stale only costs
 * a mount the registry answers with an upload session. */
#ifndef REGISTRY_CLIENT_BLOBINFO_INTERNAL_H
#define REGISTRY_CLIENT_BLOBINFO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "oci/store.h"

#define REG_BLOBINFO_FILE "blobinfo.json"
#define REG_BLOBINFO_REPOS 4
#define REG_BLOBINFO_DIGESTS 4096

struct reg_blobinfo;

/* An empty record; free with reg_blobinfo_free (NULL is a no-op). */
struct reg_blobinfo *reg_blobinfo_new(void);
void reg_blobinfo_free(struct reg_blobinfo *bi);
DEFINE_FREEP(struct reg_blobinfo, reg_blobinfo_free)

/* Parse LEN bytes of TEXT (the file's contents; untrusted).  Not JSON, not
 * an object, another "version", or over LIMIT_JSON_SIZE: EINVAL naming
 * the problem (line and column for JSON).  Inside a valid file, an entry
 * or location with a bad digest, host, repository or time is skipped and
 * counted in *ret_dropped (may be NULL); the caps are applied. */
int reg_blobinfo_parse(const char *text, size_t len, struct reg_blobinfo **ret, size_t *ret_dropped,
                       struct err **err);

/* The file's contents for BI (newly allocated, NUL-terminated; *ret_len
 * may be NULL), after trimming BI to the caps. */
char *reg_blobinfo_serialize(struct reg_blobinfo *bi, size_t *ret_len);

/* Record that HOST/REPO held DIGEST at TIME (seconds since the epoch).  A
 * known location gets the later time; the locations stay newest first and
 * capped.  Arguments that would not parse back (bad digest, host or
 * repository) are ignored: returns -EINVAL, else 0. */
int reg_blobinfo_note(struct reg_blobinfo *bi, const char *digest, const char *host, const char *repo,
                      int64_t time);

/* Add every location of FROM to INTO (reg_blobinfo_note each). */
void reg_blobinfo_merge(struct reg_blobinfo *into, const struct reg_blobinfo *from);

/* The newest repository of HOST (case-insensitive) other than NOT_REPO
 * (may be NULL) known to hold DIGEST, or NULL.  Borrowed from BI. */
const char *reg_blobinfo_find(const struct reg_blobinfo *bi, const char *digest, const char *host,
                              const char *not_repo);

/* Number of digests in BI. */
size_t reg_blobinfo_count(const struct reg_blobinfo *bi);

/* Read STORE's record (shared lock): an empty one when there is no file.
 * A file that does not parse is an error naming it (the caller warns and
 * goes on without it); *ret_dropped as for reg_blobinfo_parse. */
int reg_blobinfo_load(struct oci_store *store, struct reg_blobinfo **ret, size_t *ret_dropped, struct err **err);

/* Add DELTA to STORE's record (exclusive lock: read, merge, write
 * atomically).  A file that does not parse is replaced.  Nothing is
 * written when DELTA is empty. */
int reg_blobinfo_save(struct oci_store *store, const struct reg_blobinfo *delta, struct err **err);

#endif
