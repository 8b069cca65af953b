/* OCI image layout directories (image-spec image-layout.md).
 *
 *     DIR/oci-layout      {"imageLayoutVersion":"1.0.0"}
 *     DIR/index.json      an image index; its manifests[] are the layout's
 *                         roots, named by the annotation
 *                         org.opencontainers.image.ref.name
 *     DIR/blobs/<alg>/<hex>   content-addressed blobs
 *
 * Blobs are added atomically: bytes go to a temp file blobs/.tmp-<random>,
 * are hashed while written, fsync'd, checked against the expected digest
 * and size when given, and renamed to blobs/<alg>/<hex>.  An existing blob
 * of the same digest and size is kept (its mtime is bumped so a concurrent
 * garbage collection's grace period covers it).  Blob writes need no lock.
 *
 * index.json is read keeping unknown fields (of the index and of each
 * descriptor) and written atomically (temp + fsync + rename).  The
 * read-modify-write functions here take no lock: oci/store.h wraps them in
 * one; a plain layout dir is assumed to have a single writer.
 *
 * Naming follows skopeo and umoci: tagging NAME removes every descriptor
 * that carried NAME before (the old entry goes away as a whole, it does not
 * stay behind unnamed), then appends the new descriptor annotated with NAME.
 * Names follow the annotations.md grammar for ref.name:
 *     ref       ::= component ("/" component)*
 *     component ::= alphanum (separator alphanum)*
 *     alphanum  ::= [A-Za-z0-9]+
 *     separator ::= [-._:@+] | "--"
 */
#ifndef OCI_LAYOUT_H
#define OCI_LAYOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "digest/digest.h"
#include "oci/model.h"

#define OCI_LAYOUT_VERSION "1.0.0"
/* Temp files of blob writers: blobs/.tmp-<hex>. */
#define OCI_LAYOUT_TMP_PREFIX ".tmp-"

struct oci_layout;

/* ---- the directory ------------------------------------------------------ */

/* Create the layout at PATH (parents too) or open it when it already is one:
 * oci-layout, an empty index.json and blobs/sha256/ are created only where
 * missing, never overwritten.  *ret_layout is freed with oci_layout_free. */
int oci_layout_create(const char *path, struct oci_layout **ret_layout, struct err **err);

/* Open the existing layout at PATH: oci-layout must hold an
 * imageLayoutVersion 1.x (else ERR_UNSUPPORTED), blobs/ and index.json must
 * exist (else ERR_MANIFEST_INVALID naming what is missing). */
int oci_layout_open(const char *path, struct oci_layout **ret_layout, struct err **err);

void oci_layout_free(struct oci_layout *layout);
DEFINE_FREEP(struct oci_layout, oci_layout_free)
#define _cleanup_oci_layout_ __attribute__((cleanup(oci_layout_freep)))

/* PATH as given to create/open (borrowed). */
const char *oci_layout_path(const struct oci_layout *layout);
/* The layout's directory fd (borrowed; O_RDONLY|O_DIRECTORY). */
int oci_layout_dirfd(const struct oci_layout *layout);

/* ---- blobs -------------------------------------------------------------- */

/* "PATH/blobs/<alg>/<hex>", newly allocated (the file may not exist). */
char *oci_layout_blob_path(const struct oci_layout *layout, const struct digest *d);

/* True when blob D is present (a regular file). */
bool oci_layout_has_blob(const struct oci_layout *layout, const struct digest *d);

/* Size of blob D; ERR_BLOB_UNKNOWN when absent. */
int oci_layout_stat_blob(const struct oci_layout *layout, const struct digest *d, uint64_t *ret_size, struct err **err);

/* Like oci_layout_stat_blob, and when the blob is there bump its mtime so a
 * concurrent store GC's grace period covers it: call it instead of
 * has/stat when an existing blob is reused (not re-fetched) for an image
 * about to be tagged. */
int oci_layout_refresh_blob(const struct oci_layout *layout, const struct digest *d, uint64_t *ret_size,
                            struct err **err);

/* Open blob D for reading: *ret_fd (O_CLOEXEC, caller closes) and its size.
 * ERR_BLOB_UNKNOWN when absent.  The content is not verified. */
int oci_layout_open_blob(const struct oci_layout *layout, const struct digest *d, int *ret_fd, uint64_t *ret_size,
                         struct err **err);

/* Read the whole of blob D (at most CAP bytes, else ERR_SIZE_INVALID) and
 * verify it hashes to D (else ERR_DIGEST_INVALID).  *ret_data is
 * NUL-terminated, caller frees.  For manifests, configs, small blobs. */
int oci_layout_read_blob(const struct oci_layout *layout, const struct digest *d, size_t cap, char **ret_data,
                         size_t *ret_len, struct err **err);

/* Store LEN bytes of DATA as a blob.  EXPECTED (may be NULL: sha256 is
 * used) must match the content, else ERR_DIGEST_INVALID and nothing is
 * stored.  *ret_digest (may be NULL) receives the digest. */
int oci_layout_add_blob(struct oci_layout *layout, const void *data, size_t len, const struct digest *expected,
                        struct digest *ret_digest, struct err **err);

/* Store everything read from FD until EOF as a blob, hashing as it goes.
 * EXPECTED (may be NULL) and EXPECTED_SIZE (-1: unknown) are verified:
 * ERR_DIGEST_INVALID / ERR_SIZE_INVALID (a source longer than EXPECTED_SIZE
 * is stopped as soon as it overflows).  Nothing is stored on failure. */
int oci_layout_add_blob_fd(struct oci_layout *layout, int fd, const struct digest *expected, int64_t expected_size,
                           struct digest *ret_digest, uint64_t *ret_size, struct err **err);

/* A streaming blob writer: new → write* (or raw writes to the fd) → commit;
 * free without commit removes the temp file.  The layout must outlive it. */
struct oci_blob_writer;

/* Start a blob of algorithm ALG in LAYOUT (temp file in blobs/). */
int oci_layout_blob_writer_new(struct oci_layout *layout, enum digest_alg alg, struct oci_blob_writer **ret_writer,
                               struct err **err);
/* Append LEN bytes, hashing them. */
int oci_blob_writer_write(struct oci_blob_writer *w, const void *data, size_t len, struct err **err);
/* The temp file's fd (O_RDWR, borrowed) for code that writes to an fd (the
 * layer writer).  Once taken, commit re-hashes the file from its start:
 * never trust a digest computed elsewhere for content-addressed storage. */
int oci_blob_writer_fd(struct oci_blob_writer *w);
/* Bytes written through oci_blob_writer_write so far. */
uint64_t oci_blob_writer_size(const struct oci_blob_writer *w);
/* Finish: verify against EXPECTED (may be NULL) and EXPECTED_SIZE (-1:
 * any), fsync, and rename into place (an existing equal blob is kept).
 * *ret_digest and *ret_size (may be NULL) describe the blob.  On failure the
 * writer still owns its temp file (commit may be retried with other
 * expectations; no more writes are taken); free it. */
int oci_blob_writer_commit(struct oci_blob_writer *w, const struct digest *expected, int64_t expected_size,
                           struct digest *ret_digest, uint64_t *ret_size, struct err **err);
void oci_blob_writer_free(struct oci_blob_writer *w);
DEFINE_FREEP(struct oci_blob_writer, oci_blob_writer_free)
#define _cleanup_blob_writer_ __attribute__((cleanup(oci_blob_writer_freep)))

/* ---- index.json --------------------------------------------------------- */

/* index.json as JSON (*ret_index, caller json_decref's it), unknown fields
 * kept.  It must be an object with schemaVersion 2, a manifests array, and
 * a mediaType (if any) of OCI_MT_INDEX: else ERR_MANIFEST_INVALID. */
int oci_layout_read_index(const struct oci_layout *layout, json_t **ret_index, struct err **err);

/* Replace index.json with INDEX atomically (compact JSON, key order as in
 * INDEX).  INDEX is checked as read_index checks it. */
int oci_layout_write_index(struct oci_layout *layout, const json_t *index, struct err **err);

/* True when NAME fits the ref.name grammar above (at most LIMIT_REF_TOTAL
 * characters). */
bool oci_layout_name_valid(const char *name);

/* Add DESC (a manifest or index descriptor; its blob should already be in
 * the layout) to index.json under NAME: descriptors that carried NAME lose
 * it (they are removed), DESC is appended with annotation ref.name = NAME.
 * NAME NULL appends DESC unnamed unless an unnamed descriptor of the same
 * digest is already there.  ERR_REFERENCE_INVALID for a bad NAME. */
int oci_layout_tag(struct oci_layout *layout, const char *name, const struct oci_descriptor *desc, struct err **err);

/* The descriptor named NAME (*ret_desc filled; caller clears it).
 * ERR_MANIFEST_UNKNOWN when no descriptor has that name.  When several
 * carry it (written by another tool), the last one wins. */
int oci_layout_find(const struct oci_layout *layout, const char *name, struct oci_descriptor *ret_desc,
                    struct err **err);

/* The image an oci:DIR[:NAME] reference means: the descriptor named NAME,
 * or, when NAME is NULL, the layout's only image (ERR_MANIFEST_UNKNOWN when
 * it holds none, ERR_REFERENCE_INVALID when several: the caller must name
 * one).  *ret_desc filled; caller clears it. */
int oci_layout_select(const struct oci_layout *layout, const char *name, struct oci_descriptor *ret_desc,
                      struct err **err);

/* Remove the descriptors named NAME from index.json.  ERR_MANIFEST_UNKNOWN
 * when there is none. */
int oci_layout_untag(struct oci_layout *layout, const char *name, struct err **err);

struct oci_layout_entry {
        char *name; /* ref.name, or NULL for an unnamed descriptor */
        struct oci_descriptor desc;
};

/* Every descriptor of index.json in order: *ret_entries (free with
 * oci_layout_entries_free) and *ret_n. */
int oci_layout_list(const struct oci_layout *layout, struct oci_layout_entry **ret_entries, size_t *ret_n,
                    struct err **err);
void oci_layout_entries_free(struct oci_layout_entry *entries, size_t n);

/* ---- walking and validating ---------------------------------------------- */

enum oci_walk_kind {
        OCI_WALK_ROOT,     /* a descriptor of index.json's manifests[] */
        OCI_WALK_MANIFEST, /* a child of an index */
        OCI_WALK_CONFIG,
        OCI_WALK_LAYER,
        OCI_WALK_SUBJECT, /* may be absent from the layout */
};

struct oci_walk_item {
        enum oci_walk_kind kind;
        const struct oci_descriptor *desc; /* borrowed for the call */
        struct digest digest;              /* desc->digest, parsed */
        const char *name;                  /* ref.name of the root it hangs from, or NULL */
        const char *referrer;              /* "index.json manifests[0]", "sha256:... layers[2]" */
        int depth;                         /* 0 for roots */
};

/* Called once per descriptor met; a negative return (with *err set) stops
 * the walk and is returned. */
typedef int (*oci_walk_fn)(const struct oci_walk_item *item, void *userdata, struct err **err);

enum {
        /* Manifests and indexes that are missing or unreadable are skipped
         * instead of failing the walk (garbage collection marks what it
         * can). */
        OCI_WALK_SKIP_MISSING = 1 << 0,
};

/* Walk index.json → manifests (recursing through nested indexes) → config,
 * layers and subject, calling FN for each descriptor.  Each manifest or
 * index blob is read (and its digest verified) and recursed into once even
 * when referenced several times; nesting deeper than 16 fails.  A missing
 * subject is never an error.  FLAGS: OCI_WALK_*. */
int oci_layout_walk(const struct oci_layout *layout, unsigned flags, oci_walk_fn fn, void *userdata, struct err **err);

/* Walk from a single descriptor DESC as if it were a root. */
int oci_layout_walk_from(const struct oci_layout *layout, const struct oci_descriptor *desc, unsigned flags,
                         oci_walk_fn fn, void *userdata, struct err **err);

enum {
        /* Re-hash every blob (layers included), not only manifests, indexes
         * and configs. */
        OCI_VALIDATE_REHASH = 1 << 0,
};

/* Check the layout: oci-layout and index.json are valid, every descriptor
 * reachable from index.json is well-formed with a sane media type (index
 * children are manifests or indexes, a manifest's own mediaType matches its
 * descriptor, configs parse as JSON), every referenced blob exists (a
 * non-distributable layer with urls may be absent) with the size its
 * descriptor states, and manifests, indexes and configs hash to their
 * digests (all blobs with OCI_VALIDATE_REHASH).  The first problem is
 * returned: ERR_BLOB_UNKNOWN, ERR_SIZE_INVALID, ERR_DIGEST_INVALID or
 * ERR_MANIFEST_INVALID, the message naming the blob and its referrer.
 * *ret_blobs (may be NULL) counts the descriptors checked. */
int oci_layout_validate(const struct oci_layout *layout, unsigned flags, size_t *ret_blobs, struct err **err);

/* ---- "oci:DIR[:NAME]" ------------------------------------------------------ */

/* Parse the CLI form "oci:DIR[:NAME]" (skopeo's transport syntax: DIR ends
 * at the first ':' after the prefix, so NAME may itself hold ':').  *ret_dir
 * is newly allocated, *ret_name newly allocated or NULL when absent.
 * ERR_REFERENCE_INVALID when S lacks the "oci:" prefix, DIR is empty, or
 * NAME is empty or breaks the ref.name grammar. */
int oci_layout_parse_ref(const char *s, char **ret_dir, char **ret_name, struct err **err);

/* True when S starts with "oci:". */
bool oci_layout_is_ref(const char *s);

#endif
