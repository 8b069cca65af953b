/* build_sandbox_run(): the caller's side.  Prepares the per-run dir,
 * forks the namespace helper, enforces the timeout and collects the
 * result.  See sandbox.h for the process layout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "digest/digest.h"

void
build_sandbox_result_clear(struct build_sandbox_result *res)
{
        if (!res)
                return;
        free(res->warnings);
        res->warnings = NULL;
}

void
sandbox_warn(char **warnings, const char *fmt, ...)
{
        va_list ap;
        char *msg, *joined;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        joined = *warnings ? xasprintf("%s\n%s", *warnings, msg) : xstrdup(msg);
        free(msg);
        free(*warnings);
        *warnings = joined;
}

int
build_sandbox_remove_workdir(const char *work, struct err **err)
{
        _cleanup_free_ char *inner = xasprintf("%s/work", work);

        /* overlayfs leaves WORK/work with mode 000; we own it, so open it up. */
        chmod(inner, 0700);
        return fs_rm_rf(work, err);
}

/* A mount target must be absolute and free of "." and ".." components. */
static int
check_target(const char *t, struct err **err)
{
        const char *p;

        if (!t || t[0] != '/' || strlen(t) >= LIMIT_PATH)
                return err_set(err, EINVAL, "mount target '%s' must be an absolute path", t ? t : "");
        for (p = t; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return err_set(err, EINVAL, "mount target '%s' must not contain '.' or '..'", t);
                p += n;
        }
        if (t[strspn(t, "/")] == '\0')
                return err_set(err, EINVAL, "mount target '/' is not allowed");
        return 0;
}

static int
check_config(const struct build_sandbox_config *cfg, struct err **err)
{
        if (!cfg->argv || !cfg->argv[0] || !cfg->argv[0][0])
                return err_set(err, EINVAL, "sandbox: empty command");
        if (!cfg->upper || !cfg->work)
                return err_set(err, EINVAL, "sandbox: upper and work dirs are required");
        if (cfg->cwd && cfg->cwd[0] != '/')
                return err_set(err, EINVAL, "sandbox: working directory '%s' is not absolute", cfg->cwd);
        if (cfg->hostname && strlen(cfg->hostname) > 64)
                return err_set(err, EINVAL, "sandbox: hostname '%s' longer than 64 bytes", cfg->hostname);
        for (size_t i = 0; i < cfg->n_lowers; i++)
                if (!cfg->lowers[i] || cfg->lowers[i][0] != '/')
                        return err_set(err, EINVAL, "sandbox: lower dir %zu '%s' is not absolute", i,
                                       cfg->lowers[i] ? cfg->lowers[i] : "");
        if (cfg->upper[0] != '/' || cfg->work[0] != '/')
                return err_set(err, EINVAL, "sandbox: upper/work dirs must be absolute");
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct build_mount *m = &cfg->mounts[i];
                int r;

                if (m->type == BUILD_MOUNT_SECRET && (!m->target || !*m->target)) {
                        if (!m->id || !*m->id || strchr(m->id, '/') || strcmp(m->id, ".") == 0 ||
                            strcmp(m->id, "..") == 0)
                                return err_set(err, EINVAL, "secret mount: id '%s' is not a valid file name",
                                               m->id ? m->id : "");
                } else if ((r = check_target(m->target, err)) < 0) {
                        return r;
                }
                if ((m->type == BUILD_MOUNT_BIND || m->type == BUILD_MOUNT_SECRET) && (!m->source || !*m->source))
                        return err_set(err, EINVAL, "%s mount on %s: no source",
                                       m->type == BUILD_MOUNT_BIND ? "bind" : "secret",
                                       m->target ? m->target : m->id);
                if (m->type == BUILD_MOUNT_CACHE && !cfg->cache_root)
                        return err_set(err, EINVAL, "cache mount on %s: no cache root configured", m->target);
        }
        return 0;
}

static int
write_etc_files(const char *etc, const struct build_sandbox_config *cfg, struct err **err)
{
        const char *host = cfg->hostname ? cfg->hostname : "ibuild";
        _cleanup_free_ char *resolv = NULL, *hosts = NULL, *hostname = NULL, *path = NULL;
        _cleanup_free_ char *hostresolv = NULL;
        size_t len = 0;
        struct err *e = NULL;
        int r;

        /* With the host network the host's resolver configuration works as
         * is; without a network there is nothing to resolve against. */
        if (cfg->net == BUILD_SANDBOX_NET_HOST && fs_read_file("/etc/resolv.conf", 64 * 1024, &hostresolv, &len, &e) < 0)
                err_clear(&e);
        resolv = hostresolv ? xstrdup(hostresolv) : xstrdup("");
        hosts = xasprintf("127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", host);
        hostname = xasprintf("%s\n", host);
        path = xasprintf("%s/resolv.conf", etc);
        r = fs_write_atomic(path, resolv, strlen(resolv), 0644, err);
        free(path);
        path = xasprintf("%s/hosts", etc);
        if (r == 0)
                r = fs_write_atomic(path, hosts, strlen(hosts), 0644, err);
        free(path);
        path = xasprintf("%s/hostname", etc);
        if (r == 0)
                r = fs_write_atomic(path, hostname, strlen(hostname), 0644, err);
        return r;
}

/* Resolve the host side of each mount; for cache mounts create the dir
 * and take the lock LOCKED/PRIVATE sharing asks for (fds stay open for the
 * run and are returned in LOCKS). */
static int
prepare_mounts(struct sandbox_ctx *ctx, int *locks, struct err **err)
{
        const struct build_sandbox_config *cfg = ctx->cfg;

        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct build_mount *m = &cfg->mounts[i];
                struct stat st;

                locks[i] = -1;
                if (m->type == BUILD_MOUNT_BIND || m->type == BUILD_MOUNT_SECRET) {
                        char *real = realpath(m->source, NULL);
                        if (!real)
                                return err_set(err, errno, "%s mount: source %s: %s",
                                               m->type == BUILD_MOUNT_BIND ? "bind" : "secret", m->source,
                                               strerror(errno));
                        if (m->type == BUILD_MOUNT_SECRET && (stat(real, &st) < 0 || !S_ISREG(st.st_mode))) {
                                free(real);
                                return err_set(err, EINVAL, "secret %s: %s is not a regular file",
                                               m->id ? m->id : "", m->source);
                        }
                        ctx->mount_src[i] = real;
                } else if (m->type == BUILD_MOUNT_CACHE) {
                        const char *id = m->id && *m->id ? m->id : m->target;
                        struct digest d;
                        _cleanup_free_ char *lock = NULL;
                        int r;

                        /* Ids are free-form: key the dir by their digest. */
                        digest_buffer(DIGEST_SHA256, id, strlen(id), &d);
                        r = fs_mkdir_p(cfg->cache_root, 0700, err);
                        if (r < 0)
                                return err_prefix(err, "cache root");
                        ctx->mount_src[i] = xasprintf("%s/%s", cfg->cache_root, d.hex);
                        if (m->sharing != BUILD_MOUNT_SHARED) {
                                lock = xasprintf("%s/%s.lock", cfg->cache_root, d.hex);
                                locks[i] = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                                if (locks[i] < 0)
                                        return err_set(err, errno, "cache %s: open %s: %s", id, lock, strerror(errno));
                                if (m->sharing == BUILD_MOUNT_LOCKED) {
                                        while (flock(locks[i], LOCK_EX) < 0)
                                                if (errno != EINTR)
                                                        return err_set(err, errno, "cache %s: lock %s: %s", id, lock,
                                                                       strerror(errno));
                                } else if (flock(locks[i], LOCK_EX | LOCK_NB) < 0) {
                                        /* private: someone else has it, so this run
                                         * gets an empty throwaway dir instead. */
                                        free(ctx->mount_src[i]);
                                        ctx->mount_src[i] = NULL;
                                        continue;
                                }
                        }
                        if (mkdir(ctx->mount_src[i], 0755) == 0)
                                ctx->mount_fresh[i] = true;
                        else if (errno != EEXIST)
                                return err_set(err, errno, "cache %s: mkdir %s: %s", id, ctx->mount_src[i],
                                               strerror(errno));
                }
        }
        return 0;
}

/* Close every fd except 0-2 and KEEP.  The caller may be multi-threaded:
 * fds other threads opened (their pipes, their cache locks) must not stay
 * open in our long-lived helper and init, or those threads would wait for
 * EOFs and lock releases until this step ends. */
static void
close_other_fds(int *keep, size_t n)
{
        int lo = 3;

        /* sort the few fds to keep */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
                        int t = keep[j];
                        keep[j] = keep[j - 1];
                        keep[j - 1] = t;
                }
        for (size_t i = 0; i <= n; i++) {
                int hi = i < n ? keep[i] - 1 : -1;

                if (i < n && keep[i] < lo)
                        continue;
                if (i == n) {
                        if (syscall(SYS_close_range, lo, ~0U, 0) < 0)
                                for (int fd = lo; fd < 1024; fd++)
                                        close(fd);
                        break;
                }
                if (hi >= lo && syscall(SYS_close_range, lo, hi, 0) < 0)
                        for (int fd = lo; fd <= hi; fd++)
                                close(fd);
                lo = keep[i] + 1;
        }
}

static long
ms_since(const struct timespec *t0)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
kill_init(int pidfd_init, pid_t helper)
{
        /* Killing pid 1 makes the kernel kill every process in the pid
         * namespace; the helper only waits for it. */
        if (pidfd_init >= 0)
                syscall(SYS_pidfd_send_signal, pidfd_init, SIGKILL, NULL, 0);
        kill(helper, SIGKILL);
}

/* One attempt: with COPY_ROOT set, that tree (already populated) is the
 * root instead of an overlay; the helper goes into cgroup CG.  Fills RES
 * (warnings are appended) and returns 0 when the command ran. */
static int
run_once(const struct build_sandbox_config *cfg, const char *copy_root, const struct sandbox_cgroup *cg,
         struct build_sandbox_result *ret_res, struct err **err)
{
        struct sandbox_ctx ctx = {.cfg = cfg, .report_fd = -1, .copy_root = copy_root};
        struct build_sandbox_result res = {.warnings = ret_res->warnings};
        _cleanup_free_ char *run_dir = NULL;
        _cleanup_free_ int *locks = NULL;
        _cleanup_close_ int pidfd = -1, pidfd_init = -1;
        int rep[2] = {-1, -1}, pidpipe[2] = {-1, -1};
        const char *tmp;
        int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
        int r, status = -1, wstatus = 0;
        pid_t helper = -1, init = -1;
        struct timespec t0;

        ctx.copy_mode = copy_root != NULL;
        if (cfg->net == BUILD_SANDBOX_NET_NONE)
                flags |= CLONE_NEWNET;
        tmp = cfg->run_dir ? cfg->run_dir : getenv("TMPDIR");
        r = fs_mkdtemp_in(tmp && *tmp ? tmp : "/tmp", "ibuild-run-", &run_dir, err);
        if (r < 0)
                goto out;
        chmod(run_dir, 0755);
        ctx.run_dir = run_dir;
        ctx.root = xasprintf("%s/root", run_dir);
        ctx.skel = xasprintf("%s/skel", run_dir);
        ctx.secrets = xasprintf("%s/secrets", run_dir);
        ctx.etc = xasprintf("%s/etc", run_dir);
        if (mkdir(ctx.root, 0755) < 0 || mkdir(ctx.skel, 0755) < 0 || mkdir(ctx.secrets, 0755) < 0 ||
            mkdir(ctx.etc, 0755) < 0) {
                r = err_set(err, errno, "creating run dir %s: %s", run_dir, strerror(errno));
                goto out;
        }
        r = write_etc_files(ctx.etc, cfg, err);
        if (r < 0)
                goto out;
        ctx.mount_src = xcalloc(cfg->n_mounts + 1, sizeof(char *));
        ctx.mount_fresh = xcalloc(cfg->n_mounts + 1, sizeof(bool));
        locks = xcalloc(cfg->n_mounts + 1, sizeof(int));
        for (size_t i = 0; i < cfg->n_mounts; i++)
                locks[i] = -1;
        r = prepare_mounts(&ctx, locks, err);
        if (r < 0)
                goto out;

        if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(pidpipe, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "pipe: %s", strerror(errno));
                goto out;
        }
        ctx.report_fd = rep[1];
        clock_gettime(CLOCK_MONOTONIC, &t0);
        helper = sandbox_fork_userns(&cfg->idmap, flags, cg, err);
        if (helper < 0) {
                r = (int) helper;
                helper = -1;
                goto out;
        }
        if (helper == 0) {
                /* The helper: outside the new pid namespace, parent of its pid 1. */
                pid_t child;
                int st;

                int keep[] = {rep[1], pidpipe[1], cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd};

                close_other_fds(keep, sizeof(keep) / sizeof(keep[0]));
                child = fork();
                if (child < 0) {
                        sandbox_report_err(rep[1], errno, "fork: %s", strerror(errno));
                        _exit(125);
                }
                if (child == 0) {
                        close(pidpipe[1]);
                        sandbox_init_main(&ctx);
                }
                close(rep[1]);
                if (write(pidpipe[1], &child, sizeof(child)) != sizeof(child))
                        _exit(125);
                close(pidpipe[1]);
                while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(rep[1]);
        rep[1] = -1;
        close(pidpipe[1]);
        pidpipe[1] = -1;
        pidfd = (int) syscall(SYS_pidfd_open, helper, 0);
        {
                ssize_t n;
                do
                        n = read(pidpipe[0], &init, sizeof(init));
                while (n < 0 && errno == EINTR);
                if (n == sizeof(init))
                        pidfd_init = (int) syscall(SYS_pidfd_open, init, 0);
        }

        /* Wait for the helper, which exits once pid 1 (and so every process
         * of the step) is gone. */
        for (;;) {
                struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
                int timeout = -1;
                int pr;

                if (cfg->timeout_sec) {
                        long left = (long) cfg->timeout_sec * 1000 - ms_since(&t0);
                        if (left <= 0) {
                                res.timed_out = true;
                                kill_init(pidfd_init, helper);
                                break;
                        }
                        timeout = left > 60000 ? 60000 : (int) left;
                }
                if (cfg->cancel && *cfg->cancel) {
                        res.cancelled = true;
                        kill_init(pidfd_init, helper);
                        break;
                }
                if (pidfd < 0) {
                        /* No pidfd (old kernel): poll the child. */
                        if (waitpid(helper, &wstatus, WNOHANG) == helper) {
                                helper = -1;
                                break;
                        }
                        usleep(20000);
                        continue;
                }
                pr = poll(&pfd, 1, timeout);
                if (pr > 0)
                        break;
                if (pr < 0 && errno != EINTR) {
                        r = err_set(err, errno, "poll: %s", strerror(errno));
                        kill_init(pidfd_init, helper);
                        break;
                }
        }
        if (helper > 0)
                while (waitpid(helper, &wstatus, 0) < 0 && errno == EINTR)
                        ;
        helper = -1;
        if (r < 0)
                goto out;

        r = sandbox_read_report(rep[0], &status, err);
        if (res.timed_out || res.cancelled) {
                /* Whatever setup reported, the step was stopped. */
                err_clear(err);
                r = 0;
                res.signal = SIGKILL;
                res.exit_code = 128 + SIGKILL;
                if (res.timed_out)
                        sandbox_warn(&res.warnings, "step killed after the %u s timeout", cfg->timeout_sec);
                goto out;
        }
        if (r < 0) {
                err_prefix(err, "sandbox");
                goto out;
        }
        if (status == -1) {
                r = err_set(err, EIO, "sandbox: init process died without a status (helper status %d)", wstatus);
                goto out;
        }
        if (WIFSIGNALED(status)) {
                res.signal = WTERMSIG(status);
                res.exit_code = 128 + res.signal;
        } else {
                res.exit_code = WEXITSTATUS(status);
        }
out:
        if (helper > 0) {
                kill_init(pidfd_init, helper);
                while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (rep[0] >= 0)
                close(rep[0]);
        if (rep[1] >= 0)
                close(rep[1]);
        if (pidpipe[0] >= 0)
                close(pidpipe[0]);
        if (pidpipe[1] >= 0)
                close(pidpipe[1]);
        for (size_t i = 0; locks && i < cfg->n_mounts; i++)
                if (locks[i] >= 0)
                        close(locks[i]);
        for (size_t i = 0; ctx.mount_src && i < cfg->n_mounts; i++)
                free(ctx.mount_src[i]);
        free(ctx.mount_src);
        free(ctx.mount_fresh);
        free(ctx.root);
        free(ctx.skel);
        free(ctx.secrets);
        free(ctx.etc);
        if (run_dir) {
                /* Everything in it was mounted over in the dead namespace
                 * only, so these are plain empty dirs and our own files. */
                struct err *e = NULL;
                if (fs_rm_rf(run_dir, &e) < 0 && r == 0)
                        sandbox_warn(&res.warnings, "removing %s: %s", run_dir, err_msg(&e));
                err_clear(&e);
        }
        *ret_res = res;
        return r;
}

struct copy_arg {
        const struct build_sandbox_config *cfg;
        const char *root;
        char **ignore;
        size_t n_ignore;
};

static int
populate_fn(void *p, struct err **err)
{
        struct copy_arg *a = p;

        if (mkdir(a->root, 0755) < 0)
                return err_set(err, errno, "mkdir %s: %s", a->root, strerror(errno));
        return sandbox_copy_populate(a->cfg, a->root, err);
}

static int
diff_fn(void *p, struct err **err)
{
        struct copy_arg *a = p;

        return sandbox_copy_diff(a->cfg, a->root, a->ignore, a->n_ignore, err);
}

static int
remove_fn(void *p, struct err **err)
{
        return fs_rm_rf(p, err);
}

/* The copy snapshotter around one run: populate WORK/copyroot from the
 * lowers, run there, write the differences to the upper dir, remove the
 * copy. */
static int
run_copy(const struct build_sandbox_config *cfg, const struct sandbox_cgroup *cg, struct build_sandbox_result *res,
         struct err **err)
{
        _cleanup_free_ char *root = xasprintf("%s/copyroot", cfg->work);
        struct copy_arg a = {.cfg = cfg, .root = root};
        char tbuf[LIMIT_PATH];
        int r;

        /* What the sandbox mounts over; see sandbox-child.c's skeleton. */
        a.ignore = xcalloc(cfg->n_mounts + 6, sizeof(char *));
        a.ignore[a.n_ignore++] = xstrdup("/proc");
        a.ignore[a.n_ignore++] = xstrdup("/sys");
        a.ignore[a.n_ignore++] = xstrdup("/dev");
        a.ignore[a.n_ignore++] = xstrdup("/etc/resolv.conf");
        a.ignore[a.n_ignore++] = xstrdup("/etc/hosts");
        a.ignore[a.n_ignore++] = xstrdup("/etc/hostname");
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const struct build_mount *m = &cfg->mounts[i];
                if (m->target && *m->target)
                        snprintf(tbuf, sizeof(tbuf), "%s", m->target);
                else
                        snprintf(tbuf, sizeof(tbuf), "/run/secrets/%s", m->id ? m->id : "");
                a.ignore[a.n_ignore++] = xstrdup(tbuf);
        }
        r = build_idmap_call(&cfg->idmap, populate_fn, &a, err);
        if (r == 0)
                r = run_once(cfg, root, cg, res, err);
        if (r == 0 && !res->timed_out && !res->cancelled) {
                r = build_idmap_call(&cfg->idmap, diff_fn, &a, err);
                if (r < 0)
                        err_prefix(err, "copy snapshotter");
        }
        {
                struct err *e = NULL;
                if (build_idmap_call(&cfg->idmap, remove_fn, root, &e) < 0 && r == 0)
                        sandbox_warn(&res->warnings, "removing %s: %s", root, err_msg(&e));
                err_clear(&e);
        }
        for (size_t i = 0; i < a.n_ignore; i++)
                free(a.ignore[i]);
        free(a.ignore);
        return r;
}

int
build_sandbox_run(const struct build_sandbox_config *cfg, struct build_sandbox_result *ret_result,
                  struct err **err)
{
        struct build_sandbox_result res = {0};
        struct sandbox_cgroup cg = {.dirfd = -1};
        const char *snap = getenv("IBUILD_SNAPSHOTTER");
        int r;

        r = check_config(cfg, err);
        if (r < 0)
                return r;
        if (cfg->idmap.kind == BUILD_IDMAP_SINGLE)
                sandbox_warn(&res.warnings, "single id mapping: only root (0:0) exists in the sandbox");
        /* One leaf for every attempt: a failed overlay attempt leaves
         * nothing running in it. */
        r = sandbox_cgroup_setup(cfg, &cg, &res.warnings, err);
        if (r < 0) {
                build_sandbox_result_clear(&res);
                return r;
        }
        if (snap && strcmp(snap, "copy") == 0) {
                sandbox_warn(&res.warnings, "IBUILD_SNAPSHOTTER=copy: using the copy snapshotter (copies the whole "
                                            "root file system for every step and compares it afterwards: slow)");
                r = run_copy(cfg, &cg, &res, err);
        } else {
                r = run_once(cfg, NULL, &cg, &res, err);
                if (r < 0 && err_code(err) == ERR_UNSUPPORTED) {
                        /* The overlay mount failed before anything ran. */
                        sandbox_warn(&res.warnings,
                                     "native overlayfs unavailable (%s): falling back to the copy snapshotter (copies "
                                     "the whole root file system; slow)",
                                     err_msg(err));
                        err_clear(err);
                        r = run_copy(cfg, &cg, &res, err);
                }
        }
        /* Every process of the step is gone or dying: remove its cgroup. */
        sandbox_cgroup_finish(&cg, &res);
        if (r < 0) {
                build_sandbox_result_clear(&res);
                return r;
        }
        *ret_result = res;
        return 0;
}
