#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

int
fs_write_all(int fd, const void *buf, size_t len, struct err **err)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, errno, "write: %s", strerror(errno));
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int
fs_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                   struct err **err)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        const char *base = strrchr(name, '/');
        int r;

        /* The temp name lives in the same directory so rename() is atomic. */
        if (base)
                tmp = xasprintf("%.*s/.tmp-%s.%d.%ld", (int) (base - name), name, base + 1,
                                (int) getpid(), random());
        else
                tmp = xasprintf(".tmp-%s.%d.%ld", name, (int) getpid(), random());

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0)
                return err_set(err, errno, "create %s: %s", tmp, strerror(errno));
        r = fs_write_all(fd, data, len, err);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = err_set(err, errno, "chmod %s: %s", tmp, strerror(errno));
        if (r == 0 && fsync(fd) < 0)
                r = err_set(err, errno, "fsync %s: %s", tmp, strerror(errno));
        if (r == 0 && close(steal_fd(&fd)) < 0)
                r = err_set(err, errno, "close %s: %s", tmp, strerror(errno));
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = err_set(err, errno, "rename %s: %s", name, strerror(errno));
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return err_prefix(err, "writing %s", name);
        }
        /* Make the rename itself durable. */
        {
                _cleanup_free_ char *dir = base ? xstrndup(name, (size_t) (base - name)) : xstrdup(".");
                _cleanup_close_ int dfd = openat(dirfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                        fsync(dfd);
        }
        return 0;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err **err)
{
        return fs_write_atomic_at(AT_FDCWD, path, data, len, mode, err);
}

int
fs_read_fd(int fd, size_t cap, char **ret_data, size_t *ret_len, struct err **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, alloc = 0;

        for (;;) {
                ssize_t n;
                if (alloc - len < 4096) {
                        alloc = alloc ? alloc * 2 : 8192;
                        if (alloc > cap + 1 + 8192)
                                alloc = cap + 1 + 8192;
                        buf = xrealloc(buf, alloc + 1);
                }
                n = read(fd, buf + len, alloc - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return err_set(err, errno, "read: %s", strerror(errno));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > cap)
                        return err_set(err, ERR_SIZE_INVALID, "larger than the limit of %zu bytes", cap);
        }
        buf[len] = '\0';
        *ret_data = steal_ptr(&buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int
fs_read_file_at(int dirfd, const char *name, size_t cap, char **ret_data, size_t *ret_len,
                struct err **err)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return err_set(err, errno, "open %s: %s", name, strerror(errno));
        r = fs_read_fd(fd, cap, ret_data, ret_len, err);
        if (r < 0)
                return err_prefix(err, "%s", name);
        return 0;
}

int
fs_read_file(const char *path, size_t cap, char **ret_data, size_t *ret_len, struct err **err)
{
        return fs_read_file_at(AT_FDCWD, path, cap, ret_data, ret_len, err);
}

int
fs_mkdir_p(const char *path, mode_t mode, struct err **err)
{
        _cleanup_free_ char *p = xstrdup(path);
        char *s;

        for (s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
        return 0;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
fs_rm_rf(const char *path, struct err **err)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : err_set(err, errno, "stat %s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return err_set(err, errno, "unlink %s: %s", path, strerror(errno));
                return 0;
        }
        /* Directories we can't enter (mode 0) still need removing. */
        if (nftw(path, rm_cb, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return err_set(err, errno, "remove %s: %s", path, strerror(errno));
        return 0;
}

int
fs_fsync_dir(const char *dir, struct err **err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return err_set(err, errno, "open %s: %s", dir, strerror(errno));
        if (fsync(fd) < 0)
                return err_set(err, errno, "fsync %s: %s", dir, strerror(errno));
        return 0;
}

int
fs_mkdtemp_in(const char *dir, const char *prefix, char **ret_path, struct err **err)
{
        char *p = xasprintf("%s/%sXXXXXX", dir, prefix);

        if (mkdtemp(p) == NULL) {
                int e = errno;
                free(p);
                return err_set(err, e, "mkdtemp in %s: %s", dir, strerror(e));
        }
        *ret_path = p;
        return 0;
}
