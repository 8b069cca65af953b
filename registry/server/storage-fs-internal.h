/* Shared by the filesystem driver's files (storage-fs.c: blobs, links,
 * manifests, tags, referrers; storage-fs-upload.c: upload sessions).
 * Not a public API: the driver is reached through storage.h. */
#ifndef REGISTRY_SERVER_STORAGE_FS_INTERNAL_H
#define REGISTRY_SERVER_STORAGE_FS_INTERNAL_H

#include "registry/server/storage.h"

struct fs_store {
        struct reg_store base;
        char *root;
        /* This boot's /proc/sys/kernel/random/boot_id, or "" when unknown:
         * saved hash states name the boot that wrote them (storage-fs-upload.c). */
        char boot_id[40];
};

#define FS(s) ((struct fs_store *) (s))
/* The hex part, from str: struct digest's own hex pointer dangles once the
 * struct has been copied by value. */
#define HEX(d) (strchr((d)->str, ':') + 1)

/* Paths under the root (storage.h's layout), newly allocated. */
char *fsd_blob_path(struct fs_store *fs, const struct digest *d);
char *fsd_repo_path(struct fs_store *fs, const char *name, const char *sub);
char *fsd_upload_path(struct fs_store *fs, const char *name, const char *uuid);
/* mkdir -p of PATH's parent. */
int fsd_mkparent(const char *path, struct err **err);
/* PATH written atomically (temp, fsync, rename), parents created. */
int fsd_write_file(const char *path, const void *data, size_t len, struct err **err);
/* The layer_link op. */
int fsd_layer_link(struct reg_store *s, const char *name, const struct digest *d, struct err **err);

/* The upload ops (storage-fs-upload.c). */
int fsd_upload_create(struct reg_store *s, const char *name, char *ret_uuid, struct err **err);
int fsd_upload_status(struct reg_store *s, const char *name, const char *uuid, uint64_t *ret_size,
                      struct err **err);
int fsd_upload_writer(struct reg_store *s, const char *name, const char *uuid, uint64_t offset,
                      struct reg_upload_writer **ret, struct err **err);
int fsd_upload_commit(struct reg_store *s, const char *name, const char *uuid, const struct digest *d,
                      struct err **err);
int fsd_upload_delete(struct reg_store *s, const char *name, const char *uuid, struct err **err);
int fsd_upload_walk(struct reg_store *s, const char *name, reg_store_walk_cb cb, void *userdata,
                    struct err **err);

#endif
