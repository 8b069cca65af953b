/* Inside the namespaces: pid 1 builds the root file system and runs the
 * command.  Runs in a forked copy of the caller, so everything it reports
 * goes through ctx->report_fd. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* buildkit refuses secrets over 500 KiB; so do we. */
#define SECRET_MAX (500 * 1024)
#define PASSWD_MAX (4 * 1024 * 1024)

/* Docker's default capability set (moby oci/caps/defaults.go). */
static const int default_caps[] = {
        CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,     CAP_MKNOD,
        CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,           CAP_SETFCAP,    CAP_SETPCAP,
        CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,     CAP_AUDIT_WRITE,
};

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

#define FAIL(ctx, code, ...)                                                                               \
        do {                                                                                               \
                sandbox_report_err((ctx)->report_fd, (code), __VA_ARGS__);                                 \
                _exit(125);                                                                                \
        } while (0)

/* ---- mount points: a tmpfs "skeleton" lower layer ----------------------
 *
 * Creating a mount point inside the overlay would write it to the upper dir
 * and so into the layer.  Instead every mount point lives on a tmpfs that is
 * the top-most lower dir: its dirs copy the owner and mode of the same dir
 * in the image (overlay shows the top-most dir's attributes), its files are
 * empty placeholders under bind mounts.  The upper dir only ever receives
 * what the command itself writes. */

/* Find RELPATH in the upper dir and the lowers (top first): 1 and *st when
 * found, 0 when absent or whited out. */
static int
find_in_image(struct sandbox_ctx *ctx, const char *rel, struct stat *st)
{
        const struct build_sandbox_config *cfg = ctx->cfg;

        for (size_t i = 0; i <= cfg->n_lowers; i++) {
                const char *base = i == 0 ? cfg->upper : cfg->lowers[i - 1];
                _cleanup_free_ char *p = xasprintf("%s/%s", base, rel);

                if (lstat(p, st) < 0)
                        continue;
                /* An overlay whiteout (char 0/0) hides the path below. */
                if (S_ISCHR(st->st_mode) && st->st_rdev == (dev_t) makedev(0, 0))
                        return 0;
                return 1;
        }
        return 0;
}

static void
skel_add(struct sandbox_ctx *ctx, const char *target, bool leaf_dir)
{
        _cleanup_free_ char *rel = xstrdup(target + strspn(target, "/"));
        char *s = rel;

        if (!*rel)
                return;
        for (;;) {
                char *slash = strchr(s, '/');
                bool leaf = slash == NULL;
                bool want_dir = !leaf || leaf_dir;
                struct stat st, have;
                _cleanup_free_ char *sp = NULL;
                int found;

                if (slash)
                        *slash = '\0';
                sp = xasprintf("%s/%s", ctx->skel, rel);
                found = find_in_image(ctx, rel, &st);
                if (found && !leaf && !S_ISDIR(st.st_mode))
                        FAIL(ctx, ENOTDIR, "mount point %s: /%s is not a directory in the image", target, rel);
                if (found && leaf && leaf_dir && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
                        FAIL(ctx, ENOTDIR, "mount point %s is not a directory in the image", target);
                if (found && leaf && !leaf_dir && S_ISDIR(st.st_mode))
                        FAIL(ctx, EISDIR, "mount point %s is a directory in the image", target);
                if (ctx->copy_mode && leaf && !leaf_dir && lstat(sp, &have) == 0 && S_ISLNK(have.st_mode)) {
                        /* A bind mount would follow the link (maybe out of the
                         * root): put a plain placeholder there; the diff
                         * ignores it. */
                        if (unlink(sp) < 0)
                                FAIL(ctx, errno, "unlink %s: %s", sp, strerror(errno));
                }
                if (lstat(sp, &have) == 0) {
                        if (want_dir != S_ISDIR(have.st_mode))
                                FAIL(ctx, EEXIST, "mount point %s conflicts with another mount", target);
                } else if (want_dir) {
                        mode_t mode = found && S_ISDIR(st.st_mode) ? st.st_mode & 07777 : 0755;
                        if (mkdir(sp, mode) < 0)
                                FAIL(ctx, errno, "mkdir %s: %s", sp, strerror(errno));
                        chmod(sp, mode);
                        if (found && S_ISDIR(st.st_mode) && lchown(sp, st.st_uid, st.st_gid) < 0)
                                FAIL(ctx, errno, "chown %s: %s", sp, strerror(errno));
                } else {
                        int fd = open(sp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                        if (fd < 0)
                                FAIL(ctx, errno, "create %s: %s", sp, strerror(errno));
                        close(fd);
                }
                if (leaf)
                        break;
                *slash = '/';
                s = slash + 1;
        }
}

/* Give the skeleton's dirs the image's timestamps once nothing more is
 * created inside them. */
static void
skel_fix_times(struct sandbox_ctx *ctx, const char *rel)
{
        _cleanup_free_ char *path = xstrdup(rel);

        while (*path) {
                struct stat st;
                char *slash;

                if (find_in_image(ctx, path, &st) && S_ISDIR(st.st_mode)) {
                        _cleanup_free_ char *sp = xasprintf("%s/%s", ctx->skel, path);
                        struct timespec ts[2] = {st.st_atim, st.st_mtim};
                        utimensat(AT_FDCWD, sp, ts, AT_SYMLINK_NOFOLLOW);
                }
                slash = strrchr(path, '/');
                if (!slash)
                        break;
                *slash = '\0';
        }
}

static bool
mount_is_file(struct sandbox_ctx *ctx, size_t i)
{
        const struct build_mount *m = &ctx->cfg->mounts[i];
        struct stat st;

        if (m->type == BUILD_MOUNT_SECRET)
                return true;
        if (m->type == BUILD_MOUNT_BIND)
                return stat(ctx->mount_src[i], &st) == 0 && !S_ISDIR(st.st_mode);
        return false;
}

static const char *
mount_target(const struct build_mount *m, char *buf, size_t len)
{
        if (m->target && *m->target)
                return m->target;
        /* Secrets default to /run/secrets/ID. */
        snprintf(buf, len, "/run/secrets/%s", m->id ? m->id : "");
        return buf;
}

static void
build_skeleton(struct sandbox_ctx *ctx)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        char tbuf[LIMIT_PATH];

        if (!ctx->copy_mode && mount("tmpfs", ctx->skel, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                FAIL(ctx, errno, "mount tmpfs on %s: %s", ctx->skel, strerror(errno));
        skel_add(ctx, "/proc", true);
        skel_add(ctx, "/dev", true);
        skel_add(ctx, "/sys", true);
        skel_add(ctx, "/etc/resolv.conf", false);
        skel_add(ctx, "/etc/hosts", false);
        skel_add(ctx, "/etc/hostname", false);
        for (size_t i = 0; i < cfg->n_mounts; i++)
                skel_add(ctx, mount_target(&cfg->mounts[i], tbuf, sizeof(tbuf)), !mount_is_file(ctx, i));
        skel_fix_times(ctx, "proc");
        skel_fix_times(ctx, "dev");
        skel_fix_times(ctx, "sys");
        skel_fix_times(ctx, "etc/resolv.conf");
        for (size_t i = 0; i < cfg->n_mounts; i++)
                skel_fix_times(ctx, mount_target(&cfg->mounts[i], tbuf, sizeof(tbuf)) + 1);
}

/* ---- the overlay root ---------------------------------------------------- */

/* Append PATH to the option string, escaping what overlayfs treats as
 * separators (',' between options, ':' between lower dirs). */
static void
append_escaped(char *buf, size_t cap, size_t *off, const char *path)
{
        for (const char *p = path; *p; p++) {
                if ((*p == ',' || *p == ':' || *p == '\\') && *off + 1 < cap)
                        buf[(*off)++] = '\\';
                if (*off + 1 < cap)
                        buf[(*off)++] = *p;
        }
        buf[*off] = '\0';
}

static int
mount_overlay_fsconfig(struct sandbox_ctx *ctx)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        /* The new mount API (fsopen/fsconfig, "lowerdir+" since Linux 6.8)
         * takes one lower dir per call: no page-sized option limit. */
        int fs = (int) syscall(SYS_fsopen, "overlay", 1 /* FSOPEN_CLOEXEC */);
        int mnt, e;

        if (fs < 0)
                return -errno;
#define FSCONFIG(key, val)                                                                                 \
        (syscall(SYS_fsconfig, fs, (val) ? 1 /* SET_STRING */ : 0 /* SET_FLAG */, key, val, 0) < 0)
        if (FSCONFIG("lowerdir+", ctx->skel))
                goto fail;
        for (size_t i = 0; i < cfg->n_lowers; i++)
                if (FSCONFIG("lowerdir+", cfg->lowers[i]))
                        goto fail;
        if (FSCONFIG("upperdir", cfg->upper) || FSCONFIG("workdir", cfg->work) ||
            FSCONFIG("userxattr", (const char *) NULL))
                goto fail;
        if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) < 0)
                goto fail;
#undef FSCONFIG
        mnt = (int) syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, 0);
        if (mnt < 0)
                goto fail;
        close(fs);
        if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, ctx->root, 4 /* MOVE_MOUNT_F_EMPTY_PATH */) < 0) {
                e = errno;
                close(mnt);
                return -e;
        }
        close(mnt);
        return 0;
fail:
        e = errno;
        close(fs);
        return -e;
}

static void
mount_root(struct sandbox_ctx *ctx)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        char opts[4096];
        size_t off = 0;
        int r;

        if (ctx->copy_mode) {
                /* The copy snapshotter: COPY_ROOT holds the whole tree. */
                if (mount(ctx->copy_root, ctx->root, NULL, MS_BIND | MS_REC, NULL) < 0)
                        FAIL(ctx, errno, "bind %s: %s", ctx->copy_root, strerror(errno));
                return;
        }
        off += (size_t) snprintf(opts, sizeof(opts), "userxattr,lowerdir=");
        append_escaped(opts, sizeof(opts), &off, ctx->skel);
        for (size_t i = 0; i < cfg->n_lowers; i++) {
                if (off + 2 < sizeof(opts))
                        opts[off++] = ':';
                append_escaped(opts, sizeof(opts), &off, cfg->lowers[i]);
        }
        off += (size_t) snprintf(opts + off, sizeof(opts) - off, ",upperdir=");
        append_escaped(opts, sizeof(opts), &off, cfg->upper);
        off += (size_t) snprintf(opts + off, sizeof(opts) - off, ",workdir=");
        append_escaped(opts, sizeof(opts), &off, cfg->work);
        if (off + 1 < sizeof(opts) - 1) {
                if (mount("overlay", ctx->root, "overlay", 0, opts) == 0)
                        return;
                r = errno;
        } else {
                r = mount_overlay_fsconfig(ctx);
                if (r == 0)
                        return;
                r = -r;
        }
        /* ERR_UNSUPPORTED tells the caller to retry with the copy snapshotter. */
        FAIL(ctx, ERR_UNSUPPORTED, "mount overlay (%zu lower dirs, upper %s): %s", cfg->n_lowers, cfg->upper,
             strerror(r));
}

/* Remount a bind mount read-only.  Inside a user namespace the flags the
 * mount inherited from its source (nosuid, nodev, noexec, atime) are locked
 * and must be repeated, else the kernel refuses with EPERM. */
static int
remount_ro(const char *path)
{
        struct statvfs sv;
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;

        if (statvfs(path, &sv) < 0)
                return -1;
        if (sv.f_flag & ST_NOSUID)
                flags |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                flags |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                flags |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME)
                flags |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME)
                flags |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME)
                flags |= MS_RELATIME;
        return mount(NULL, path, NULL, flags, NULL);
}

static void
bind_mount(struct sandbox_ctx *ctx, const char *src, const char *dst, bool ro)
{
        if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                FAIL(ctx, errno, "bind %s on %s: %s", src, dst, strerror(errno));
        if (ro && remount_ro(dst) < 0)
                FAIL(ctx, errno, "remount %s read-only: %s", dst, strerror(errno));
}

/* Docker's masked and read-only /proc paths (moby oci/defaults.go): kernel
 * memory, keys and timers hidden behind /dev/null or an empty read-only
 * tmpfs, the sysctl and sysrq trees read-only.  Missing paths are fine. */
static void
mask_proc(struct sandbox_ctx *ctx)
{
        static const char *const masked[] = {"kcore", "keys", "timer_list", "sched_debug", "latency_stats",
                                             "acpi", "scsi"};
        static const char *const readonly[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};

        for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
                _cleanup_free_ char *p = xasprintf("%s/proc/%s", ctx->root, masked[i]);
                struct stat st;
                int r;

                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        r = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
                else
                        r = mount("/dev/null", p, NULL, MS_BIND, NULL);
                if (r < 0)
                        FAIL(ctx, errno, "masking %s: %s", p, strerror(errno));
        }
        for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
                _cleanup_free_ char *p = xasprintf("%s/proc/%s", ctx->root, readonly[i]);

                if (access(p, F_OK) < 0)
                        continue;
                if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 || remount_ro(p) < 0)
                        FAIL(ctx, errno, "making %s read-only: %s", p, strerror(errno));
        }
}

/* /sys read-only: a fresh sysfs when the step has its own network namespace
 * (the kernel ties sysfs to it), else the host's, bound recursively and
 * made read-only as a whole tree with mount_setattr(2) (Linux 5.12).
 * Without that call, /sys stays an empty dir rather than a writable one. */
static void
setup_sys(struct sandbox_ctx *ctx)
{
        _cleanup_free_ char *sys = xasprintf("%s/sys", ctx->root);
        struct {
                uint64_t attr_set, attr_clr, propagation, userns_fd;
        } attr = {.attr_set = 0x1 /* MOUNT_ATTR_RDONLY */};

        if (ctx->cfg->net == BUILD_SANDBOX_NET_NONE &&
            mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
                return;
        if (mount("/sys", sys, NULL, MS_BIND | MS_REC, NULL) < 0)
                FAIL(ctx, errno, "bind /sys: %s", strerror(errno));
        if (syscall(SYS_mount_setattr, AT_FDCWD, sys, 0x8000 /* AT_RECURSIVE */, &attr, sizeof(attr)) < 0 &&
            umount2(sys, MNT_DETACH) < 0)
                FAIL(ctx, errno, "unmounting /sys: %s", strerror(errno));
}

static void
setup_dev(struct sandbox_ctx *ctx)
{
        _cleanup_free_ char *dev = xasprintf("%s/dev", ctx->root);
        static const char *const links[][2] = {
                {"pts/ptmx", "ptmx"},       {"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
        };

        if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
                FAIL(ctx, errno, "mount tmpfs on %s: %s", dev, strerror(errno));
        for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
                _cleanup_free_ char *host = xasprintf("/dev/%s", dev_nodes[i]);
                _cleanup_free_ char *dst = xasprintf("%s/%s", dev, dev_nodes[i]);
                int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

                if (fd < 0)
                        FAIL(ctx, errno, "create %s: %s", dst, strerror(errno));
                close(fd);
                /* /dev/tty needs a controlling terminal to open but binds fine. */
                bind_mount(ctx, host, dst, false);
        }
        {
                _cleanup_free_ char *pts = xasprintf("%s/pts", dev);
                _cleanup_free_ char *shm = xasprintf("%s/shm", dev);

                if (mkdir(pts, 0755) < 0 || mkdir(shm, 01777) < 0)
                        FAIL(ctx, errno, "mkdir in %s: %s", dev, strerror(errno));
                if (mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
                        FAIL(ctx, errno, "mount devpts on %s: %s", pts, strerror(errno));
                if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0)
                        FAIL(ctx, errno, "mount tmpfs on %s: %s", shm, strerror(errno));
        }
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                _cleanup_free_ char *l = xasprintf("%s/%s", dev, links[i][1]);
                if (symlink(links[i][0], l) < 0)
                        FAIL(ctx, errno, "symlink %s: %s", l, strerror(errno));
        }
}

static void
copy_secret(struct sandbox_ctx *ctx, size_t i, const char *dst)
{
        const struct build_mount *m = &ctx->cfg->mounts[i];
        _cleanup_close_ int in = open(ctx->mount_src[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        _cleanup_close_ int out = -1;
        _cleanup_free_ char *data = NULL;
        size_t len;
        struct err *e = NULL;

        if (in < 0)
                FAIL(ctx, errno, "secret %s: open %s: %s", m->id ? m->id : "", ctx->mount_src[i], strerror(errno));
        if (fs_read_fd(in, SECRET_MAX, &data, &len, &e) < 0)
                FAIL(ctx, E2BIG, "secret %s: %s (limit %d bytes)", m->id ? m->id : "", err_msg(&e), SECRET_MAX);
        out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0 || fs_write_all(out, data, len, &e) < 0)
                FAIL(ctx, errno, "secret %s: writing %s", m->id ? m->id : "", dst);
        explicit_bzero(data, len);
        if (fchown(out, m->uid, m->gid) < 0)
                FAIL(ctx, errno, "secret %s: chown %u:%u: %s", m->id ? m->id : "", (unsigned) m->uid,
                     (unsigned) m->gid, strerror(errno));
        if (fchmod(out, m->mode ? m->mode : 0400) < 0)
                FAIL(ctx, errno, "secret %s: chmod: %s", m->id ? m->id : "", strerror(errno));
}

static void
setup_mounts(struct sandbox_ctx *ctx)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        bool secrets_mounted = false;
        char tbuf[LIMIT_PATH];

        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct build_mount *m = &cfg->mounts[i];
                _cleanup_free_ char *dst = xasprintf("%s%s", ctx->root, mount_target(m, tbuf, sizeof(tbuf)));

                switch (m->type) {
                case BUILD_MOUNT_BIND:
                        bind_mount(ctx, ctx->mount_src[i], dst, !m->rw);
                        break;
                case BUILD_MOUNT_CACHE:
                        if (!ctx->mount_src[i]) {
                                /* private sharing with the cache in use: a throwaway dir */
                                if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                                        FAIL(ctx, errno, "mount tmpfs on %s: %s", dst, strerror(errno));
                                if (chown(dst, m->uid, m->gid) < 0 || chmod(dst, m->mode ? m->mode : 0755) < 0)
                                        FAIL(ctx, errno, "chown %s: %s", dst, strerror(errno));
                                break;
                        }
                        if (ctx->mount_fresh[i] &&
                            (chown(ctx->mount_src[i], m->uid, m->gid) < 0 ||
                             chmod(ctx->mount_src[i], m->mode ? m->mode : 0755) < 0))
                                FAIL(ctx, errno, "cache %s: chown %s: %s", m->id ? m->id : m->target,
                                     ctx->mount_src[i], strerror(errno));
                        bind_mount(ctx, ctx->mount_src[i], dst, m->readonly);
                        break;
                case BUILD_MOUNT_TMPFS: {
                        char opts[64] = "mode=1777";
                        if (m->size)
                                snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long) m->size);
                        if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                                FAIL(ctx, errno, "mount tmpfs on %s: %s", dst, strerror(errno));
                        break;
                }
                case BUILD_MOUNT_SECRET: {
                        _cleanup_free_ char *copy = xasprintf("%s/%zu", ctx->secrets, i);
                        if (!secrets_mounted) {
                                if (mount("tmpfs", ctx->secrets, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                          "mode=0755,size=16m") < 0)
                                        FAIL(ctx, errno, "mount tmpfs on %s: %s", ctx->secrets, strerror(errno));
                                secrets_mounted = true;
                        }
                        copy_secret(ctx, i, copy);
                        bind_mount(ctx, copy, dst, true);
                        break;
                }
                }
        }
}

static void
loopback_up(struct sandbox_ctx *ctx)
{
        struct ifreq ifr = {0};
        _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (s < 0)
                FAIL(ctx, errno, "socket: %s", strerror(errno));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                FAIL(ctx, errno, "SIOCGIFFLAGS lo: %s", strerror(errno));
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
                FAIL(ctx, errno, "bringing up lo: %s", strerror(errno));
}

static void
enter_root(struct sandbox_ctx *ctx)
{
        /* pivot_root(".", ".") stacks the old root under the new one; the
         * lazy unmount then detaches it so no host path stays reachable. */
        if (chdir(ctx->root) < 0)
                FAIL(ctx, errno, "chdir %s: %s", ctx->root, strerror(errno));
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                FAIL(ctx, errno, "pivot_root %s: %s", ctx->root, strerror(errno));
        if (umount2(".", MNT_DETACH) < 0)
                FAIL(ctx, errno, "detaching the old root: %s", strerror(errno));
        if (chdir("/") < 0)
                FAIL(ctx, errno, "chdir /: %s", strerror(errno));
}

static char *
read_image_file(struct sandbox_ctx *ctx, const char *path)
{
        char *data = NULL;
        size_t len;
        struct err *e = NULL;

        if (fs_read_file(path, PASSWD_MAX, &data, &len, &e) < 0) {
                if (err_code(&e) != ENOENT)
                        FAIL(ctx, err_code(&e), "reading %s: %s", path, err_msg(&e));
                err_clear(&e);
                return NULL;
        }
        return data;
}

static const char *
env_get(char *const *env, const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

/* The command's environment: the caller's plus PATH and HOME defaults. */
static char **
make_env(struct sandbox_ctx *ctx, const struct build_user *u)
{
        char *const *env = ctx->cfg->env;
        size_t n = 0;
        char **out;

        while (env && env[n])
                n++;
        out = xcalloc(n + 3, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                out[i] = env[i];
        if (!env_get(env, "PATH"))
                out[n++] = (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        if (!env_get(env, "HOME"))
                out[n++] = xasprintf("HOME=%s", u->home[0] ? u->home : "/");
        return out;
}

static void
exec_search(struct sandbox_ctx *ctx, char *const *argv, char **env)
{
        const char *path;
        int saved = ENOENT;

        if (strchr(argv[0], '/')) {
                execve(argv[0], argv, env);
                FAIL(ctx, errno, "exec %s: %s", argv[0], strerror(errno));
        }
        path = env_get(env, "PATH");
        while (path && *path) {
                const char *colon = strchr(path, ':');
                size_t len = colon ? (size_t) (colon - path) : strlen(path);
                _cleanup_free_ char *cand = xasprintf("%.*s/%s", (int) len, path, argv[0]);

                execve(cand, argv, env);
                if (errno != ENOENT && errno != ENOTDIR)
                        saved = errno;
                path = colon ? colon + 1 : NULL;
        }
        FAIL(ctx, saved, "exec %s: %s in PATH %s", argv[0],
             saved == ENOENT ? "executable file not found" : strerror(saved), env_get(env, "PATH"));
}

static void
drop_privileges(struct sandbox_ctx *ctx, const struct build_user *u)
{
        struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2] = {{0}};
        int last = CAP_LAST_CAP;
        _cleanup_free_ char *lc = NULL;
        size_t len;
        struct err *e = NULL;

        if (fs_read_file("/proc/sys/kernel/cap_last_cap", 32, &lc, &len, &e) == 0)
                last = atoi(lc);
        err_clear(&e);
        /* The bounding set first (it needs CAP_SETPCAP), then the ids, then
         * the process's own sets. */
        for (int c = 0; c <= last; c++) {
                bool keep = false;
                for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
                        keep |= default_caps[i] == c;
                if (!keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
                        FAIL(ctx, errno, "dropping capability %d: %s", c, strerror(errno));
        }
        if (ctx->cfg->idmap.kind == BUILD_IDMAP_SINGLE && (u->uid != 0 || u->gid != 0))
                FAIL(ctx, EPERM,
                     "cannot run as %u:%u: only id 0 is mapped (no subordinate id range for this user)",
                     (unsigned) u->uid, (unsigned) u->gid);
        if (ctx->cfg->idmap.kind != BUILD_IDMAP_SINGLE && setgroups(u->n_groups, u->groups) < 0)
                FAIL(ctx, errno, "setgroups: %s", strerror(errno));
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                FAIL(ctx, errno, "setgid %u: %s", (unsigned) u->gid, strerror(errno));
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                FAIL(ctx, errno, "setuid %u: %s", (unsigned) u->uid, strerror(errno));
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (u->uid == 0) {
                for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++) {
                        int c = default_caps[i];
                        data[c / 32].effective |= 1u << (c % 32);
                        data[c / 32].permitted |= 1u << (c % 32);
                }
                if (syscall(SYS_capset, &hdr, data) < 0)
                        FAIL(ctx, errno, "capset: %s", strerror(errno));
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                FAIL(ctx, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
}

static int
dup_high(struct sandbox_ctx *ctx, int fd, const char *what)
{
        int r;

        if (fd < 0)
                fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        r = fcntl(fd, F_DUPFD_CLOEXEC, 10);
        if (r < 0)
                FAIL(ctx, errno, "dup %s: %s", what, strerror(errno));
        return r;
}

static __attribute__((noreturn)) void
run_command(struct sandbox_ctx *ctx, const struct build_user *u)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        int fds[3];
        sigset_t none;
        char **env;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
                signal(s, SIG_DFL);
        setsid();
        fds[0] = dup_high(ctx, cfg->stdin_fd, "stdin");
        fds[1] = dup_high(ctx, cfg->stdout_fd, "stdout");
        fds[2] = dup_high(ctx, cfg->stderr_fd, "stderr");
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)
                        FAIL(ctx, errno, "dup2: %s", strerror(errno));
        /* Nothing else of the caller's may leak into the step. */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                for (int fd = 3; fd < 1024; fd++)
                        if (fd != ctx->report_fd)
                                close(fd);
        for (size_t i = 0; i < cfg->n_rlimits; i++)
                if (setrlimit(cfg->rlimits[i].resource, &cfg->rlimits[i].limit) < 0)
                        FAIL(ctx, errno, "setrlimit %d: %s", cfg->rlimits[i].resource, strerror(errno));
        if (cfg->cwd && *cfg->cwd) {
                struct err *e = NULL;
                /* Docker creates a missing working directory (as root). */
                if (fs_mkdir_p(cfg->cwd, 0755, &e) < 0)
                        FAIL(ctx, err_code(&e), "working directory %s: %s", cfg->cwd, err_msg(&e));
        }
        drop_privileges(ctx, u);
        if (chdir(cfg->cwd && *cfg->cwd ? cfg->cwd : "/") < 0)
                FAIL(ctx, errno, "chdir %s: %s", cfg->cwd, strerror(errno));
        env = make_env(ctx, u);
        exec_search(ctx, cfg->argv, env);
        _exit(127);
}

void
sandbox_init_main(struct sandbox_ctx *ctx)
{
        const struct build_sandbox_config *cfg = ctx->cfg;
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        struct build_user u;
        struct err *e = NULL;
        pid_t cmd;
        int status;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (sethostname(cfg->hostname ? cfg->hostname : "ibuild",
                        strlen(cfg->hostname ? cfg->hostname : "ibuild")) < 0)
                FAIL(ctx, errno, "sethostname: %s", strerror(errno));
        if (cfg->net == BUILD_SANDBOX_NET_NONE)
                loopback_up(ctx);
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                FAIL(ctx, errno, "making / private: %s", strerror(errno));
        /* Mount points go on their own tmpfs layer, or (copy snapshotter)
         * straight into the copied tree, where the diff ignores them. */
        if (ctx->copy_mode) {
                mount_root(ctx);
                ctx->skel = ctx->root;
                build_skeleton(ctx);
        } else {
                build_skeleton(ctx);
                mount_root(ctx);
        }
        {
                _cleanup_free_ char *proc = xasprintf("%s/proc", ctx->root);
                if (mount("proc", proc, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
                        FAIL(ctx, errno, "mount proc on %s: %s", proc, strerror(errno));
        }
        mask_proc(ctx);
        setup_sys(ctx);
        setup_dev(ctx);
        {
                static const char *const files[] = {"resolv.conf", "hosts", "hostname"};
                for (size_t i = 0; i < 3; i++) {
                        _cleanup_free_ char *src = xasprintf("%s/%s", ctx->etc, files[i]);
                        _cleanup_free_ char *dst = xasprintf("%s/etc/%s", ctx->root, files[i]);
                        bind_mount(ctx, src, dst, false);
                }
        }
        setup_mounts(ctx);
        enter_root(ctx);

        passwd = read_image_file(ctx, "/etc/passwd");
        group = read_image_file(ctx, "/etc/group");
        if (build_user_resolve(cfg->user, passwd, group, &u, &e) < 0)
                FAIL(ctx, err_code(&e), "%s", err_msg(&e));

        cmd = fork();
        if (cmd < 0)
                FAIL(ctx, errno, "fork: %s", strerror(errno));
        if (cmd == 0)
                run_command(ctx, &u);
        /* pid 1: reap every orphan until the command itself exits; our exit
         * then makes the kernel kill whatever is left in the namespace. */
        for (;;) {
                pid_t p = waitpid(-1, &status, 0);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        FAIL(ctx, errno, "waitpid: %s", strerror(errno));
                if (p == cmd)
                        break;
        }
        sandbox_report_status(ctx->report_fd, status);
        _exit(0);
}
