/* Snapshot dirs: unpacking layers into them and committing upper dirs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/snapshot/snapshot.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

char *
build_snapshot_path(const char *root, const struct digest *diff_id)
{
        return xasprintf("%s/%s", root, diff_id->hex);
}

static bool
is_dir(const char *p)
{
        struct stat st;

        return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Results travel from the namespace helper over a pipe as a small text:
 * "diffid D\n" "digest D\n" "size N\n" and "warning W\n" lines. */
static void
put_line(int fd, const char *key, const char *val)
{
        _cleanup_free_ char *line = xasprintf("%s %s\n", key, val);
        struct err *e = NULL;

        /* Newlines inside a value would split it: flatten them. */
        for (char *p = line + strlen(key) + 1; *p && p[1]; p++)
                if (*p == '\n')
                        *p = ' ';
        fs_write_all(fd, line, strlen(line), &e);
        err_clear(&e);
}

static const char *
get_line(const char *text, const char *key, char *buf, size_t len)
{
        size_t klen = strlen(key);

        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);

                if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
                        snprintf(buf, len, "%.*s", (int) (n - klen - 1), p + klen + 1);
                        return buf;
                }
                p = eol ? eol + 1 : NULL;
        }
        return NULL;
}

struct unpack_arg {
        const char *layer_path;
        const char *dest;
        int out_fd;
};

static int
unpack_fn(void *p, struct err **err)
{
        struct unpack_arg *a = p;
        struct oci_layer_apply_opts opts;
        struct oci_layer_apply_result res;
        _cleanup_close_ int in = open(a->layer_path, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dfd = -1;
        char size[32];
        int r;

        if (in < 0)
                return err_set(err, errno, "open %s: %s", a->layer_path, strerror(errno));
        dfd = open(a->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return err_set(err, errno, "open %s: %s", a->dest, strerror(errno));
        oci_layer_apply_opts_init(&opts);
        /* Lower dirs of an overlay mounted with "userxattr" in a user
         * namespace: whiteouts stay whiteouts, opaque markers become
         * user.overlay.opaque.  Ownership is in-image ids as seen here. */
        opts.whiteouts = OCI_LAYER_WHITEOUT_OVERLAY_USER;
        opts.chown = OCI_LAYER_CHOWN_AUTO;
        r = oci_layer_apply(in, dfd, &opts, &res, err);
        if (r < 0)
                return r;
        put_line(a->out_fd, "diffid", res.diff_id.str);
        snprintf(size, sizeof(size), "%llu", (unsigned long long) res.blob_size);
        put_line(a->out_fd, "size", size);
        for (size_t i = 0; i < res.nwarnings; i++) {
                _cleanup_free_ char *w = xasprintf("%s: %s", res.warnings[i].path, res.warnings[i].message);
                put_line(a->out_fd, "warning", w);
        }
        oci_layer_apply_result_free(&res);
        return 0;
}

/* Run FN in MAP's namespace and collect what it writes to *OUT_FD: a
 * memfd, so a chatty child never blocks on a full pipe. */
static int
call_collect(const struct build_idmap *map, int (*fn)(void *, struct err **), void *arg, int *out_fd,
             char **ret_text, struct err **err)
{
        _cleanup_close_ int fd = memfd_create("ibuild-snapshot-result", MFD_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (fd < 0)
                return err_set(err, errno, "memfd_create: %s", strerror(errno));
        *out_fd = fd;
        r = build_idmap_call(map, fn, arg, err);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return err_set(err, errno, "lseek: %s", strerror(errno));
        r = fs_read_fd(fd, 1024 * 1024, &text, &len, err);
        if (r < 0)
                return r;
        *ret_text = steal_ptr(&text);
        return 0;
}

static int
remove_fn(void *p, struct err **err)
{
        return fs_rm_rf(p, err);
}

int
build_snapshot_remove(const struct build_idmap *map, const char *dir, struct err **err)
{
        struct stat st;

        if (lstat(dir, &st) < 0 && errno == ENOENT)
                return 0;
        return build_idmap_call(map, remove_fn, (void *) dir, err);
}

int
build_snapshot_unpack(const struct build_idmap *map, const char *root, const char *layer_path,
                      const struct digest *diff_id, char **ret_dir, char **ret_warnings, struct err **err)
{
        _cleanup_free_ char *tmp = NULL, *text = NULL, *dest = NULL, *warnings = NULL;
        struct unpack_arg a = {.layer_path = layer_path};
        char buf[1024];
        struct digest got;
        int r;

        if (diff_id) {
                dest = build_snapshot_path(root, diff_id);
                if (is_dir(dest)) {
                        *ret_dir = steal_ptr(&dest);
                        *ret_warnings = NULL;
                        return 0;
                }
        }
        r = fs_mkdir_p(root, 0700, err);
        if (r < 0)
                return r;
        r = fs_mkdtemp_in(root, ".unpack-", &tmp, err);
        if (r < 0)
                return r;
        chmod(tmp, 0755);
        a.dest = tmp;
        r = call_collect(map, unpack_fn, &a, &a.out_fd, &text, err);
        if (r < 0)
                goto fail;
        if (!get_line(text, "diffid", buf, sizeof(buf)) || digest_parse(buf, &got, err) < 0) {
                r = err_set(err, EIO, "unpacking %s: no diffID reported", layer_path);
                goto fail;
        }
        if (diff_id && strcmp(got.str, diff_id->str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "layer %s: diffID is %s, expected %s", layer_path, got.str,
                            diff_id->str);
                goto fail;
        }
        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);
                if (n > 8 && strncmp(p, "warning ", 8) == 0) {
                        char *w = warnings ? xasprintf("%s\n%.*s", warnings, (int) (n - 8), p + 8)
                                           : xasprintf("%.*s", (int) (n - 8), p + 8);
                        free(warnings);
                        warnings = w;
                }
                p = eol ? eol + 1 : NULL;
        }
        free(dest);
        dest = build_snapshot_path(root, &got);
        if (rename(tmp, dest) < 0) {
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        r = err_set(err, errno, "rename %s to %s: %s", tmp, dest, strerror(errno));
                        goto fail;
                }
                /* Someone unpacked the same layer meanwhile: keep theirs. */
                build_snapshot_remove(map, tmp, NULL);
        }
        *ret_dir = steal_ptr(&dest);
        *ret_warnings = steal_ptr(&warnings);
        return 0;
fail:
        build_snapshot_remove(map, tmp, NULL);
        return err_prefix(err, "unpacking %s", layer_path);
}

int
build_snapshot_new_step(const char *root, char **ret_step, char **ret_upper, char **ret_work, struct err **err)
{
        _cleanup_free_ char *step = NULL, *upper = NULL, *work = NULL;
        int r;

        r = fs_mkdir_p(root, 0700, err);
        if (r < 0)
                return r;
        r = fs_mkdtemp_in(root, ".step-", &step, err);
        if (r < 0)
                return r;
        chmod(step, 0755);
        upper = xasprintf("%s/upper", step);
        work = xasprintf("%s/work", step);
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
                r = err_set(err, errno, "creating %s: %s", upper, strerror(errno));
                fs_rm_rf(step, NULL);
                return r;
        }
        *ret_step = steal_ptr(&step);
        *ret_upper = steal_ptr(&upper);
        *ret_work = steal_ptr(&work);
        return 0;
}

struct commit_arg {
        const char *upper;
        const struct oci_layer_write_opts *opts;
        int layer_fd;
        int out_fd;
};

static int
commit_fn(void *p, struct err **err)
{
        struct commit_arg *a = p;
        struct oci_layer_write_opts opts;
        struct oci_layer_result res;
        char size[32];
        int r;

        if (a->opts)
                opts = *a->opts;
        else
                oci_layer_write_opts_init(&opts);
        opts.source_mode = OCI_LAYER_SOURCE_OVERLAY;
        /* Inside the namespace stat() already shows in-image ids. */
        r = oci_layer_write_dir(AT_FDCWD, a->upper, &opts, a->layer_fd, &res, err);
        if (r < 0)
                return r;
        put_line(a->out_fd, "diffid", res.diff_id.str);
        put_line(a->out_fd, "digest", res.blob_digest.str);
        snprintf(size, sizeof(size), "%llu", (unsigned long long) res.blob_size);
        put_line(a->out_fd, "size", size);
        return 0;
}

int
build_snapshot_commit(const struct build_idmap *map, const char *upper, const char *root,
                      const struct oci_layer_write_opts *opts, int out_fd, struct build_snapshot_layer *ret_layer,
                      struct err **err)
{
        struct commit_arg a = {.upper = upper, .opts = opts, .layer_fd = out_fd};
        struct build_snapshot_layer l = {0};
        _cleanup_free_ char *text = NULL;
        char buf[256];
        int r;

        r = call_collect(map, commit_fn, &a, &a.out_fd, &text, err);
        if (r < 0)
                return err_prefix(err, "writing layer from %s", upper);
        if (!get_line(text, "diffid", buf, sizeof(buf)) || digest_parse(buf, &l.diff_id, err) < 0 ||
            !get_line(text, "digest", buf, sizeof(buf)) || digest_parse(buf, &l.blob_digest, err) < 0 ||
            !get_line(text, "size", buf, sizeof(buf)))
                return err_set(err, EIO, "writing layer from %s: incomplete result", upper);
        l.blob_size = strtoull(buf, NULL, 10);
        if (root) {
                _cleanup_free_ char *dest = build_snapshot_path(root, &l.diff_id);

                /* The upper dir becomes the next step's lower: whiteouts and
                 * opaque xattrs written by overlayfs work the same there. */
                if (rename(upper, dest) < 0) {
                        if (errno != EEXIST && errno != ENOTEMPTY)
                                return err_set(err, errno, "keeping %s as snapshot %s: %s", upper, dest,
                                               strerror(errno));
                        r = build_snapshot_remove(map, upper, err);
                        if (r < 0)
                                return r;
                }
                l.snapshot_dir = steal_ptr(&dest);
        }
        *ret_layer = l;
        return 0;
}
