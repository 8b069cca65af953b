/* Registry storage: a small driver interface (struct of function pointers)
 * so handlers never touch paths or file descriptors, and the filesystem
 * driver.  The interface speaks streams, so an object store can implement
 * it: blobs are read through a reader (read at an offset; the filesystem
 * driver's also lends its fd, for sendfile), uploads are sessions that
 * writers append to, each keeping the running SHA-256 state with the
 * session so any process can continue or finish it without re-reading.
 *
 * Filesystem layout under ROOT (DESIGN.md "Registry storage"):
 *   blobs/<alg>/<hh>/<hex>                            blob data, shared by all repos
 *   repos/<name>/_layers/<alg>/<hex>                  link: the repo holds the blob
 *   repos/<name>/_manifests/revisions/<alg>/<hex>/link    the manifest's media type
 *   repos/<name>/_manifests/revisions/<alg>/<hex>/tags/<tag>  reverse index marker
 *   repos/<name>/_manifests/tags/<tag>                "alg:hex" of the tagged manifest
 *   repos/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>  descriptor JSON of a referrer
 *   repos/<name>/_uploads/<uuid>/data                 upload session bytes
 *   repos/<name>/_uploads/<uuid>/startedat            creation time
 *   repos/<name>/_uploads/<uuid>/hashstate            sha256 state of data's
 *                                                     first N bytes (digest.h;
 *                                                     not fsynced, see
 *                                                     storage-fs-upload.c)
 *   index/blob-repos/<alg>/<hh>/<hex>/<name, '/' as '+'>  reverse index: the
 *                                                     repositories linking a blob
 * Manifest bodies are blobs too (blobs/<alg>/...).  Every file is written
 * to a temp name, fsynced and renamed, so a crash at any moment leaves the
 * old state or the new one; the order of writes is chosen so a crash can
 * only leave unreferenced data (which `ireg gc` removes), never a tag or
 * link pointing at missing content.
 *
 * Names, tags, digests and upload ids reaching the driver are validated by
 * the caller (registry/server/route.h grammar): they cannot contain "..",
 * start with '.' or '_', or hold anything but [a-z0-9._/-] resp. the tag
 * charset, so they are safe path components.
 */
#ifndef REGISTRY_SERVER_STORAGE_H
#define REGISTRY_SERVER_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/err.h"
#include "digest/digest.h"

struct reg_store;

/* ---- blob readers ---- */

struct reg_blob_reader;

/* A driver's reader.  read_at and close are required; stream and fd may
 * be NULL. */
struct reg_blob_reader_ops {
        /* Up to LEN bytes from offset OFF into BUF: the count read, 0 at
         * or past the end, negative with ERR set on failure. */
        ssize_t (*read_at)(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len,
                           struct err **err);
        /* Bytes [OFF, OFF + LEN) to CB as they arrive (one ranged GET of
         * an object store rather than many reads); as
         * reg_blob_reader_stream, which uses read_at without it. */
        int (*stream)(struct reg_blob_reader *br, uint64_t off, uint64_t len,
                      int (*cb)(const void *data, size_t len, void *userdata), void *userdata,
                      struct err **err);
        /* A file descriptor on the blob's bytes, lent for the reader's
         * life (sendfile, pread), or -1. */
        int (*fd)(struct reg_blob_reader *br);
        void (*close)(struct reg_blob_reader *br);
};

/* An open blob of SIZE bytes; the content does not change while open. */
struct reg_blob_reader {
        const struct reg_blob_reader_ops *ops;
        uint64_t size;
};

/* BR's read_at, retried until LEN bytes or the end: the count read. */
ssize_t reg_blob_reader_read_at(struct reg_blob_reader *br, uint64_t off, void *buf, size_t len,
                                struct err **err);
/* Feed bytes [OFF, OFF + LEN) of BR to CB in pieces.  A blob that ends
 * early is EIO; CB's negative return stops the stream and is returned. */
int reg_blob_reader_stream(struct reg_blob_reader *br, uint64_t off, uint64_t len,
                           int (*cb)(const void *data, size_t len, void *userdata), void *userdata,
                           struct err **err);
/* BR's lent fd, or -1 when its driver has none. */
int reg_blob_reader_fd(struct reg_blob_reader *br);
/* NULL is a no-op. */
void reg_blob_reader_close(struct reg_blob_reader *br);

/* ---- upload writers ---- */

struct reg_upload_writer;

struct reg_upload_writer_ops {
        /* Append LEN bytes.  On failure the session keeps what came before
         * this call (size unchanged) and ERR says why. */
        int (*write)(struct reg_upload_writer *w, const void *data, size_t len, struct err **err);
        /* Make what was written part of the session, with its hash state,
         * and free W (even on failure). */
        int (*close)(struct reg_upload_writer *w, struct err **err);
        /* Free W without more work: the session is about to be deleted. */
        void (*discard)(struct reg_upload_writer *w);
};

/* Appends to one upload session, by one request at a time. */
struct reg_upload_writer {
        const struct reg_upload_writer_ops *ops;
        uint64_t start; /* the session's size when opened */
        uint64_t size;  /* its size now, with what this writer wrote */
};

/* upload_writer's OFFSET when the caller does not know the size. */
#define REG_UPLOAD_APPEND UINT64_MAX

/* close/discard through the writer's driver; NULL is a no-op (0). */
int reg_upload_writer_close(struct reg_upload_writer *w, struct err **err);
void reg_upload_writer_discard(struct reg_upload_writer *w);

/* Enumeration callback: ITEM is a digest string ("sha256:..."), an upload
 * id or a tag; SIZE is the blob size where it applies (else 0); MTIME the
 * record's modification time.  Returning negative stops the walk and is
 * passed back. */
typedef int (*reg_store_walk_cb)(const char *item, uint64_t size, time_t mtime, void *userdata);

/* A list of strings (tags, repository names, referrer descriptors). */
struct reg_strv {
        char **v;
        size_t n;
};
void reg_strv_free(struct reg_strv *sv);

/* Every function returns 0 on success or a negative code with ERR set.
 * "Not found" is always -ENOENT with the matching project code in ERR
 * (ERR_BLOB_UNKNOWN, ERR_MANIFEST_UNKNOWN, ERR_BLOB_UPLOAD_UNKNOWN,
 * ERR_NAME_UNKNOWN): callers test err_code(). */
struct reg_store_ops {
        /* Blobs, global and content-addressed. */
        int (*blob_stat)(struct reg_store *s, const struct digest *d, uint64_t *ret_size,
                         struct err **err);
        /* A reader on blob D (the caller closes it). */
        int (*blob_open)(struct reg_store *s, const struct digest *d,
                         struct reg_blob_reader **ret, struct err **err);
        /* Read a small blob (at most CAP bytes) into a NUL-terminated buffer. */
        int (*blob_read)(struct reg_store *s, const struct digest *d, size_t cap, char **ret_data,
                         size_t *ret_len, struct err **err);
        /* Store DATA as blob D (the caller has verified D is its digest). */
        int (*blob_put_buf)(struct reg_store *s, const struct digest *d, const void *data,
                            size_t len, struct err **err);
        /* Optional (NULL: never).  1 with *RET_URL (caller frees): a URL
         * clients may GET blob D from directly, without credentials, for a
         * while (an object store's presigned URL), for a 307 redirect; 0
         * when the bytes should be served here. */
        int (*blob_url)(struct reg_store *s, const struct digest *d, char **ret_url, struct err **err);
        /* Delete blob D and its blob -> repositories index entries. */
        int (*blob_delete)(struct reg_store *s, const struct digest *d, struct err **err);
        int (*blob_walk)(struct reg_store *s, reg_store_walk_cb cb, void *userdata,
                         struct err **err);
        /* Total bytes of blob data (approximate while writes happen). */
        int (*blob_usage)(struct reg_store *s, uint64_t *ret_bytes, struct err **err);

        /* Repositories. */
        bool (*repo_exists)(struct reg_store *s, const char *name);
        /* Every repository name, sorted (strcmp). */
        int (*repo_list)(struct reg_store *s, struct reg_strv *ret, struct err **err);

        /* Blob links of a repository. */
        int (*layer_link)(struct reg_store *s, const char *name, const struct digest *d,
                          struct err **err);
        bool (*layer_exists)(struct reg_store *s, const char *name, const struct digest *d);
        /* layer_exists that also refreshes the link's mtime when it exists,
         * so gc's grace period counts from the blob's last use (a client
         * that saw "exists" on HEAD can still PUT a manifest naming it). */
        bool (*layer_use)(struct reg_store *s, const char *name, const struct digest *d);
        int (*layer_unlink)(struct reg_store *s, const char *name, const struct digest *d,
                            struct err **err);
        int (*layer_walk)(struct reg_store *s, const char *name, reg_store_walk_cb cb,
                          void *userdata, struct err **err);

        /* Blob -> repositories index, so "who links D" needs no scan.
         * layer_link adds the entry before the link and layer_unlink removes
         * it after.  Entries may be missing (a store written before the
         * index existed) or stale (a crash between those steps): `ireg gc`
         * repairs both, and callers verify an entry with layer_exists. */
        /* Entries of D: ITEM is a repository name, MTIME the entry's. */
        int (*holder_walk)(struct reg_store *s, const struct digest *d, reg_store_walk_cb cb,
                           void *userdata, struct err **err);
        bool (*holder_exists)(struct reg_store *s, const char *name, const struct digest *d);
        /* Idempotent: 1 when the entry was created, 0 when it existed. */
        int (*holder_add)(struct reg_store *s, const char *name, const struct digest *d,
                          struct err **err);
        int (*holder_remove)(struct reg_store *s, const char *name, const struct digest *d,
                             struct err **err);

        /* Manifest revisions: the repository holds manifest D of MEDIA_TYPE
         * (whose body is blob D). */
        int (*manifest_put)(struct reg_store *s, const char *name, const struct digest *d,
                            const char *media_type, struct err **err);
        /* Media type of revision D into RET_MT (MT_LEN bytes). */
        int (*manifest_get)(struct reg_store *s, const char *name, const struct digest *d,
                            char *ret_mt, size_t mt_len, struct err **err);
        /* Remove revision D with its tags (through the reverse index). */
        int (*manifest_delete)(struct reg_store *s, const char *name, const struct digest *d,
                               struct err **err);
        int (*manifest_walk)(struct reg_store *s, const char *name, reg_store_walk_cb cb,
                             void *userdata, struct err **err);

        /* Tags. */
        int (*tag_put)(struct reg_store *s, const char *name, const char *tag,
                       const struct digest *d, struct err **err);
        int (*tag_get)(struct reg_store *s, const char *name, const char *tag,
                       struct digest *ret, struct err **err);
        int (*tag_delete)(struct reg_store *s, const char *name, const char *tag,
                          struct err **err);
        /* Sorted (strcmp) tags of the repository (ERR_NAME_UNKNOWN when the
         * repository does not exist). */
        int (*tag_list)(struct reg_store *s, const char *name, struct reg_strv *ret,
                        struct err **err);
        /* Tags pointing at D, from the reverse index (verified), sorted. */
        int (*tags_of)(struct reg_store *s, const char *name, const struct digest *d,
                       struct reg_strv *ret, struct err **err);

        /* Referrers index: manifest D (descriptor JSON DESC) refers to SUBJECT. */
        int (*referrer_add)(struct reg_store *s, const char *name, const struct digest *subject,
                            const struct digest *d, const char *desc, struct err **err);
        int (*referrer_remove)(struct reg_store *s, const char *name,
                               const struct digest *subject, const struct digest *d,
                               struct err **err);
        /* Descriptor JSON strings of SUBJECT's referrers (any order). */
        int (*referrer_list)(struct reg_store *s, const char *name, const struct digest *subject,
                             struct reg_strv *ret, struct err **err);

        /* Upload sessions. */
        /* Create a session; RET_UUID gets REG_UUID_LEN hex chars + NUL. */
        int (*upload_create)(struct reg_store *s, const char *name, char *ret_uuid,
                             struct err **err);
        /* Bytes in the session so far. */
        int (*upload_status)(struct reg_store *s, const char *name, const char *uuid,
                             uint64_t *ret_size, struct err **err);
        /* A writer appending to the session at OFFSET, which must be its
         * size (ERR_RANGE_INVALID naming both otherwise: another request or
         * replica got there first); REG_UPLOAD_APPEND skips the check.
         * The driver resumes the session's hash from its saved state. */
        int (*upload_writer)(struct reg_store *s, const char *name, const char *uuid,
                             uint64_t offset, struct reg_upload_writer **ret, struct err **err);
        /* The session's bytes are blob D: verified from the saved hash state
         * where the driver has one for D's algorithm (else by reading them
         * back), ERR_DIGEST_INVALID "uploaded content has digest X, not D"
         * when they are not (the session is left as it was).  Then they
         * become blob D (dropped when D exists), D is linked into NAME and
         * the session removed.  No writer may be open on it. */
        int (*upload_commit)(struct reg_store *s, const char *name, const char *uuid,
                             const struct digest *d, struct err **err);
        int (*upload_delete)(struct reg_store *s, const char *name, const char *uuid,
                             struct err **err);
        /* Sessions of NAME: ITEM is the uuid, SIZE its bytes, MTIME last write. */
        int (*upload_walk)(struct reg_store *s, const char *name, reg_store_walk_cb cb,
                           void *userdata, struct err **err);

        void (*free)(struct reg_store *s);
};

struct reg_store {
        const struct reg_store_ops *ops;
};

/* The filesystem driver rooted at ROOT (created if missing).  Free with
 * reg_store_free. */
struct reg_store *reg_store_fs_new(const char *root, struct err **err);

struct s3_config;

/* The S3 driver (storage-s3.c) on CFG's bucket, checked at once (one
 * error naming the endpoint and bucket when it is missing, the
 * credentials are refused or the endpoint does not answer).  REDIRECT:
 * blob GETs may answer with a presigned URL (reg_store_blob_url). */
struct reg_store *reg_store_s3_new(const struct s3_config *cfg, bool redirect, struct err **err);

/* Which driver a server runs on, from its configuration: S3 when s3 is
 * set, else the filesystem at root. */
struct reg_store_config {
        const char *root;            /* filesystem driver: the storage root */
        const struct s3_config *s3;  /* S3 driver: the bucket */
        bool s3_redirect;            /* S3 driver: redirect blob GETs */
};

/* The store CFG describes (storage.c); NULL with ERR naming it. */
struct reg_store *reg_store_new(const struct reg_store_config *cfg, struct err **err);

/* Free S through its driver; NULL is a no-op. */
void reg_store_free(struct reg_store *s);

#endif
