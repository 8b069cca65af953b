/* OCI image layout: the directory itself (create/open) and its blobs.
 *
 * image-spec image-layout.md: a layout is a directory with an `oci-layout`
 * file ({"imageLayoutVersion": "1.0.0"}), an `index.json` image index, and a
 * `blobs` directory where the blob with digest <alg>:<encoded> lives at
 * blobs/<alg>/<encoded>.  The blobs directory MAY hold unreferenced blobs, so
 * our temp files (blobs/.tmp-*) and unreferenced leftovers are legal.
 */
#include "oci/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/layout-internal.h"
#include "oci/mediatype.h"

#define LAYOUT_FILE "oci-layout"
#define INDEX_FILE "index.json"

struct oci_blob_writer {
        struct oci_layout *layout; /* borrowed */
        int fd;
        char *tmpname; /* relative to the layout dir */
        struct digest_ctx *ctx;
        enum digest_alg alg;
        bool raw;       /* the fd was handed out: bytes bypassed the hash */
        bool finalized; /* ctx is final: its result is in `final` */
        struct digest final;
        uint64_t final_size;
};

static int
dir_fsync_at(int dirfd, const char *name)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

static int
mkdir_at(int dirfd, const char *name, const char *shown, struct err **err)
{
        if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s/%s: %s", shown, name, strerror(errno));
        return 0;
}

static int
check_layout_file(int dirfd, const char *path, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        json_t *root, *v;
        json_error_t jerr;
        int r;

        r = fs_read_file_at(dirfd, LAYOUT_FILE, LIMIT_JSON_SIZE, &data, NULL, err);
        if (r < 0)
                return err_prefix(err, "%s is not an OCI image layout", path);
        root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return err_set(err, ERR_MANIFEST_INVALID, "%s/%s: line %d column %d: %s", path, LAYOUT_FILE, jerr.line,
                               jerr.column, jerr.text);
        v = json_object_get(root, "imageLayoutVersion");
        if (!json_is_object(root) || !json_is_string(v)) {
                json_decref(root);
                return err_set(err, ERR_MANIFEST_INVALID, "%s/%s: no imageLayoutVersion string", path, LAYOUT_FILE);
        }
        /* Every 1.x layout is readable by a 1.0.0 reader: the spec only adds
         * optional content within a major version. */
        if (strncmp(json_string_value(v), "1.", 2) != 0) {
                r = err_set(err, ERR_UNSUPPORTED, "%s/%s: unsupported imageLayoutVersion \"%s\" (want 1.x)", path,
                            LAYOUT_FILE, json_string_value(v));
                json_decref(root);
                return r;
        }
        json_decref(root);
        return 0;
}

/* Create NAME in DIRFD with DATA unless it exists: written to a temp file,
 * fsync'd, then hard-linked into place (link never replaces, so a
 * concurrent creator's file, maybe already modified, is kept). */
static int
write_new_at(int dirfd, const char *shown, const char *name, const char *data, struct err **err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        unsigned char rnd[8];
        char hex[sizeof(rnd) * 2 + 1];
        struct stat st;
        int r;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return err_set(err, errno ? errno : EIO, "getrandom: %s", strerror(errno));
        digest_hex(rnd, sizeof(rnd), hex);
        tmp = xasprintf(".tmp-%s.%s", name, hex);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return err_set(err, errno, "create %s/%s: %s", shown, tmp, strerror(errno));
        r = fs_write_all(fd, data, strlen(data), err);
        if (r == 0 && fsync(fd) < 0)
                r = err_set(err, errno, "fsync %s/%s: %s", shown, tmp, strerror(errno));
        if (r == 0 && linkat(dirfd, tmp, dirfd, name, 0) < 0 && errno != EEXIST)
                r = err_set(err, errno, "link %s/%s: %s", shown, name, strerror(errno));
        unlinkat(dirfd, tmp, 0);
        if (r < 0)
                return err_prefix(err, "writing %s/%s", shown, name);
        (void) fsync(dirfd);
        return 0;
}

static struct oci_layout *
layout_new(const char *path, int dirfd)
{
        struct oci_layout *l = xcalloc(1, sizeof(*l));

        l->path = xstrdup(path);
        l->dirfd = dirfd;
        return l;
}

int
oci_layout_open(const char *path, struct oci_layout **ret_layout, struct err **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0)
                return err_set(err, errno, "open OCI layout %s: %s", path, strerror(errno));
        r = check_layout_file(fd, path, err);
        if (r < 0)
                return r;
        if (fstatat(fd, "blobs", &st, 0) < 0 || !S_ISDIR(st.st_mode))
                return err_set(err, ERR_MANIFEST_INVALID, "%s is not an OCI image layout: no blobs directory", path);
        if (fstatat(fd, INDEX_FILE, &st, 0) < 0)
                return err_set(err, ERR_MANIFEST_INVALID, "%s is not an OCI image layout: no %s", path, INDEX_FILE);
        *ret_layout = layout_new(path, steal_fd(&fd));
        return 0;
}

int
oci_layout_create(const char *path, struct oci_layout **ret_layout, struct err **err)
{
        static const char layout_json[] = "{\"imageLayoutVersion\":\"" OCI_LAYOUT_VERSION "\"}";
        static const char index_json[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}";
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = fs_mkdir_p(path, 0755, err);
        if (r < 0)
                return err_prefix(err, "creating OCI layout %s", path);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "open %s: %s", path, strerror(errno));

        if (fstatat(fd, LAYOUT_FILE, &st, 0) == 0) {
                /* An existing layout is opened, never clobbered. */
                r = check_layout_file(fd, path, err);
                if (r < 0)
                        return r;
        } else if (errno != ENOENT) {
                return err_set(err, errno, "stat %s/%s: %s", path, LAYOUT_FILE, strerror(errno));
        }
        if (mkdir_at(fd, "blobs", path, err) < 0 || mkdir_at(fd, "blobs/sha256", path, err) < 0)
                return err_prefix(err, "creating OCI layout %s", path);
        /* index.json first: a directory with oci-layout is a layout, so the
         * marker is written last and a crash leaves no half layout. */
        r = write_new_at(fd, path, INDEX_FILE, index_json, err);
        if (r == 0)
                r = write_new_at(fd, path, LAYOUT_FILE, layout_json, err);
        if (r < 0)
                return err_prefix(err, "creating OCI layout %s", path);
        *ret_layout = layout_new(path, steal_fd(&fd));
        return 0;
}

void
oci_layout_free(struct oci_layout *layout)
{
        if (!layout)
                return;
        if (layout->dirfd >= 0)
                close(layout->dirfd);
        free(layout->path);
        free(layout);
}

const char *
oci_layout_path(const struct oci_layout *layout)
{
        return layout->path;
}

int
oci_layout_dirfd(const struct oci_layout *layout)
{
        return layout->dirfd;
}

char *
oci_layout_blob_relpath(const struct digest *d)
{
        return xasprintf("blobs/%s/%s", digest_alg_name(d->alg), d->hex);
}

char *
oci_layout_blob_path(const struct oci_layout *layout, const struct digest *d)
{
        return xasprintf("%s/blobs/%s/%s", layout->path, digest_alg_name(d->alg), d->hex);
}

int
oci_layout_stat_blob(const struct oci_layout *layout, const struct digest *d, uint64_t *ret_size, struct err **err)
{
        _cleanup_free_ char *rel = oci_layout_blob_relpath(d);
        struct stat st;

        if (fstatat(layout->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not in %s", d->str, layout->path);
                return err_set(err, errno, "stat %s/%s: %s", layout->path, rel, strerror(errno));
        }
        if (!S_ISREG(st.st_mode))
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s in %s is not a regular file", d->str, layout->path);
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        return 0;
}

bool
oci_layout_has_blob(const struct oci_layout *layout, const struct digest *d)
{
        return oci_layout_stat_blob(layout, d, NULL, NULL) == 0;
}

int
oci_layout_open_blob(const struct oci_layout *layout, const struct digest *d, int *ret_fd, uint64_t *ret_size,
                     struct err **err)
{
        _cleanup_free_ char *rel = oci_layout_blob_relpath(d);
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* O_NOFOLLOW: a blob is a plain file; a symlink planted in blobs/
         * must not make us read something outside the layout. */
        fd = openat(layout->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return err_set(err, ERR_BLOB_UNKNOWN, "blob %s not in %s", d->str, layout->path);
                return err_set(err, errno, "open %s/%s: %s", layout->path, rel, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return err_set(err, errno, "stat %s/%s: %s", layout->path, rel, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return err_set(err, ERR_BLOB_UNKNOWN, "blob %s in %s is not a regular file", d->str, layout->path);
        if (ret_size)
                *ret_size = (uint64_t) st.st_size;
        *ret_fd = steal_fd(&fd);
        return 0;
}

int
oci_layout_read_blob(const struct oci_layout *layout, const struct digest *d, size_t cap, char **ret_data,
                     size_t *ret_len, struct err **err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *data = NULL;
        struct digest got;
        uint64_t size;
        size_t len;
        int r;

        r = oci_layout_open_blob(layout, d, &fd, &size, err);
        if (r < 0)
                return r;
        if (size > cap)
                return err_set(err, ERR_SIZE_INVALID, "blob %s in %s: %llu bytes is over the limit of %zu", d->str,
                               layout->path, (unsigned long long) size, cap);
        r = fs_read_fd(fd, cap, &data, &len, err);
        if (r < 0)
                return err_prefix(err, "reading blob %s in %s", d->str, layout->path);
        /* Content addressing is only worth something when checked. */
        digest_buffer(d->alg, data, len, &got);
        if (strcmp(got.str, d->str) != 0)
                return err_set(err, ERR_DIGEST_INVALID, "blob %s in %s is corrupt: its content hashes to %s", d->str,
                               layout->path, got.str);
        *ret_data = steal_ptr(&data);
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* Bump an existing blob's mtime so a concurrent garbage collection's grace
 * period protects it until the caller has referenced it. */
static void
touch_blob(const struct oci_layout *layout, const char *rel)
{
        (void) utimensat(layout->dirfd, rel, NULL, AT_SYMLINK_NOFOLLOW);
}

int
oci_layout_refresh_blob(const struct oci_layout *layout, const struct digest *d, uint64_t *ret_size, struct err **err)
{
        _cleanup_free_ char *rel = oci_layout_blob_relpath(d);
        uint64_t size;
        int r;

        r = oci_layout_stat_blob(layout, d, &size, err);
        if (r < 0)
                return r;
        touch_blob(layout, rel);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int
oci_layout_blob_writer_new(struct oci_layout *layout, enum digest_alg alg, struct oci_blob_writer **ret_writer,
                           struct err **err)
{
        _cleanup_free_ char *alg_dir = xasprintf("blobs/%s", digest_alg_name(alg));
        struct oci_blob_writer *w;
        unsigned char rnd[8];
        char hex[sizeof(rnd) * 2 + 1];
        int fd = -1, r;

        r = mkdir_at(layout->dirfd, alg_dir, layout->path, err);
        if (r < 0)
                return r;
        for (int tries = 0; tries < 16 && fd < 0; tries++) {
                _cleanup_free_ char *name = NULL;

                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                        return err_set(err, errno ? errno : EIO, "getrandom: %s", strerror(errno));
                digest_hex(rnd, sizeof(rnd), hex);
                name = xasprintf("blobs/" OCI_LAYOUT_TMP_PREFIX "%s", hex);
                fd = openat(layout->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0 && errno != EEXIST)
                        return err_set(err, errno, "create %s/%s: %s", layout->path, name, strerror(errno));
                if (fd >= 0) {
                        w = xcalloc(1, sizeof(*w));
                        w->layout = layout;
                        w->fd = fd;
                        w->tmpname = steal_ptr(&name);
                        w->alg = alg;
                        w->ctx = digest_ctx_new(alg);
                        *ret_writer = w;
                        return 0;
                }
        }
        return err_set(err, EEXIST, "no free temp name in %s/blobs", layout->path);
}

int
oci_blob_writer_write(struct oci_blob_writer *w, const void *data, size_t len, struct err **err)
{
        int r;

        if (w->tmpname == NULL || w->finalized)
                return err_set(err, EINVAL, "blob writer already committed");
        r = fs_write_all(w->fd, data, len, err);
        if (r < 0)
                return err_prefix(err, "writing %s/%s", w->layout->path, w->tmpname);
        digest_ctx_update(w->ctx, data, len);
        return 0;
}

int
oci_blob_writer_fd(struct oci_blob_writer *w)
{
        w->raw = true;
        return w->fd;
}

uint64_t
oci_blob_writer_size(const struct oci_blob_writer *w)
{
        return digest_ctx_size(w->ctx);
}

/* Hash the temp file from the start: used when bytes went through the raw
 * fd and so bypassed the running hash. */
static int
rehash(struct oci_blob_writer *w, struct digest *ret, uint64_t *ret_size, struct err **err)
{
        _cleanup_close_ int fd = openat(w->layout->dirfd, w->tmpname, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(err, errno, "open %s/%s: %s", w->layout->path, w->tmpname, strerror(errno));
        return digest_fd(w->alg, fd, ret, ret_size, err);
}

int
oci_blob_writer_commit(struct oci_blob_writer *w, const struct digest *expected, int64_t expected_size,
                       struct digest *ret_digest, uint64_t *ret_size, struct err **err)
{
        struct oci_layout *layout = w->layout;
        _cleanup_free_ char *rel = NULL;
        struct digest got;
        uint64_t size;
        struct stat st;
        int r;

        if (w->tmpname == NULL)
                return err_set(err, EINVAL, "blob writer already committed");
        if (expected && expected->alg != w->alg)
                return err_set(err, ERR_DIGEST_INVALID, "expected digest %s does not use the writer's %s",
                               expected->str, digest_alg_name(w->alg));
        if (w->raw) {
                r = rehash(w, &got, &size, err);
                if (r < 0)
                        return r;
        } else {
                /* A commit that failed may be retried (or writing went on
                 * after it); the context is finished only once. */
                if (!w->finalized) {
                        w->final_size = digest_ctx_size(w->ctx);
                        digest_ctx_final(w->ctx, &w->final);
                        w->finalized = true;
                }
                size = w->final_size;
                got = w->final;
        }
        if (expected_size >= 0 && size != (uint64_t) expected_size)
                return err_set(err, ERR_SIZE_INVALID, "blob %s: expected %lld bytes, got %llu",
                               expected ? expected->str : got.str, (long long) expected_size,
                               (unsigned long long) size);
        if (expected && strcmp(expected->str, got.str) != 0)
                return err_set(err, ERR_DIGEST_INVALID, "blob content does not match %s: it hashes to %s",
                               expected->str, got.str);
        if (fsync(w->fd) < 0)
                return err_set(err, errno, "fsync %s/%s: %s", layout->path, w->tmpname, strerror(errno));

        rel = oci_layout_blob_relpath(&got);
        /* An existing blob of the right size has the same content (same
         * digest): keep it and drop ours.  A wrong-size one is corrupt and
         * is replaced. */
        if (fstatat(layout->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (uint64_t) st.st_size == size) {
                touch_blob(layout, rel);
                unlinkat(layout->dirfd, w->tmpname, 0);
        } else {
                if (renameat(layout->dirfd, w->tmpname, layout->dirfd, rel) < 0)
                        return err_set(err, errno, "rename %s/%s to %s: %s", layout->path, w->tmpname, rel,
                                       strerror(errno));
                {
                        _cleanup_free_ char *alg_dir = xasprintf("blobs/%s", digest_alg_name(got.alg));
                        (void) dir_fsync_at(layout->dirfd, alg_dir);
                }
        }
        free(w->tmpname);
        w->tmpname = NULL;
        if (ret_digest)
                *ret_digest = got;
        if (ret_size)
                *ret_size = size;
        return 0;
}

void
oci_blob_writer_free(struct oci_blob_writer *w)
{
        if (!w)
                return;
        if (w->tmpname) {
                unlinkat(w->layout->dirfd, w->tmpname, 0);
                free(w->tmpname);
        }
        if (w->fd >= 0)
                close(w->fd);
        digest_ctx_free(w->ctx);
        free(w);
}

int
oci_layout_add_blob(struct oci_layout *layout, const void *data, size_t len, const struct digest *expected,
                    struct digest *ret_digest, struct err **err)
{
        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
        _cleanup_free_ char *rel = NULL;
        struct digest got;
        struct stat st;
        int r;

        digest_buffer(expected ? expected->alg : DIGEST_SHA256, data, len, &got);
        if (expected && strcmp(expected->str, got.str) != 0)
                return err_set(err, ERR_DIGEST_INVALID, "blob content does not match %s: it hashes to %s",
                               expected->str, got.str);
        /* Fast path: already there (same digest and size). */
        rel = oci_layout_blob_relpath(&got);
        if (fstatat(layout->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (uint64_t) st.st_size == len) {
                touch_blob(layout, rel);
        } else {
                r = oci_layout_blob_writer_new(layout, got.alg, &w, err);
                if (r < 0)
                        return r;
                r = oci_blob_writer_write(w, data, len, err);
                if (r < 0)
                        return r;
                r = oci_blob_writer_commit(w, &got, (int64_t) len, NULL, NULL, err);
                if (r < 0)
                        return r;
        }
        if (ret_digest)
                *ret_digest = got;
        return 0;
}

int
oci_layout_add_blob_fd(struct oci_layout *layout, int fd, const struct digest *expected, int64_t expected_size,
                       struct digest *ret_digest, uint64_t *ret_size, struct err **err)
{
        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
        _cleanup_free_ char *buf = xmalloc(128 * 1024);
        uint64_t total = 0;
        int r;

        r = oci_layout_blob_writer_new(layout, expected ? expected->alg : DIGEST_SHA256, &w, err);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n = read(fd, buf, 128 * 1024);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, errno, "read blob source: %s", strerror(errno));
                }
                if (n == 0)
                        break;
                total += (uint64_t) n;
                /* Stop a source that is longer than promised early. */
                if (expected_size >= 0 && total > (uint64_t) expected_size)
                        return err_set(err, ERR_SIZE_INVALID, "blob %s: more than the expected %lld bytes",
                                       expected ? expected->str : "(unknown digest)", (long long) expected_size);
                r = oci_blob_writer_write(w, buf, (size_t) n, err);
                if (r < 0)
                        return r;
        }
        return oci_blob_writer_commit(w, expected, expected_size, ret_digest, ret_size, err);
}
