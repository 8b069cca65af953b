/* File-system helpers: atomic writes, bounded reads, directory trees. */
#ifndef COMMON_FSUTIL_H
#define COMMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Write LEN bytes to PATH atomically: a temp file beside it, fsync, rename,
 * fsync of the directory.  A crash leaves either the old file or the new. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err **err);

/* The same relative to directory fd DIRFD. */
int fs_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       struct err **err);

/* Read the whole file at PATH (at most CAP bytes, else ERR_SIZE_INVALID).
 * *ret_data is NUL-terminated and owned by the caller. */
int fs_read_file(const char *path, size_t cap, char **ret_data, size_t *ret_len, struct err **err);
int fs_read_file_at(int dirfd, const char *name, size_t cap, char **ret_data, size_t *ret_len,
                    struct err **err);

/* Read everything from FD (at most CAP bytes). */
int fs_read_fd(int fd, size_t cap, char **ret_data, size_t *ret_len, struct err **err);

/* Write all of BUF to FD, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *buf, size_t len, struct err **err);

/* mkdir -p with MODE for every created component. */
int fs_mkdir_p(const char *path, mode_t mode, struct err **err);

/* rm -rf PATH without following symlinks; a missing PATH is success. */
int fs_rm_rf(const char *path, struct err **err);

/* fsync the directory holding PATH (or PATH itself when it is a dir). */
int fs_fsync_dir(const char *dir, struct err **err);

/* Create a unique temp directory "DIR/PREFIXXXXXXX"; *ret_path owned by caller. */
int fs_mkdtemp_in(const char *dir, const char *prefix, char **ret_path, struct err **err);

#endif
