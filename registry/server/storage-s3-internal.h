/* Shared between the S3 driver's files (storage-s3.c, storage-s3-upload.c). */
#ifndef REGISTRY_SERVER_STORAGE_S3_INTERNAL_H
#define REGISTRY_SERVER_STORAGE_S3_INTERNAL_H

#include <string.h>

#include "common/err.h"
#include "registry/s3/s3.h"
#include "registry/server/storage.h"

struct s3_store {
        struct reg_store base;
        struct s3_client *c;
        bool redirect;
};

#define S3S(s) ((struct s3_store *) (s))
#define S3HEX(d) (strchr((d)->str, ':') + 1)

/* First in every function taking ERR: callers may pass NULL, but the
 * driver needs S3's error code (ENOENT or not) to answer, so ERR then
 * points at a local one, freed on return. */
#define S3D_ERR(err)                                                                                                   \
        _cleanup_err_ struct err *err##_local_ = NULL;                                                                 \
        struct err **err##_use_ __attribute__((unused)) = ((err) = (err) ? (err) : &err##_local_)

/* Map a failed s3_* call's error (R, ERR set by it) to the storage
 * contract: a missing key (ENOENT) is -ENOENT with NF_CODE and the
 * message "WHAT not found" when NF_CODE is nonzero; anything else (the
 * store unreachable, refusing, failing) is EAGAIN, which the handlers
 * answer 503, with the client's message (endpoint, bucket, key; never a
 * secret).  Returns the negative code. */
int s3d_fail(int r, struct err **err, int nf_code, const char *what);

char *s3d_blob_key(const struct digest *d);
/* Record NAME in the repository index (idempotent). */
int s3d_repo_add(struct s3_store *ss, const char *name, struct err **err);
int s3d_layer_link(struct reg_store *s, const char *name, const struct digest *d, struct err **err);

/* Every key under PREFIX (relative to the store's prefix), page by page
 * (never the whole listing in memory), to CB; its negative return stops
 * the walk and is returned (with ERR set here). */
typedef int (*s3d_key_cb)(const struct s3_list_entry *e, void *userdata);
int s3d_list_walk(struct s3_store *ss, const char *prefix, s3d_key_cb cb, void *userdata, struct err **err);

/* A reader on the object KEY (taken) of SIZE bytes (storage-s3-reader.c). */
struct reg_blob_reader *s3d_reader_new(struct s3_store *ss, char *key, uint64_t size);

int s3d_upload_create(struct reg_store *s, const char *name, char *ret_uuid, struct err **err);
int s3d_upload_status(struct reg_store *s, const char *name, const char *uuid, uint64_t *ret_size, struct err **err);
int s3d_upload_writer(struct reg_store *s, const char *name, const char *uuid, uint64_t offset,
                      struct reg_upload_writer **ret, struct err **err);
int s3d_upload_commit(struct reg_store *s, const char *name, const char *uuid, const struct digest *d,
                      struct err **err);
int s3d_upload_delete(struct reg_store *s, const char *name, const char *uuid, struct err **err);
int s3d_upload_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata, struct err **err);

#endif
