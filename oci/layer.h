/* Layer tar codec: write a filesystem change set as an OCI layer, and apply
 * a layer to a directory.
 *
 * OCI image-spec layer.md: a layer is a tar archive (optionally gzip or
 * zstd compressed) of a change set.  Deleted paths are "whiteout" entries
 * named ".wh.NAME" next to NAME; a directory whose lower content is hidden
 * carries an "opaque whiteout" entry "DIR/.wh..wh..opq".  Whiteouts apply
 * only to lower layers, never to entries of their own layer.  The diffID of
 * a layer is the sha256 of its uncompressed tar stream; the blob digest is
 * the sha256 of the bytes as stored (compressed).
 *
 * WRITING (oci_layer_write_*): PAX tar, deterministic for a given input and
 * options:
 *  - entries sorted by path, component-wise bytewise (so "a" and everything
 *    under "a/" come before "a-b"): parents always precede children;
 *  - numeric uid/gid only (uname/gname empty), no atime/ctime, mtimes in
 *    whole seconds, clamped to source_date_epoch when that is >= 0;
 *  - xattrs as "SCHILY.xattr.NAME" PAX records (overlayfs' own
 *    trusted.overlay.* / user.overlay.* and security.selinux are never
 *    written);
 *  - a second path to an already written inode becomes a tar hard link to
 *    the first path (in sorted order).
 * Tar bytes → sha256 (diffID) → compressor → sha256 (blob digest) + size →
 * the caller's output fd, in one pass.  Symlinks in the source are never
 * followed (all walking is openat/fstatat with O_NOFOLLOW).
 *
 * APPLYING (oci_layer_apply): the compression is detected from the first
 * bytes (gzip, zstd or plain tar), whatever the media type says.  Every
 * entry path is cleaned lexically; an absolute path, a ".." that climbs above
 * the root, a parent that passes through a symlink leading out of the root
 * (absolute target or ".." chain), a hard link whose target is outside the
 * root, and a whiteout naming "." / ".." are refused with ERR_UNSAFE_PATH
 * naming the entry.  Parents are resolved with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) (or RESOLVE_IN_ROOT, see symlinks_in_root) when the
 * kernel has it, otherwise with an equivalent userspace walk; the final
 * component is never followed.  Nothing outside the target directory is ever
 * created, modified or removed.  Missing parent directories are created
 * (0755, owner of the caller).  A "./" entry (the target itself) is skipped.
 */
#ifndef OCI_LAYER_H
#define OCI_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "digest/digest.h"

enum oci_layer_compression {
        OCI_LAYER_UNCOMPRESSED,
        OCI_LAYER_GZIP,
        OCI_LAYER_ZSTD,
};

/* "none", "gzip", "zstd". */
const char *oci_layer_compression_name(enum oci_layer_compression c);

/* Detect the compression of a layer from its first LEN bytes (at least 4
 * are needed for zstd, 2 for gzip): gzip 1f 8b, zstd 28 b5 2f fd, anything
 * else is taken as an uncompressed tar. */
enum oci_layer_compression oci_layer_detect_compression(const void *buf, size_t len);

/* One contiguous id range, as in /proc/PID/uid_map: ids
 * [image_id, image_id + count) inside the image are [host_id, host_id +
 * count) on the host. */
struct oci_layer_idrange {
        uint32_t image_id;
        uint32_t host_id;
        uint32_t count;
};

/* Id mapping between the host (files on disk) and the image (tar headers).
 * When `map` is set it decides: called with TO_IMAGE true while writing
 * (host id → image id) and false while applying (image id → host id); it
 * returns 0 and sets *ret_id, or a negative value to refuse the id (the
 * operation then fails with EOVERFLOW naming the path).  Otherwise the
 * ranges are used when nuid/ngid > 0 (an id outside every range fails the
 * same way); with no ranges ids pass through unchanged. */
struct oci_layer_idmap {
        int (*map)(void *userdata, bool is_gid, bool to_image, uint32_t id, uint32_t *ret_id);
        void *userdata;
        const struct oci_layer_idrange *uid_ranges;
        size_t nuid;
        const struct oci_layer_idrange *gid_ranges;
        size_t ngid;
};

/* How oci_layer_write_dir reads its source directory.  Sockets are skipped
 * (tar cannot hold them). */
enum oci_layer_source_mode {
        /* A plain tree: every file, dir, symlink, device, FIFO as found. */
        OCI_LAYER_SOURCE_TREE,
        /* An overlayfs upper dir: a char device 0/0 NAME becomes a ".wh.NAME"
         * whiteout; a dir with xattr trusted.overlay.opaque=y or
         * user.overlay.opaque=y becomes the dir plus "DIR/.wh..wh..opq".
         * Upper dirs of an overlay mounted with metacopy=on or redirect_dir=on
         * (data or names living in lower layers) are refused with
         * ERR_UNSUPPORTED: mount with metacopy=off,redirect_dir=off (as
         * "userxattr" mounts in a user namespace always are). */
        OCI_LAYER_SOURCE_OVERLAY,
};

struct oci_layer_write_opts {
        enum oci_layer_compression compression;
        /* gzip 1..9 / zstd 1..19; 0 picks the default (gzip 6, zstd 3). */
        int level;
        /* Compressor threads; 0 or 1 = one.  gzip output is the same
         * bytes for any count (1 MiB blocks, pigz-style); zstd output is the
         * same for any count >= 2 (libzstd's rule) but differs from 1. */
        int threads;
        /* Clamp every mtime to at most this (seconds); < 0 = no clamping. */
        int64_t source_date_epoch;
        enum oci_layer_source_mode source_mode;
        /* Host → image ids; NULL = unchanged. */
        const struct oci_layer_idmap *idmap;
};

/* Fill OPTS with the defaults: uncompressed, no clamping, plain tree, no
 * id mapping. */
void oci_layer_write_opts_init(struct oci_layer_write_opts *opts);

/* What a written layer is. */
struct oci_layer_result {
        struct digest diff_id;     /* sha256 of the uncompressed tar */
        struct digest blob_digest; /* sha256 of the bytes written to the fd */
        uint64_t blob_size;        /* bytes written to the fd */
        uint64_t tar_size;         /* bytes of uncompressed tar */
        uint64_t entries;          /* tar entries written (incl. whiteouts) */
};

/* Write the whole tree under directory DIRFD/PATH (PATH may be "." or
 * absolute; DIRFD may be AT_FDCWD) as a layer to OUT_FD, whose paths are
 * relative to that directory (the directory itself is not an entry).  OUT_FD
 * is written sequentially from its current position and left open.  On
 * success fills *ret_result.  Errors name the host path involved. */
int oci_layer_write_dir(int dirfd, const char *path, const struct oci_layer_write_opts *opts, int out_fd,
                        struct oci_layer_result *ret_result, struct err **err);

/* One item of an explicit entry list (what COPY/ADD produce). */
struct oci_layer_entry {
        /* Path inside the image ("app/bin/x"; a leading "/" or "./" is
         * ignored; no ".." allowed). */
        const char *path;
        /* Source on disk (opened relative to src_dirfd, never following a
         * final symlink: a symlink source becomes a symlink entry).  NULL
         * makes a directory entry that has no source (mode 0755 unless
         * overridden, owner 0:0 unless overridden, mtime 0 or
         * source_date_epoch). */
        const char *src;
        int src_dirfd; /* AT_FDCWD for paths relative to the cwd */
        /* When the source is a directory: also add everything beneath it,
         * under PATH, with the same overrides. */
        bool recursive;
        /* Overrides: -1 keeps the source's (mapped) value.  MODE is the
         * permission bits incl. setuid/setgid/sticky (07777). */
        int64_t uid;
        int64_t gid;
        int32_t mode;
};

/* Initialise E with no overrides, src_dirfd = AT_FDCWD. */
void oci_layer_entry_init(struct oci_layer_entry *e);

/* Write a layer from N explicit entries.  Missing parent directories of
 * every path are added as 0755 root-owned directory entries (mtime 0 or
 * source_date_epoch), as Docker's COPY does.  A path given twice is an
 * EINVAL error naming it.  opts->source_mode applies to recursive
 * directory sources.  Otherwise as oci_layer_write_dir. */
int oci_layer_write_entries(const struct oci_layer_entry *entries, size_t n, const struct oci_layer_write_opts *opts,
                            int out_fd, struct oci_layer_result *ret_result, struct err **err);

/* ---- Applying ---- */

enum oci_layer_chown_mode {
        /* Try to chown; EPERM/EINVAL (not root, id unmapped in our user
         * namespace) is tolerated and counted in the warnings. */
        OCI_LAYER_CHOWN_AUTO,
        /* Always chown; failure fails the apply. */
        OCI_LAYER_CHOWN_REQUIRE,
        /* Never chown (files belong to the caller). */
        OCI_LAYER_CHOWN_SKIP,
};

enum oci_layer_whiteout_mode {
        /* Remove what whiteouts name (the normal way to build a rootfs). */
        OCI_LAYER_WHITEOUT_DELETE,
        /* Build an overlayfs lower dir: ".wh.NAME" becomes a char device 0/0
         * NAME and an opaque marker sets trusted.overlay.opaque=y on DIR
         * (user.overlay.opaque=y with OCI_LAYER_WHITEOUT_OVERLAY_USER, for
         * overlay mounted with "userxattr" in a user namespace). */
        OCI_LAYER_WHITEOUT_OVERLAY,
        OCI_LAYER_WHITEOUT_OVERLAY_USER,
};

struct oci_layer_apply_opts {
        enum oci_layer_chown_mode chown;
        enum oci_layer_whiteout_mode whiteouts;
        /* Image → host ids; NULL = unchanged. */
        const struct oci_layer_idmap *idmap;
        /* Refuse to go on after this many warnings (0 = unlimited). */
        size_t max_warnings;
        /* Parent directories that pass through a symlink: by default only
         * symlinks that stay beneath the target are followed, and an absolute
         * symlink or a ".." above the target refuses the entry
         * (RESOLVE_BENEATH).  With symlinks_in_root they are resolved as if
         * the target were "/" (RESOLVE_IN_ROOT: "/x" means TARGET/x, ".." at
         * the target stays there), as containerd does; nothing escapes
         * either way. */
        bool symlinks_in_root;
        /* Testing only: never use openat2, always the userspace walk. */
        bool no_openat2;
        /* When set, the diffID computed while reading must equal this; a
         * mismatch fails with ERR_DIGEST_INVALID (after extraction: the
         * caller must discard the directory). */
        const struct digest *expect_diff_id;
};

/* Defaults: chown AUTO, whiteouts DELETE, no id mapping. */
void oci_layer_apply_opts_init(struct oci_layer_apply_opts *opts);

/* Things that were skipped without failing (device node without
 * privilege, xattr not permitted, chown not permitted). */
struct oci_layer_warning {
        char *path;    /* entry path in the archive */
        char *message; /* "device node not created: Operation not permitted" */
};

struct oci_layer_apply_result {
        struct digest diff_id;     /* sha256 of the decompressed tar stream */
        struct digest blob_digest; /* sha256 of the bytes read from the fd */
        uint64_t blob_size;
        uint64_t tar_size;
        enum oci_layer_compression compression; /* as detected */
        uint64_t entries;
        struct oci_layer_warning *warnings; /* owned; free with _result_free */
        size_t nwarnings;
};

/* Apply the layer read from IN_FD (read to its end) onto directory
 * TARGET_DIRFD (which the caller opened; it is not closed).  *ret_result
 * (filled only on success) must be released with
 * oci_layer_apply_result_free.  On failure the directory may hold part of
 * the layer (never anything outside it); the error names the entry.
 * Hostile input fails with ERR_UNSAFE_PATH; a malformed archive with
 * EINVAL/ERR_UNSUPPORTED. */
int oci_layer_apply(int in_fd, int target_dirfd, const struct oci_layer_apply_opts *opts,
                    struct oci_layer_apply_result *ret_result, struct err **err);

/* The same with a target path (created if missing, as one directory). */
int oci_layer_apply_path(int in_fd, const char *target, const struct oci_layer_apply_opts *opts,
                         struct oci_layer_apply_result *ret_result, struct err **err);

/* Free what a result owns (not the struct itself).  NULL is a no-op. */
void oci_layer_apply_result_free(struct oci_layer_apply_result *r);

#endif
