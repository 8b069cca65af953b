/* libFuzzer: oci_layer_apply on arbitrary bytes (plain, gzip or zstd tar),
 * with both path resolvers (openat2 and the userspace walk) and both symlink
 * policies (beneath / in root).  Whatever the
 * input, nothing outside the target directory may change: a sentinel file
 * beside the target keeps its content and mtime, and no other name appears
 * beside it.  A violation aborts (the fuzzer reports a crash). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "oci/layer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *base, *outside, *sentinel, *target;
static struct stat sentinel_st;

static void rm_tree(int dfd, const char *name);

static void
cleanup(void)
{
        rm_tree(AT_FDCWD, base);
}

static void
setup(void)
{
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        int fd;

        base = xasprintf("%s/fuzz-tar.XXXXXX", tmp);
        if (!mkdtemp(base))
                abort();
        outside = xasprintf("%s/outside", base);
        sentinel = xasprintf("%s/sentinel", outside);
        target = xasprintf("%s/target", base);
        if (mkdir(outside, 0755) < 0)
                abort();
        fd = open(sentinel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "precious", 8) != 8)
                abort();
        close(fd);
        if (stat(sentinel, &sentinel_st) < 0)
                abort();
        atexit(cleanup);
}

static void
check_outside(void)
{
        char buf[16];
        struct stat st;
        DIR *d;
        struct dirent *de;
        int fd = open(sentinel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0 || read(fd, buf, sizeof(buf)) != 8 || memcmp(buf, "precious", 8) != 0)
                abort();
        close(fd);
        if (lstat(sentinel, &st) < 0 || st.st_ino != sentinel_st.st_ino || st.st_nlink != 1 ||
            st.st_mtim.tv_sec != sentinel_st.st_mtim.tv_sec || st.st_mtim.tv_nsec != sentinel_st.st_mtim.tv_nsec ||
            st.st_mode != sentinel_st.st_mode)
                abort();
        d = opendir(outside);
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "sentinel"))
                        abort();
        if (d)
                closedir(d);
        d = opendir(base);
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "outside") &&
                    strcmp(de->d_name, "target"))
                        abort();
        if (d)
                closedir(d);
}

/* rm -rf that first makes each directory writable (a layer may leave
 * 0500 directories, which an unprivileged fuzzer could not empty). */
static void
rm_tree(int dfd, const char *name)
{
        struct stat st;
        DIR *d;
        struct dirent *de;
        int fd;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        if (S_ISDIR(st.st_mode)) {
                fchmodat(dfd, name, 0700, 0);
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || !(d = fdopendir(fd)))
                        abort();
                while ((de = readdir(d)))
                        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                                rm_tree(dirfd(d), de->d_name);
                closedir(d);
                if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                        abort();
        } else if (unlinkat(dfd, name, 0) < 0)
                abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fd;

        if (!base)
                setup();
        fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                abort();
        for (int mode = 0; mode < 3; mode++) {
                struct oci_layer_apply_opts o;
                struct oci_layer_apply_result r;
                struct err *e = NULL;

                rm_tree(AT_FDCWD, target);
                if (lseek(fd, 0, SEEK_SET) != 0)
                        abort();
                oci_layer_apply_opts_init(&o);
                /* 0: openat2 BENEATH, 1: userspace BENEATH, 2: IN_ROOT with
                 * either resolver. */
                o.no_openat2 = mode == 1 || (mode == 2 && size % 2);
                o.symlinks_in_root = mode == 2;
                if (oci_layer_apply_path(fd, target, &o, &r, &e) == 0) {
                        /* A successful apply reports a real diffID. */
                        if (strncmp(r.diff_id.str, "sha256:", 7) != 0)
                                abort();
                        oci_layer_apply_result_free(&r);
                } else if (!e || !*err_msg(&e))
                        abort(); /* every failure says why */
                err_clear(&e);
                check_outside();
        }
        close(fd);
        return 0;
}
