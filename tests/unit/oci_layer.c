/* oci/layer: write/apply round trips, determinism, whiteouts, entry lists,
 * overlay upper dirs, and hostile archives (which must never touch a
 * sentinel outside the target). */
#include "tests/unit/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include "common/fsutil.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "oci/layer-internal.h"
#include "oci/layer.h"

/* ---- helpers ---- */

static char *
tmpdir(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        char *p = xasprintf("%s/oci-layer-test.XXXXXX", base);

        if (!mkdtemp(p))
                fail_msg("mkdtemp: %s", strerror(errno));
        return p;
}

static void
rmtree(const char *p)
{
        struct err *e = NULL;

        if (fs_rm_rf(p, &e) < 0)
                fail_msg("rm -rf %s: %s", p, err_msg(&e));
}

static void
put(const char *dir, const char *name, const char *content, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void
mkd(const char *dir, const char *name, mode_t mode)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);

        assert_int_equal(mkdir(p, mode), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static void
settime(const char *dir, const char *name, time_t t)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct timespec ts[2] = { { t, 0 }, { t, 0 } };

        assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static bool
exists(const char *dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct stat st;

        return lstat(p, &st) == 0;
}

static char *
slurp(const char *dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        char *data = NULL;
        size_t len;
        struct err *e = NULL;

        if (fs_read_file(p, 1 << 20, &data, &len, &e) < 0)
                fail_msg("read %s: %s", p, err_msg(&e));
        return data;
}

/* A listing of everything under DIR: one line per object with type, mode,
 * owner, size, mtime (seconds), content digest / link target, link count
 * and xattrs, sorted.  Two trees are "identical" when listings match. */
static void
list_rec(int dfd, const char *rel, char **out, size_t *len)
{
        DIR *d = fdopendir(dfd);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                struct stat st;
                _cleanup_free_ char *path = NULL, *extra = NULL, *xl = NULL, *line = NULL;
                char names[4096], val[1024];
                ssize_t nl;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                path = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                assert_int_equal(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
                if (S_ISREG(st.st_mode)) {
                        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
                        struct digest dg;
                        uint64_t sz;
                        struct err *e = NULL;

                        assert_true(fd >= 0);
                        assert_int_equal(digest_fd(DIGEST_SHA256, fd, &dg, &sz, &e), 0);
                        close(fd);
                        extra = xstrdup(dg.hex);
                } else if (S_ISLNK(st.st_mode)) {
                        char t[4096];
                        ssize_t n = readlinkat(dirfd(d), de->d_name, t, sizeof(t) - 1);
                        assert_true(n >= 0);
                        t[n] = 0;
                        extra = xasprintf("-> %s", t);
                } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                        extra = xasprintf("dev %u,%u", major(st.st_rdev), minor(st.st_rdev));
                } else
                        extra = xstrdup("");
                xl = xstrdup("");
                if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                        _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", dirfd(d), de->d_name);
                        nl = llistxattr(p, names, sizeof(names));
                        for (char *n = names; nl > 0 && n < names + nl; n += strlen(n) + 1) {
                                ssize_t vl = lgetxattr(p, n, val, sizeof(val) - 1);
                                char *nx;
                                if (vl < 0 || strncmp(n, "security.", 9) == 0)
                                        continue;
                                val[vl] = 0;
                                nx = xasprintf("%s %s=%s", xl, n, val);
                                free(xl);
                                xl = nx;
                        }
                }
                line = xasprintf("%s %o %u:%u size=%lld mtime=%lld nlink=%u %s%s\n", path, (unsigned) st.st_mode,
                                 (unsigned) st.st_uid, (unsigned) st.st_gid,
                                 S_ISDIR(st.st_mode) ? 0LL : (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                                 S_ISDIR(st.st_mode) ? 0u : (unsigned) st.st_nlink, extra, xl);
                *out = xrealloc(*out, *len + strlen(line) + 1);
                memcpy(*out + *len, line, strlen(line) + 1);
                *len += strlen(line);
                if (S_ISDIR(st.st_mode)) {
                        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        assert_true(cfd >= 0);
                        list_rec(cfd, path, out, len);
                }
        }
        closedir(d);
}

static int
cmp_lines(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
listing(const char *dir)
{
        char *raw = xstrdup(""), *out;
        size_t len = 0, n = 0, o = 0;
        char **lines;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        list_rec(fd, "", &raw, &len);
        lines = xcalloc(len + 1, sizeof(char *));
        for (char *s = strtok(raw, "\n"); s; s = strtok(NULL, "\n"))
                lines[n++] = s;
        qsort(lines, n, sizeof(char *), cmp_lines);
        out = xmalloc(len + 2);
        for (size_t i = 0; i < n; i++)
                o += (size_t) sprintf(out + o, "%s\n", lines[i]);
        out[o] = 0;
        free(lines);
        free(raw);
        return out;
}

static int
memfd(void)
{
        int fd = memfd_create("layer", MFD_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

static void
write_dir(const char *src, const struct oci_layer_write_opts *o, int out, struct oci_layer_result *res)
{
        struct err *e = NULL;

        if (oci_layer_write_dir(AT_FDCWD, src, o, out, res, &e) < 0)
                fail_msg("write %s: %s", src, err_msg(&e));
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
}

static void
apply_ok(int in, const char *target, const struct oci_layer_apply_opts *o, struct oci_layer_apply_result *res)
{
        struct err *e = NULL;

        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        if (oci_layer_apply_path(in, target, o, res, &e) < 0)
                fail_msg("apply to %s: %s", target, err_msg(&e));
}

/* The tree every round trip uses. */
static void
make_tree(const char *src)
{
        _cleanup_free_ char *p = NULL;

        mkd(src, "bin", 0755);
        put(src, "bin/tool", "#!/bin/sh\necho tool\n", 04755); /* setuid */
        put(src, "bin/sg", "x", 02711);
        mkd(src, "etc", 0750);
        put(src, "etc/conf", "key=value\n", 0640);
        mkd(src, "empty", 0700);
        mkd(src, "sticky", 01777);
        mkd(src, "a-b", 0755);
        put(src, "a-b/z", "z", 0644);
        put(src, "etc/ünïcode näme", "utf8", 0644);
        p = xasprintf("%s/etc/conf", src);
        {
                _cleanup_free_ char *l = xasprintf("%s/bin/conf-link", src);
                assert_int_equal(link(p, l), 0); /* hard link */
        }
        {
                _cleanup_free_ char *l = xasprintf("%s/etc/rel", src);
                _cleanup_free_ char *l2 = xasprintf("%s/dangling", src);
                assert_int_equal(symlink("../bin/tool", l), 0);
                assert_int_equal(symlink("/nonexistent/abs", l2), 0);
        }
        {
                _cleanup_free_ char *f = xasprintf("%s/fifo", src);
                _cleanup_free_ char *n = xasprintf("%s/null", src);
                assert_int_equal(mkfifo(f, 0620), 0);
                if (geteuid() == 0)
                        assert_int_equal(mknod(n, S_IFCHR | 0666, makedev(1, 3)), 0);
        }
        /* user.* xattrs on a file and a dir */
        assert_int_equal(setxattr(p, "user.color", "blue", 4, 0), 0);
        {
                _cleanup_free_ char *d = xasprintf("%s/etc", src);
                assert_int_equal(setxattr(d, "user.dir", "yes", 3, 0), 0);
        }
}

/* A long name (PAX path record), then fixed times everywhere. */
static void
fix_tree(const char *src)
{
        char name[201];

        mkd(src, "long", 0755);
        memset(name, 'n', 200);
        name[200] = 0;
        {
                _cleanup_free_ char *q = xasprintf("long/%s", name);
                put(src, q, "long", 0644);
        }
        /* Fixed times everywhere (dirs last: creating children moves them). */
        const char *paths[] = { "bin/tool", "bin/sg", "etc/conf", "a-b/z", "etc/rel", "dangling", "fifo",
                                "etc/ünïcode näme", "bin", "etc", "empty", "sticky", "a-b", "long" };
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                settime(src, paths[i], 1500000000 + (time_t) i * 1000);
}

static void
roundtrip(enum oci_layer_compression comp, bool no_openat2)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *src = xasprintf("%s/src", base);
        _cleanup_free_ char *dst = xasprintf("%s/dst", base);
        _cleanup_free_ char *l1 = NULL, *l2 = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_apply_opts ao;
        struct oci_layer_result wr;
        struct oci_layer_apply_result ar;
        struct stat s1, s2;
        int fd = memfd();

        assert_int_equal(mkdir(src, 0755), 0);
        make_tree(src);
        fix_tree(src);
        oci_layer_write_opts_init(&wo);
        wo.compression = comp;
        write_dir(src, &wo, fd, &wr);
        oci_layer_apply_opts_init(&ao);
        ao.no_openat2 = no_openat2;
        apply_ok(fd, dst, &ao, &ar);

        assert_string_equal(ar.diff_id.str, wr.diff_id.str);
        assert_string_equal(ar.blob_digest.str, wr.blob_digest.str);
        assert_int_equal(ar.blob_size, wr.blob_size);
        assert_int_equal(ar.tar_size, wr.tar_size);
        assert_int_equal(ar.compression, comp);
        assert_int_equal(ar.entries, wr.entries);
        if (comp == OCI_LAYER_UNCOMPRESSED)
                assert_string_equal(wr.diff_id.str, wr.blob_digest.str);
        else
                assert_string_not_equal(wr.diff_id.str, wr.blob_digest.str);
        assert_int_equal(ar.nwarnings, 0);

        l1 = listing(src);
        l2 = listing(dst);
        assert_string_equal(l1, l2);
        /* The hard link is a hard link again. */
        {
                _cleanup_free_ char *a = xasprintf("%s/etc/conf", dst), *b = xasprintf("%s/bin/conf-link", dst);
                assert_int_equal(stat(a, &s1), 0);
                assert_int_equal(stat(b, &s2), 0);
                assert_int_equal(s1.st_ino, s2.st_ino);
        }
        assert_true(strstr(l2, "user.color=blue") != NULL);
        assert_true(strstr(l2, "-> /nonexistent/abs") != NULL);
        oci_layer_apply_result_free(&ar);
        close(fd);
        rmtree(base);
}

static void
roundtrip_plain(void **state)
{
        roundtrip(OCI_LAYER_UNCOMPRESSED, false);
}

static void
roundtrip_gzip(void **state)
{
        roundtrip(OCI_LAYER_GZIP, false);
}

static void
roundtrip_zstd(void **state)
{
        roundtrip(OCI_LAYER_ZSTD, false);
}

static void
roundtrip_userspace_resolver(void **state)
{
        roundtrip(OCI_LAYER_GZIP, true);
}

/* Read back the entries of a layer in order, one line each:
 * "PATH\tTYPE u=UNAME g=GNAME t=MTIME atime=0|1[ hardlink=X][ xattrs: N...] owner=U:G". */
static char *
tar_index(int fd)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *out = xstrdup("");

        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_fd(a, fd, 65536), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                const char *n, *u = archive_entry_uname(e), *g = archive_entry_gname(e);
                const char *hl = archive_entry_hardlink(e);
                const void *v;
                size_t vs;
                char *x = xstrdup(""), *nout;

                archive_entry_xattr_reset(e);
                while (archive_entry_xattr_next(e, &n, &v, &vs) == ARCHIVE_OK) {
                        char *nx = xasprintf("%s %s", x, n);
                        free(x);
                        x = nx;
                }
                nout = xasprintf("%s%s\t%o u=%s g=%s t=%lld atime=%d%s%s%s%s owner=%lld:%lld\n", out,
                                 archive_entry_pathname(e), (unsigned) archive_entry_filetype(e), u ? u : "",
                                 g ? g : "", (long long) archive_entry_mtime(e), archive_entry_atime_is_set(e),
                                 hl ? " hardlink=" : "", hl ? hl : "", x[0] ? " xattrs:" : "", x,
                                 (long long) archive_entry_uid(e), (long long) archive_entry_gid(e));
                free(out);
                free(x);
                out = nout;
        }
        archive_read_free(a);
        return out;
}

/* The index line of PATH (static buffer), or fails. */
static const char *
line_of(const char *idx, const char *path)
{
        static char line[8192];
        _cleanup_free_ char *key = xasprintf("%s\t", path);
        _cleanup_free_ char *dkey = xasprintf("%s/\t", path); /* dirs: "name/" */
        const char *p = idx;

        while (p && *p) {
                if (strncmp(p, key, strlen(key)) == 0 || strncmp(p, dkey, strlen(dkey)) == 0) {
                        size_t len = strcspn(p, "\n");
                        assert_true(len < sizeof(line));
                        memcpy(line, p, len);
                        line[len] = 0;
                        return line;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        fail_msg("no entry '%s' in:\n%s", path, idx);
        return NULL;
}

static void
has(const char *idx, const char *path, const char *needle)
{
        const char *l = line_of(idx, path);

        if (!strstr(l, needle))
                fail_msg("entry line '%s' lacks '%s'", l, needle);
}

/* Component-wise order: '/' sorts below every other byte. */
static int
path_order(const char *a, const char *b)
{
        for (;; a++, b++) {
                unsigned ca = (unsigned char) *a, cb = (unsigned char) *b;
                if (ca == '/')
                        ca = 1;
                if (cb == '/')
                        cb = 1;
                if (ca != cb || ca == 0)
                        return (int) ca - (int) cb;
        }
}

static size_t
index_pos(const char *idx, const char *path)
{
        return (size_t) (line_of(idx, path) ? strstr(idx, line_of(idx, path)) - idx : 0);
}

static void
deterministic(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *src = xasprintf("%s/src", base);
        _cleanup_free_ char *idx = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_result r1, r2, r3;
        int fd1 = memfd(), fd2 = memfd(), fd3 = memfd();
        const char *prev = NULL;

        assert_int_equal(mkdir(src, 0755), 0);
        make_tree(src);
        fix_tree(src);
        oci_layer_write_opts_init(&wo);
        wo.compression = OCI_LAYER_ZSTD;
        write_dir(src, &wo, fd1, &r1);
        /* Reading the files (atime) and walking again changes nothing. */
        free(listing(src));
        write_dir(src, &wo, fd2, &r2);
        assert_string_equal(r1.diff_id.str, r2.diff_id.str);
        assert_string_equal(r1.blob_digest.str, r2.blob_digest.str);

        /* SOURCE_DATE_EPOCH: newer mtimes are clamped, so touching a file
         * to "now" does not change the layer. */
        wo.source_date_epoch = 1400000000;
        write_dir(src, &wo, fd3, &r3);
        assert_string_not_equal(r3.diff_id.str, r1.diff_id.str);
        settime(src, "etc/conf", time(NULL));
        settime(src, "bin", time(NULL));
        write_dir(src, &wo, fd2, &r2);
        assert_string_equal(r3.diff_id.str, r2.diff_id.str);

        /* Order: sorted component-wise, parents first; no names, no atime;
         * SCHILY xattrs; the second path of an inode is a hard link. */
        idx = tar_index(fd3);
        has(idx, "a-b", "40000 u= g= t=1400000000 atime=0 owner=");
        has(idx, "bin/conf-link", "100000 u= g= t=1400000000 atime=0 xattrs: user.color owner=");
        has(idx, "etc/conf", "\t0 u= g= t=1400000000 atime=0 hardlink=bin/conf-link owner=");
        has(idx, "etc", "xattrs: user.dir");
        assert_null(strstr(idx, "atime=1"));
        assert_null(strstr(idx, "u=root"));
        assert_true(index_pos(idx, "a-b/z") < index_pos(idx, "bin"));
        for (char *line = idx; *line;) {
                char *nl = strchr(line, '\n');
                *strchr(line, '\t') = 0;
                if (prev && path_order(prev, line) >= 0)
                        fail_msg("'%s' is written before '%s'", prev, line);
                prev = line;
                line = nl + 1;
        }
        close(fd1);
        close(fd2);
        close(fd3);
        rmtree(base);
}

static void
empty_layer(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *dst = xasprintf("%s/dst", base);
        struct oci_layer_write_opts wo;
        struct oci_layer_result r;
        struct oci_layer_apply_result ar;
        struct digest d;
        static const char zeros[1024];
        int fd = memfd();

        oci_layer_write_opts_init(&wo);
        write_dir(base, &wo, fd, &r);
        /* An empty tar is the two zero end-of-archive blocks. */
        digest_buffer(DIGEST_SHA256, zeros, sizeof(zeros), &d);
        assert_string_equal(r.diff_id.str, d.str);
        assert_int_equal(r.tar_size, 1024);
        assert_int_equal(r.entries, 0);
        apply_ok(fd, dst, NULL, &ar);
        assert_int_equal(ar.entries, 0);
        oci_layer_apply_result_free(&ar);
        close(fd);
        rmtree(base);
}

/* ---- hand-made archives ---- */

struct tent {
        char type; /* f file, d dir, l symlink, h hardlink, c char dev, x file with user xattr */
        const char *path;
        const char *arg; /* content, link target */
        int mode;
};

static int
mktar(const struct tent *t, size_t n, int filter)
{
        struct archive *a = archive_write_new();
        int fd = memfd();

        archive_write_set_format_pax_restricted(a);
        archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY");
        if (filter == 'g')
                archive_write_add_filter_gzip(a);
        if (filter == 'z')
                archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                const char *content = "";

                archive_entry_set_pathname(e, t[i].path);
                archive_entry_set_mtime(e, 1600000000, 0);
                archive_entry_set_perm(e, t[i].mode ? (mode_t) t[i].mode : 0644);
                switch (t[i].type) {
                case 'x':
                        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/x", 2);
                        /* fall through */
                case 'f':
                        archive_entry_set_filetype(e, AE_IFREG);
                        content = t[i].arg ? t[i].arg : "";
                        archive_entry_set_size(e, (la_int64_t) strlen(content));
                        break;
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, t[i].mode ? (mode_t) t[i].mode : 0755);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, t[i].arg);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, t[i].arg);
                        break;
                case 'c':
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_rdev(e, makedev(1, 3));
                        break;
                }
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (*content)
                        assert_int_equal(archive_write_data(a, content, strlen(content)), (la_ssize_t) strlen(content));
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* ---- whiteouts ---- */

static void
whiteouts_delete(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *s = NULL;
        struct oci_layer_apply_result ar;
        const struct tent lower[] = {
                { 'd', "etc", NULL, 0 },      { 'f', "etc/a", "a", 0 },    { 'f', "etc/b", "b", 0 },
                { 'd', "etc/sub", NULL, 0 },  { 'f', "etc/sub/c", "c", 0 }, { 'd', "opq", NULL, 0 },
                { 'f', "opq/old1", "o", 0 },  { 'd', "opq/keep", NULL, 0 }, { 'f', "opq/keep/old2", "o", 0 },
                { 'f', "gone", "g", 0 },      { 'd', "tree", NULL, 0 },     { 'f', "tree/deep", "d", 0 },
        };
        /* The layer's own opq/new and opq/keep/new2 come BEFORE the opaque
         * marker: they must survive it, old content must not. */
        const struct tent upper[] = {
                { 'f', "opq/new", "n", 0 },    { 'd', "opq/keep", NULL, 0 }, { 'f', "opq/keep/new2", "n", 0 },
                { 'f', "opq/.wh..wh..opq", "", 0 }, { 'f', ".wh.gone", "", 0 }, { 'f', ".wh.tree", "", 0 },
                { 'f', "etc/.wh.a", "", 0 },   { 'f', "etc/.wh.sub", "", 0 }, { 'f', "etc/.wh.nothere", "", 0 },
                { 'f', "etc/mine", "m", 0 },   { 'f', "etc/.wh.mine", "", 0 }, /* same layer: no effect */
                { 'f', "missing/.wh.x", "", 0 }, { 'f', ".wh..wh.plnk", "", 0 },
        };
        int fd;

        fd = mktar(lower, sizeof(lower) / sizeof(lower[0]), 0);
        apply_ok(fd, root, NULL, &ar);
        oci_layer_apply_result_free(&ar);
        close(fd);
        fd = mktar(upper, sizeof(upper) / sizeof(upper[0]), 'g');
        apply_ok(fd, root, NULL, &ar);
        oci_layer_apply_result_free(&ar);
        close(fd);

        assert_false(exists(root, "gone"));
        assert_false(exists(root, "tree"));
        assert_false(exists(root, "etc/a"));
        assert_false(exists(root, "etc/sub"));
        assert_true(exists(root, "etc/b"));
        assert_true(exists(root, "etc/mine"));
        assert_false(exists(root, "opq/old1"));
        assert_false(exists(root, "opq/keep/old2"));
        assert_true(exists(root, "opq/new"));
        assert_true(exists(root, "opq/keep/new2"));
        assert_false(exists(root, "missing"));
        /* No whiteout file is ever created. */
        assert_false(exists(root, ".wh.gone"));
        assert_false(exists(root, "opq/.wh..wh..opq"));
        assert_false(exists(root, ".wh..wh.plnk"));
        s = slurp(root, "etc/b");
        assert_string_equal(s, "b");
        rmtree(base);
}

static void
whiteouts_overlay_mode(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *p = NULL;
        struct oci_layer_apply_opts ao;
        struct oci_layer_apply_result ar;
        struct stat st;
        char v[4];
        const struct tent upper[] = {
                { 'd', "d", NULL, 0 },
                { 'f', "d/.wh..wh..opq", "", 0 },
                { 'f', ".wh.gone", "", 0 },
        };
        int fd;

        if (geteuid() != 0) {
                /* mknod of a 0/0 whiteout and trusted.* need privilege. */
                return;
        }
        oci_layer_apply_opts_init(&ao);
        ao.whiteouts = OCI_LAYER_WHITEOUT_OVERLAY;
        fd = mktar(upper, 3, 0);
        apply_ok(fd, root, &ao, &ar);
        oci_layer_apply_result_free(&ar);
        close(fd);
        p = xasprintf("%s/gone", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        free(p);
        p = xasprintf("%s/d", root);
        assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
        assert_int_equal(v[0], 'y');
        rmtree(base);
}

/* An overlay upper dir: char 0/0 → ".wh.NAME", opaque dir → marker, no
 * overlay xattrs in the layer; applying it on a lower reproduces the
 * merged view. */
static void
overlay_upper_dir(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *up = xasprintf("%s/upper", base);
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *idx = NULL, *p = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_result r;
        struct oci_layer_apply_result ar;
        const struct tent lower[] = {
                { 'f', "deleted", "x", 0 }, { 'd', "o", NULL, 0 }, { 'f', "o/old", "x", 0 }, { 'f', "kept", "k", 0 },
        };
        int fd = memfd(), lfd;

        if (geteuid() != 0)
                return; /* creating a 0/0 char device needs privilege */
        assert_int_equal(mkdir(up, 0755), 0);
        p = xasprintf("%s/deleted", up);
        assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
        mkd(up, "o", 0755);
        put(up, "o/new", "new", 0644);
        free(p);
        p = xasprintf("%s/o", up);
        assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
        assert_int_equal(setxattr(p, "user.overlay.origin", "zz", 2, 0), 0);
        oci_layer_write_opts_init(&wo);
        wo.source_mode = OCI_LAYER_SOURCE_OVERLAY;
        write_dir(up, &wo, fd, &r);
        idx = tar_index(fd);
        has(idx, ".wh.deleted", "100000");
        has(idx, "o/.wh..wh..opq", "100000");
        has(idx, "o/new", "100000");
        assert_null(strstr(idx, "overlay"));
        assert_null(strstr(idx, "\ndeleted\t"));

        lfd = mktar(lower, 4, 0);
        apply_ok(lfd, root, NULL, &ar);
        oci_layer_apply_result_free(&ar);
        apply_ok(fd, root, NULL, &ar);
        oci_layer_apply_result_free(&ar);
        assert_false(exists(root, "deleted"));
        assert_false(exists(root, "o/old"));
        assert_true(exists(root, "o/new"));
        assert_true(exists(root, "kept"));
        close(fd);
        close(lfd);
        rmtree(base);
}

/* ---- entry lists (COPY) ---- */

static void
entry_list(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *ctx = xasprintf("%s/ctx", base);
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *idx = NULL, *p = NULL;
        struct oci_layer_entry e[4];
        struct oci_layer_write_opts wo;
        struct oci_layer_result r;
        struct oci_layer_apply_result ar;
        struct err *err = NULL;
        struct stat st;
        int fd = memfd();

        assert_int_equal(mkdir(ctx, 0755), 0);
        put(ctx, "main.c", "int main;", 0600);
        mkd(ctx, "dir", 0700);
        put(ctx, "dir/x", "x", 0600);
        p = xasprintf("%s/ln", ctx);
        assert_int_equal(symlink("main.c", p), 0);

        for (int i = 0; i < 4; i++)
                oci_layer_entry_init(&e[i]);
        e[0].path = "/app/src/main.c";
        e[0].src = "main.c";
        e[0].src_dirfd = open(ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        e[0].uid = 1000;
        e[0].gid = 1001;
        e[0].mode = 0755;
        e[1].path = "./opt/d";
        e[1].src = ctx; /* absolute source */
        e[1].recursive = true;
        e[1].uid = 5;
        e[1].gid = 5;
        e[2].path = "app/ln";
        e[2].src = "ln";
        e[2].src_dirfd = e[0].src_dirfd;
        e[3].path = "var/empty";
        e[3].mode = 0700;
        oci_layer_write_opts_init(&wo);
        wo.source_date_epoch = 0;
        if (oci_layer_write_entries(e, 4, &wo, fd, &r, &err) < 0)
                fail_msg("%s", err_msg(&err));
        idx = tar_index(fd);
        /* Parents synthesized (app, app/src, opt, var) and everything in order. */
        has(idx, "app", "40000 u= g= t=0 atime=0 owner=0:0");
        has(idx, "app/src", "40000 u= g= t=0 atime=0 owner=0:0");
        has(idx, "app/src/main.c", "100000 u= g= t=0 atime=0 owner=1000:1001");
        has(idx, "app/ln", "120000");
        has(idx, "opt", "40000");
        has(idx, "opt/d", "owner=5:5");
        has(idx, "opt/d/dir/x", "owner=5:5");
        has(idx, "var/empty", "40000");
        assert_true(index_pos(idx, "app") < index_pos(idx, "app/ln"));
        assert_true(index_pos(idx, "app/ln") < index_pos(idx, "app/src"));
        apply_ok(fd, root, NULL, &ar);
        if (geteuid() != 0) {
                /* Not root: one warning, then ownership is left alone. */
                assert_int_equal(ar.nwarnings, 1);
                assert_non_null(strstr(ar.warnings[0].message, "ownership not applied"));
        }
        oci_layer_apply_result_free(&ar);
        free(p);
        p = xasprintf("%s/app/src/main.c", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_uid, geteuid() == 0 ? 1000 : geteuid());
        assert_int_equal(st.st_gid, geteuid() == 0 ? 1001 : getegid());
        free(p);
        p = xasprintf("%s/var/empty", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        /* A path given twice, and ".." in an image path, are refused. */
        e[1].path = "app/src/main.c";
        e[1].recursive = false;
        e[1].src = "main.c";
        e[1].src_dirfd = e[0].src_dirfd;
        assert_true(oci_layer_write_entries(e, 2, &wo, fd, &r, &err) < 0);
        assert_int_equal(err_code(&err), EINVAL);
        assert_non_null(strstr(err_msg(&err), "app/src/main.c"));
        err_clear(&err);
        e[1].path = "app/../../x";
        assert_true(oci_layer_write_entries(e, 2, &wo, fd, &r, &err) < 0);
        assert_int_equal(err_code(&err), ERR_UNSAFE_PATH);
        err_clear(&err);
        close(e[0].src_dirfd);
        close(fd);
        rmtree(base);
}

static int
shift_map(void *ud, bool is_gid, bool to_image, uint32_t id, uint32_t *ret)
{
        if (to_image) {
                if (id < 100000)
                        return -1;
                *ret = id - 100000;
        } else
                *ret = id + 100000;
        return 0;
}

static void
id_mapping(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *src = xasprintf("%s/src", base);
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *p = xasprintf("%s/f", src);
        _cleanup_free_ char *idx = NULL;
        struct oci_layer_idrange ur = { .image_id = 0, .host_id = 100000, .count = 65536 };
        struct oci_layer_idrange gr = { .image_id = 0, .host_id = 200000, .count = 65536 };
        struct oci_layer_idmap m = { .uid_ranges = &ur, .nuid = 1, .gid_ranges = &gr, .ngid = 1 };
        struct oci_layer_idmap fm = { .map = shift_map };
        struct oci_layer_write_opts wo;
        struct oci_layer_apply_opts ao;
        struct oci_layer_result r;
        struct oci_layer_apply_result ar;
        struct err *err = NULL;
        struct stat st;
        int fd = memfd();

        if (geteuid() != 0)
                return; /* needs chown to arbitrary ids */
        assert_int_equal(mkdir(src, 0755), 0);
        put(src, "f", "f", 0644);
        assert_int_equal(chown(p, 100007, 200009), 0);
        oci_layer_write_opts_init(&wo);
        wo.idmap = &m;
        write_dir(src, &wo, fd, &r);
        idx = tar_index(fd);
        has(idx, "f", "owner=7:9");
        /* Apply back through the callback form: image 7 → host 100007. */
        oci_layer_apply_opts_init(&ao);
        ao.idmap = &fm;
        apply_ok(fd, root, &ao, &ar);
        oci_layer_apply_result_free(&ar);
        free(p);
        p = xasprintf("%s/f", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_uid, 100007);
        assert_int_equal(st.st_gid, 100009);
        /* An id outside the ranges is an error naming the file. */
        free(p);
        p = xasprintf("%s/f", src);
        assert_int_equal(chown(p, 5, 5), 0);
        assert_true(oci_layer_write_dir(AT_FDCWD, src, &wo, fd, &r, &err) < 0);
        assert_int_equal(err_code(&err), EOVERFLOW);
        assert_non_null(strstr(err_msg(&err), "uid 5"));
        err_clear(&err);
        /* CHOWN_SKIP leaves files to the caller. */
        rmtree(root);
        ao.idmap = NULL;
        ao.chown = OCI_LAYER_CHOWN_SKIP;
        apply_ok(fd, root, &ao, &ar);
        oci_layer_apply_result_free(&ar);
        free(p);
        p = xasprintf("%s/f", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_uid, 0);
        close(fd);
        rmtree(base);
}

/* ---- hostile archives ---- */

struct sentinel {
        char *base, *outside, *target;
        struct stat st;
};

static void
sentinel_setup(struct sentinel *s)
{
        s->base = tmpdir();
        s->outside = xasprintf("%s/outside", s->base);
        s->target = xasprintf("%s/target", s->base);
        assert_int_equal(mkdir(s->outside, 0755), 0);
        assert_int_equal(mkdir(s->target, 0755), 0);
        put(s->outside, "sentinel", "precious", 0644);
        settime(s->outside, "sentinel", 1234567890);
        settime(s->outside, ".", 1234567890);
        {
                _cleanup_free_ char *p = xasprintf("%s/sentinel", s->outside);
                assert_int_equal(lstat(p, &s->st), 0);
        }
}

/* Nothing outside the target changed: the sentinel (content, mtime, inode,
 * link count), the outside dir (only the sentinel, same mtime), and the
 * base (only outside/ and target/). */
static void
sentinel_check(struct sentinel *s)
{
        _cleanup_free_ char *p = xasprintf("%s/sentinel", s->outside);
        _cleanup_free_ char *c = slurp(s->outside, "sentinel");
        _cleanup_free_ char *lo = NULL, *lb = NULL;
        struct stat st;

        assert_string_equal(c, "precious");
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1234567890);
        assert_int_equal(st.st_ino, s->st.st_ino);
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_mode, s->st.st_mode);
        lo = listing(s->outside);
        assert_non_null(strstr(lo, "sentinel 100644 "));
        assert_non_null(strstr(lo, " size=8 mtime=1234567890 nlink=1 "));
        assert_null(strchr(strchr(lo, '\n') + 1, '\n')); /* one line only */
        assert_int_equal(lstat(s->outside, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1234567890);
        {
                DIR *d = opendir(s->base);
                struct dirent *de;
                int n = 0;
                while ((de = readdir(d)))
                        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                                assert_true(strcmp(de->d_name, "outside") == 0 || strcmp(de->d_name, "target") == 0);
                                n++;
                        }
                closedir(d);
                assert_int_equal(n, 2);
        }
}

static void
sentinel_free(struct sentinel *s)
{
        rmtree(s->base);
        free(s->base);
        free(s->outside);
        free(s->target);
}

/* Apply T (hostile) under both resolvers: must fail with CODE and a message
 * naming NEEDLE, and leave everything outside the target untouched. */
static void
expect_refused(const struct tent *t, size_t n, int code, const char *needle)
{
        for (int mode = 0; mode < 2; mode++) {
                struct sentinel s;
                struct oci_layer_apply_opts ao;
                struct oci_layer_apply_result ar;
                struct err *err = NULL;
                struct tent fixed[8];
                int fd, r;

                sentinel_setup(&s);
                /* "@" in a path or link target stands for the outside dir. */
                assert_true(n <= 8);
                for (size_t i = 0; i < n; i++) {
                        fixed[i] = t[i];
                        if (t[i].arg && t[i].arg[0] == '@')
                                fixed[i].arg = xasprintf("%s%s", s.outside, t[i].arg + 1);
                }
                fd = mktar(fixed, n, mode ? 'z' : 0);
                oci_layer_apply_opts_init(&ao);
                ao.no_openat2 = mode == 1;
                r = oci_layer_apply_path(fd, s.target, &ao, &ar, &err);
                if (r >= 0)
                        fail_msg("hostile archive (%s) was applied", needle);
                if (err_code(&err) != code)
                        fail_msg("hostile archive: code %d, want %d: %s", err_code(&err), code, err_msg(&err));
                if (needle && !strstr(err_msg(&err), needle))
                        fail_msg("message '%s' lacks '%s'", err_msg(&err), needle);
                err_clear(&err);
                sentinel_check(&s);
                for (size_t i = 0; i < n; i++)
                        if (fixed[i].arg != t[i].arg)
                                free((char *) fixed[i].arg);
                close(fd);
                sentinel_free(&s);
        }
}

static void
hostile_paths(void **state)
{
        const struct tent dotdot[] = { { 'f', "../outside/sentinel", "evil", 0 } };
        const struct tent dotdot2[] = { { 'f', "../evil", "evil", 0 } };
        const struct tent abs[] = { { 'f', "/etc/evil-ibuild-test", "evil", 0 } };
        const struct tent inner[] = { { 'd', "a", NULL, 0 }, { 'f', "a/../../outside/sentinel", "evil", 0 } };
        const struct tent deep[] = { { 'f', "a/b/../../../evil", "evil", 0 } };

        expect_refused(dotdot, 1, ERR_UNSAFE_PATH, "../outside/sentinel");
        expect_refused(dotdot2, 1, ERR_UNSAFE_PATH, "../evil");
        expect_refused(abs, 1, ERR_UNSAFE_PATH, "/etc/evil-ibuild-test");
        expect_refused(inner, 2, ERR_UNSAFE_PATH, "a/../../outside/sentinel");
        expect_refused(deep, 1, ERR_UNSAFE_PATH, "a/b/../../../evil");
}

static void
hostile_symlinks(void **state)
{
        const struct tent abs_link[] = { { 'l', "l", "@", 0 }, { 'f', "l/sentinel", "evil", 0 } };
        const struct tent abs_link_new[] = { { 'l', "l", "@", 0 }, { 'f', "l/evil", "evil", 0 } };
        const struct tent rel_escape[] = { { 'l', "l", "../outside", 0 }, { 'f', "l/evil", "evil", 0 } };
        const struct tent chain[] = {
                { 'd', "d", NULL, 0 },
                { 'l', "d/up", "..", 0 },
                { 'l', "up2", "d/up/d/up/..", 0 },
                { 'f', "up2/outside/evil", "evil", 0 },
        };
        const struct tent deep_link[] = { { 'd', "a", NULL, 0 }, { 'd', "a/b", NULL, 0 },
                                          { 'l', "a/b/c", "../../../../../../../../..", 0 },
                                          { 'f', "a/b/c/evil", "evil", 0 } };
        const struct tent dir_through[] = { { 'l', "l", "@", 0 }, { 'd', "l/newdir", NULL, 0 } };
        const struct tent loop[] = { { 'l', "x", "y", 0 }, { 'l', "y", "x", 0 }, { 'f', "x/evil", "e", 0 } };

        expect_refused(abs_link, 2, ERR_UNSAFE_PATH, "l/sentinel");
        expect_refused(abs_link_new, 2, ERR_UNSAFE_PATH, "l/evil");
        expect_refused(rel_escape, 2, ERR_UNSAFE_PATH, "l/evil");
        expect_refused(chain, 4, ERR_UNSAFE_PATH, "up2/outside/evil");
        expect_refused(deep_link, 4, ERR_UNSAFE_PATH, "a/b/c/evil");
        expect_refused(dir_through, 2, ERR_UNSAFE_PATH, "l/newdir");
        expect_refused(loop, 3, ERR_UNSAFE_PATH, "x/evil");
}

static void
hostile_hardlinks(void **state)
{
        const struct tent passwd[] = { { 'h', "p", "/etc/passwd", 0 } };
        const struct tent up[] = { { 'h', "p", "../outside/sentinel", 0 } };
        const struct tent via_link[] = { { 'l', "l", "@", 0 }, { 'h', "p", "l/sentinel", 0 } };
        const struct tent via_rel[] = { { 'l', "l", "../outside", 0 }, { 'h', "p", "l/sentinel", 0 } };
        const struct tent dangling[] = { { 'h', "p", "not-extracted", 0 } };

        expect_refused(passwd, 1, ERR_UNSAFE_PATH, "/etc/passwd");
        expect_refused(up, 1, ERR_UNSAFE_PATH, "../outside/sentinel");
        expect_refused(via_link, 2, ERR_UNSAFE_PATH, "'p'");
        expect_refused(via_rel, 2, ERR_UNSAFE_PATH, "'p'");
        expect_refused(dangling, 1, ENOENT, "not-extracted");
}

static void
hostile_whiteouts(void **state)
{
        const struct tent wh_dotdot[] = { { 'f', ".wh..", "", 0 } };
        const struct tent wh_dir_dotdot[] = { { 'd', "a", NULL, 0 }, { 'f', "a/.wh..", "", 0 } };
        const struct tent wh_up[] = { { 'f', "../.wh.outside", "", 0 } };
        const struct tent wh_via_link[] = { { 'l', "l", "@", 0 }, { 'f', "l/.wh.sentinel", "", 0 } };
        const struct tent opq_via_link[] = { { 'l', "l", "@", 0 }, { 'f', "l/.wh..wh..opq", "", 0 } };

        expect_refused(wh_dotdot, 1, ERR_UNSAFE_PATH, ".wh..");
        expect_refused(wh_dir_dotdot, 2, ERR_UNSAFE_PATH, "a/.wh..");
        expect_refused(wh_up, 1, ERR_UNSAFE_PATH, "../.wh.outside");
        expect_refused(wh_via_link, 2, ERR_UNSAFE_PATH, "l/.wh.sentinel");
        expect_refused(opq_via_link, 2, ERR_UNSAFE_PATH, "l/.wh..wh..opq");
}

static void
hostile_huge_headers(void **state)
{
        _cleanup_free_ char *longpath = xmalloc(2 * 1024 * 1024 + 1);
        _cleanup_free_ char *pathmax = xmalloc(LIMIT_PATH + 1);
        const struct tent huge[] = { { 'f', longpath, "x", 0 } };
        const struct tent toolong[] = { { 'f', pathmax, "x", 0 } };

        memset(longpath, 'a', 2 * 1024 * 1024);
        longpath[2 * 1024 * 1024] = 0;
        memset(pathmax, 'b', LIMIT_PATH);
        pathmax[LIMIT_PATH] = 0;
        /* libarchive refuses PAX headers over 1 MiB; we say it is a bad header. */
        expect_refused(huge, 1, EINVAL, "bad tar header");
        expect_refused(toolong, 1, ENAMETOOLONG, "longer than");
}

/* The final component is never followed: a file or dir entry replaces a
 * symlink that points outside instead of writing through it. */
static void
final_symlink_replaced(void **state)
{
        for (int mode = 0; mode < 2; mode++) {
                struct sentinel s;
                struct oci_layer_apply_opts ao;
                struct oci_layer_apply_result ar;
                _cleanup_free_ char *p = NULL, *c = NULL;
                struct stat st;
                struct tent t[] = {
                        { 'l', "x", "@/sentinel", 0 }, { 'f', "x", "replaced", 0 },
                        { 'l', "d", "@", 0 },          { 'd', "d", NULL, 0 },
                        { 'f', "d/inside", "in", 0 },  { 'l', "lib", "usr/lib", 0 },
                        { 'f', "lib/ok", "ok", 0 },    { 'l', "usr/lib/up", "../../lib", 0 },
                };
                int fd;

                sentinel_setup(&s);
                t[0].arg = xasprintf("%s/sentinel", s.outside);
                t[2].arg = xstrdup(s.outside);
                /* usr/lib must exist before lib/ok resolves through "lib". */
                {
                        _cleanup_free_ char *u = xasprintf("%s/usr/lib", s.target);
                        struct err *e = NULL;
                        assert_int_equal(fs_mkdir_p(u, 0755, &e), 0);
                }
                fd = mktar(t, 8, 0);
                oci_layer_apply_opts_init(&ao);
                ao.no_openat2 = mode == 1;
                apply_ok(fd, s.target, &ao, &ar);
                oci_layer_apply_result_free(&ar);
                p = xasprintf("%s/x", s.target);
                assert_int_equal(lstat(p, &st), 0);
                assert_true(S_ISREG(st.st_mode));
                c = slurp(s.target, "d/inside");
                assert_string_equal(c, "in");
                free(c);
                /* A relative symlink that stays inside is followed. */
                c = slurp(s.target, "usr/lib/ok");
                assert_string_equal(c, "ok");
                sentinel_check(&s);
                free((char *) t[0].arg);
                free((char *) t[2].arg);
                close(fd);
                sentinel_free(&s);
        }
}

/* symlinks_in_root: parents through absolute symlinks and ".." chains are
 * resolved inside the target (containerd's behaviour) instead of refused;
 * still nothing leaves the target. */
static void
symlinks_in_root(void **state)
{
        for (int mode = 0; mode < 2; mode++) {
                struct sentinel s;
                struct oci_layer_apply_opts ao;
                struct oci_layer_apply_result ar;
                struct err *err = NULL;
                _cleanup_free_ char *c = NULL;
                const struct tent t[] = {
                        { 'd', "usr", NULL, 0 },          { 'l', "abs", "/usr", 0 },   { 'f', "abs/x", "x", 0 },
                        { 'l', "up", "../../../..", 0 }, { 'f', "up/usr/y", "y", 0 },
                };
                struct tent out[2] = { { 'l', "l", NULL, 0 }, { 'f', "l/sentinel", "evil", 0 } };
                int fd;

                sentinel_setup(&s);
                oci_layer_apply_opts_init(&ao);
                ao.no_openat2 = mode == 1;
                /* Default: refused. */
                fd = mktar(t, 3, 0);
                assert_true(oci_layer_apply_path(fd, s.target, &ao, &ar, &err) < 0);
                assert_int_equal(err_code(&err), ERR_UNSAFE_PATH);
                err_clear(&err);
                close(fd);
                /* In root: followed inside the target. */
                ao.symlinks_in_root = true;
                fd = mktar(t, 5, 0);
                apply_ok(fd, s.target, &ao, &ar);
                oci_layer_apply_result_free(&ar);
                close(fd);
                c = slurp(s.target, "usr/x");
                assert_string_equal(c, "x");
                free(c);
                c = slurp(s.target, "usr/y");
                assert_string_equal(c, "y");
                /* A symlink to the real outside path means TARGET/that/path,
                 * which does not exist (and "l" is in the way): refused. */
                out[0].arg = xstrdup(s.outside);
                fd = mktar(out, 2, 0);
                assert_true(oci_layer_apply_path(fd, s.target, &ao, &ar, &err) < 0);
                err_clear(&err);
                close(fd);
                free((char *) out[0].arg);
                sentinel_check(&s);
                sentinel_free(&s);
        }
}

/* Device nodes are made when permitted, else skipped with a warning;
 * max_warnings turns warnings into a failure. */
static void
devices_and_warnings(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *p = xasprintf("%s/null", root);
        const struct tent dev[] = { { 'c', "null", NULL, 0666 } };
        const struct tent two[] = { { 'x', "a", "a", 0 }, { 'x', "b", "b", 0 } };
        struct oci_layer_apply_opts ao;
        struct oci_layer_apply_result ar;
        struct err *err = NULL;
        struct stat st;
        int fd = mktar(dev, 1, 0);

        apply_ok(fd, root, NULL, &ar);
        if (lstat(p, &st) == 0) {
                assert_true(S_ISCHR(st.st_mode));
                assert_int_equal(st.st_rdev, makedev(1, 3));
                assert_int_equal(ar.nwarnings, 0);
        } else {
                assert_true(geteuid() != 0);
                assert_int_equal(ar.nwarnings, 1);
                assert_string_equal(ar.warnings[0].path, "null");
                assert_non_null(strstr(ar.warnings[0].message, "device node not created"));
        }
        oci_layer_apply_result_free(&ar);
        close(fd);

        fd = mktar(two, 2, 0);
        oci_layer_apply_opts_init(&ao);
        ao.chown = OCI_LAYER_CHOWN_SKIP;
        ao.max_warnings = 1;
        assert_true(oci_layer_apply_path(fd, root, &ao, &ar, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "too many warnings"));
        assert_non_null(strstr(err_msg(&err), "b: xattr trusted.overlay.redirect"));
        err_clear(&err);
        close(fd);
        rmtree(base);
}

/* Directories get their final (maybe unwritable) modes and mtimes only
 * after everything is in, deepest first, whatever the entry order. */
static void
dir_modes(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        _cleanup_free_ char *a = xasprintf("%s/a", root), *b = xasprintf("%s/a/b", root);
        _cleanup_free_ char *c = NULL;
        const struct tent t[] = {
                { 'd', "a/b", NULL, 0500 }, { 'f', "a/b/f", "f", 0400 }, { 'd', "a", NULL, 01000 },
                { 'd', "ro", NULL, 0555 },  { 'f', "ro/g", "g", 0644 },
        };
        struct oci_layer_apply_result ar;
        struct stat st;
        int fd = mktar(t, 5, 0);

        apply_ok(fd, root, NULL, &ar);
        oci_layer_apply_result_free(&ar);
        assert_int_equal(lstat(a, &st), 0);
        assert_int_equal(st.st_mode & 07777, 01000);
        assert_int_equal(st.st_mtim.tv_sec, 1600000000);
        assert_int_equal(chmod(a, 0755), 0);
        assert_int_equal(lstat(b, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0500);
        assert_int_equal(st.st_mtim.tv_sec, 1600000000);
        assert_int_equal(chmod(b, 0755), 0);
        c = slurp(root, "ro/g");
        assert_string_equal(c, "g");
        assert_true(exists(root, "a/b/f"));
        {
                _cleanup_free_ char *ro = xasprintf("%s/ro", root);
                assert_int_equal(lstat(ro, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0555);
                assert_int_equal(chmod(ro, 0755), 0);
        }
        close(fd);
        rmtree(base);
}

/* Upper dirs of metacopy/redirect overlays cannot be turned into layers. */
static void
overlay_metacopy_refused(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *up = xasprintf("%s/upper", base);
        _cleanup_free_ char *f = xasprintf("%s/upper/f", base);
        _cleanup_free_ char *d = xasprintf("%s/upper/d", base);
        struct oci_layer_write_opts wo;
        struct oci_layer_result r;
        struct err *err = NULL;
        int fd = memfd();

        assert_int_equal(mkdir(up, 0755), 0);
        put(up, "f", "", 0644);
        assert_int_equal(setxattr(f, "user.overlay.metacopy", "", 0, 0), 0);
        oci_layer_write_opts_init(&wo);
        wo.source_mode = OCI_LAYER_SOURCE_OVERLAY;
        assert_true(oci_layer_write_dir(AT_FDCWD, up, &wo, fd, &r, &err) < 0);
        assert_int_equal(err_code(&err), ERR_UNSUPPORTED);
        assert_non_null(strstr(err_msg(&err), "metacopy"));
        err_clear(&err);
        unlink(f);
        assert_int_equal(mkdir(d, 0755), 0);
        assert_int_equal(setxattr(d, "user.overlay.redirect", "/old", 4, 0), 0);
        assert_true(oci_layer_write_dir(AT_FDCWD, up, &wo, fd, &r, &err) < 0);
        assert_int_equal(err_code(&err), ERR_UNSUPPORTED);
        assert_non_null(strstr(err_msg(&err), "redirect"));
        err_clear(&err);
        /* A plain tree walk does not care. */
        wo.source_mode = OCI_LAYER_SOURCE_TREE;
        assert_int_equal(oci_layer_write_dir(AT_FDCWD, up, &wo, fd, &r, &err), 0);
        close(fd);
        rmtree(base);
}

static void
bad_input(void **state)
{
        _cleanup_free_ char *base = tmpdir();
        _cleanup_free_ char *root = xasprintf("%s/root", base);
        struct oci_layer_apply_result ar;
        struct oci_layer_apply_opts ao;
        struct err *err = NULL;
        struct digest want;
        const struct tent one[] = { { 'f', "f", "hello world, some content to compress", 0 } };
        int fd = memfd(), g;
        char buf[8192];
        ssize_t n;

        /* Not a tar */
        assert_int_equal(write(fd, "this is not a tar archive, not at all", 37), 37);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_true(oci_layer_apply_path(fd, root, NULL, &ar, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "tar"));
        err_clear(&err);
        /* Empty */
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_true(oci_layer_apply_path(fd, root, NULL, &ar, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "empty"));
        err_clear(&err);
        /* Truncated gzip */
        g = mktar(one, 1, 'g');
        n = read(g, buf, sizeof(buf));
        assert_true(n > 40);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(write(fd, buf, (size_t) n - 12), n - 12);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_true(oci_layer_apply_path(fd, root, NULL, &ar, &err) < 0);
        assert_non_null(strstr(err_msg(&err), "gzip"));
        err_clear(&err);
        /* Corrupt gzip */
        buf[n / 2] ^= 0x55;
        buf[n / 2 + 1] ^= 0x55;
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(write(fd, buf, (size_t) n), n);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_true(oci_layer_apply_path(fd, root, NULL, &ar, &err) < 0);
        err_clear(&err);
        /* Wrong expected diffID */
        oci_layer_apply_opts_init(&ao);
        assert_int_equal(digest_parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                      &want, &err),
                         0);
        ao.expect_diff_id = &want;
        assert_int_equal(lseek(g, 0, SEEK_SET), 0);
        assert_true(oci_layer_apply_path(g, root, &ao, &ar, &err) < 0);
        assert_int_equal(err_code(&err), ERR_DIGEST_INVALID);
        err_clear(&err);
        /* overlay xattrs in a layer are never applied */
        {
                const struct tent x[] = { { 'x', "xf", "data", 0 } };
                int xfd = mktar(x, 1, 0);
                char v[8];
                _cleanup_free_ char *p = xasprintf("%s/xf", root);

                struct oci_layer_apply_opts xo;

                oci_layer_apply_opts_init(&xo);
                xo.chown = OCI_LAYER_CHOWN_SKIP;
                apply_ok(xfd, root, &xo, &ar);
                assert_int_equal(ar.nwarnings, 1);
                assert_string_equal(ar.warnings[0].path, "xf");
                assert_non_null(strstr(ar.warnings[0].message, "trusted.overlay.redirect"));
                assert_true(getxattr(p, "trusted.overlay.redirect", v, sizeof(v)) < 0);
                oci_layer_apply_result_free(&ar);
                close(xfd);
        }
        close(g);
        close(fd);
        rmtree(base);
}

struct membuf {
        unsigned char *p;
        size_t n;
};

static int
membuf_emit(void *ud, const void *buf, size_t len)
{
        struct membuf *m = ud;

        m->p = xrealloc(m->p, m->n + len + 1);
        memcpy(m->p + m->n, buf, len);
        m->n += len;
        return 0;
}

/* Parallel gzip: any input size (incl. empty and exact block multiples),
 * fed in odd pieces, gives a gzip stream zlib decodes to the input, and the
 * same bytes for every thread count (the last size has more blocks than
 * the job ring has slots, so slots are reused while others compress). */
static void
pgzip_blocks(void **state)
{
        const size_t sizes[] = { 0, 1, 1024 * 1024, 2 * 1024 * 1024 + 12345, 9 * 1024 * 1024 + 7 };
        const size_t max = sizes[sizeof(sizes) / sizeof(sizes[0]) - 1];
        _cleanup_free_ unsigned char *in = xmalloc(max);
        uint32_t x = 12345;

        for (size_t i = 0; i < max; i++) {
                x = x * 1103515245 + 12345;
                in[i] = (unsigned char) ((x >> 16) % 7 + 'a'); /* compressible, not trivial */
        }
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                struct membuf ref = { 0 };

                for (int threads = 1; threads <= 3; threads++) {
                        struct oci_layer_pgzip *g = oci_layer_pgzip_new(6, threads);
                        struct membuf m = { 0 };
                        size_t off = 0, step = 77777;
                        _cleanup_free_ unsigned char *out = xmalloc(sizes[k] + 1);
                        z_stream z;

                        while (off < sizes[k]) {
                                size_t n = sizes[k] - off < step ? sizes[k] - off : step;
                                assert_int_equal(oci_layer_pgzip_write(g, in + off, n, membuf_emit, &m), 0);
                                off += n;
                                step = step * 3 % 1000003 + 1;
                        }
                        assert_int_equal(oci_layer_pgzip_finish(g, membuf_emit, &m), 0);
                        oci_layer_pgzip_free(g);

                        memset(&z, 0, sizeof(z));
                        assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
                        z.next_in = m.p;
                        z.avail_in = (uInt) m.n;
                        z.next_out = out;
                        z.avail_out = (uInt) sizes[k] + 1;
                        assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END); /* CRC and size checked */
                        assert_int_equal(z.total_out, sizes[k]);
                        assert_int_equal(z.avail_in, 0);
                        assert_memory_equal(out, in, sizes[k]);
                        inflateEnd(&z);
                        if (threads == 1)
                                ref = m;
                        else {
                                assert_int_equal(m.n, ref.n);
                                assert_memory_equal(m.p, ref.p, m.n);
                                free(m.p);
                        }
                }
                free(ref.p);
        }
}

static void
detect(void **state)
{
        assert_int_equal(oci_layer_detect_compression("\x1f\x8b\x08\x00", 4), OCI_LAYER_GZIP);
        assert_int_equal(oci_layer_detect_compression("\x28\xb5\x2f\xfd", 4), OCI_LAYER_ZSTD);
        assert_int_equal(oci_layer_detect_compression("\x28\xb5\x2f", 3), OCI_LAYER_UNCOMPRESSED);
        assert_int_equal(oci_layer_detect_compression("ustar", 5), OCI_LAYER_UNCOMPRESSED);
        assert_int_equal(oci_layer_detect_compression("", 0), OCI_LAYER_UNCOMPRESSED);
        assert_string_equal(oci_layer_compression_name(OCI_LAYER_ZSTD), "zstd");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(detect),
                cmocka_unit_test(pgzip_blocks),
                cmocka_unit_test(roundtrip_plain),
                cmocka_unit_test(roundtrip_gzip),
                cmocka_unit_test(roundtrip_zstd),
                cmocka_unit_test(roundtrip_userspace_resolver),
                cmocka_unit_test(deterministic),
                cmocka_unit_test(empty_layer),
                cmocka_unit_test(whiteouts_delete),
                cmocka_unit_test(whiteouts_overlay_mode),
                cmocka_unit_test(overlay_upper_dir),
                cmocka_unit_test(entry_list),
                cmocka_unit_test(id_mapping),
                cmocka_unit_test(hostile_paths),
                cmocka_unit_test(hostile_symlinks),
                cmocka_unit_test(hostile_hardlinks),
                cmocka_unit_test(hostile_whiteouts),
                cmocka_unit_test(hostile_huge_headers),
                cmocka_unit_test(final_symlink_replaced),
                cmocka_unit_test(bad_input),
                cmocka_unit_test(symlinks_in_root),
                cmocka_unit_test(devices_and_warnings),
                cmocka_unit_test(overlay_metacopy_refused),
                cmocka_unit_test(dir_modes),
        };

        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
