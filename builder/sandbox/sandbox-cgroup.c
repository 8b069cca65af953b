/* cgroup v2 resource limits (memory, pids, cpus) for one sandboxed step.
 *
 * The caller's cgroup is the "0::PATH" line of /proc/self/cgroup; the
 * cgroup2 mount comes from /proc/self/mountinfo (hybrid hosts mount it at
 * /sys/fs/cgroup/unified, containers may mount a sub-tree).  Limits need
 * that cgroup to be delegated to the caller: its dir, cgroup.procs and
 * cgroup.subtree_control writable (root; systemd's Delegate=yes; rootless
 * podman's user session), with the controllers in cgroup.controllers.
 *
 * Layout, as crun and podman do it:
 *
 *   BASE/                  the caller's cgroup; +memory +pids +cpu in its
 *                          cgroup.subtree_control (only those requested)
 *   BASE/ibuild-init/      where the caller moves itself when it is BASE's
 *                          only process and BASE must be emptied to enable
 *                          controllers (cgroup v2's "no internal processes"
 *                          rule, cgroup-v2.rst 2-4-3); with other processes
 *                          in BASE those controllers are left out, with a
 *                          warning saying how to give ibuild its own cgroup
 *   BASE/ibuild-PID-N/     the step's leaf: limits written, the sandbox's
 *                          helper moved in before it runs anything, removed
 *                          after the step whatever its outcome
 *
 * A later ibuild started from a process in BASE/ibuild-init uses BASE
 * again rather than nesting another level.
 *
 * Whatever cannot be applied (no cgroup v2, not delegated, controller not
 * available) is reported as a warning naming the limit and the reason, and
 * the step runs without it, as rootless podman does. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"

#define INIT_LEAF "ibuild-init"
/* cpu.max period, the kernel's default (cgroup-v2.rst "cpu.max"). */
#define CPU_PERIOD_US 100000
/* The kernel refuses a cpu.max quota below 1 ms. */
#define CPU_MIN_QUOTA_US 1000
/* How long the leaf may stay populated after the step before we give up. */
#define REMOVE_WAIT_MS 5000

static const char *const ctl_names[] = {"memory", "pids", "cpu"};

/* Serialises enabling controllers and moving processes in BASE between
 * threads of one caller (steps of parallel stages). */
static pthread_mutex_t base_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned leaf_counter;

/* ---- pure helpers ----------------------------------------------------- */

unsigned
sandbox_cgroup_controllers(const char *text)
{
        unsigned mask = 0;
        const char *p = text ? text : "";

        while (*p) {
                size_t n;

                p += strspn(p, " \t\n");
                n = strcspn(p, " \t\n");
                for (size_t i = 0; i < sizeof(ctl_names) / sizeof(ctl_names[0]); i++)
                        if (n == strlen(ctl_names[i]) && strncmp(p, ctl_names[i], n) == 0)
                                mask |= 1u << i;
                p += n;
        }
        return mask;
}

const char *
sandbox_cgroup_controller_name(unsigned bit)
{
        for (size_t i = 0; i < sizeof(ctl_names) / sizeof(ctl_names[0]); i++)
                if (bit == 1u << i)
                        return ctl_names[i];
        return "?";
}

void
sandbox_cgroup_format_size(uint64_t bytes, char *buf, size_t len)
{
        static const struct {
                uint64_t mul;
                const char *unit;
        } units[] = {{1ULL << 40, "TiB"}, {1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};

        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (bytes >= units[i].mul && bytes % units[i].mul == 0) {
                        snprintf(buf, len, "%" PRIu64 " %s", bytes / units[i].mul, units[i].unit);
                        return;
                }
        snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

/* "0.5", "2", "1.25" for milli-CPUs. */
static void
format_cpus(uint32_t millis, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%" PRIu32 ".%03" PRIu32, millis / 1000, millis % 1000);

        while (n > 0 && (size_t) n < len && buf[n - 1] == '0')
                buf[--n] = '\0';
        if (n > 0 && (size_t) n < len && buf[n - 1] == '.')
                buf[--n] = '\0';
}

size_t
sandbox_cgroup_plan(uint64_t memory_max, uint64_t pids_max, uint32_t cpu_millis,
                    struct sandbox_cgroup_file ret_files[SANDBOX_CGROUP_MAX_FILES])
{
        size_t n = 0;

        if (memory_max) {
                ret_files[n] = (struct sandbox_cgroup_file){.name = "memory.max", .controller = SANDBOX_CG_MEMORY};
                snprintf(ret_files[n++].value, sizeof(ret_files[0].value), "%" PRIu64, memory_max);
                /* Without this the limit only moves the excess to swap. */
                ret_files[n] = (struct sandbox_cgroup_file){
                    .name = "memory.swap.max", .controller = SANDBOX_CG_MEMORY, .optional = true};
                snprintf(ret_files[n++].value, sizeof(ret_files[0].value), "0");
        }
        if (pids_max) {
                ret_files[n] = (struct sandbox_cgroup_file){.name = "pids.max", .controller = SANDBOX_CG_PIDS};
                snprintf(ret_files[n++].value, sizeof(ret_files[0].value), "%" PRIu64, pids_max);
        }
        if (cpu_millis) {
                uint64_t quota = (uint64_t) cpu_millis * CPU_PERIOD_US / 1000;

                if (quota < CPU_MIN_QUOTA_US)
                        quota = CPU_MIN_QUOTA_US;
                ret_files[n] = (struct sandbox_cgroup_file){.name = "cpu.max", .controller = SANDBOX_CG_CPU};
                snprintf(ret_files[n++].value, sizeof(ret_files[0].value), "%" PRIu64 " %d", quota, CPU_PERIOD_US);
        }
        return n;
}

/* Undo mountinfo's octal escapes ("\040" for a space, proc_pid_mountinfo(5))
 * in the N bytes at S. */
static char *
unescape(const char *s, size_t n)
{
        char *out = xmalloc(n + 1), *o = out;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) ((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
                        i += 3;
                } else {
                        *o++ = s[i];
                }
        }
        *o = '\0';
        return out;
}

/* Field IDX (0-based, space-separated) of the line [LINE, EOL). */
static bool
field(const char *line, const char *eol, int idx, const char **ret_start, size_t *ret_len)
{
        const char *p = line;

        for (int i = 0; p < eol; i++) {
                const char *end = memchr(p, ' ', (size_t) (eol - p));

                if (!end)
                        end = eol;
                if (i == idx) {
                        *ret_start = p;
                        *ret_len = (size_t) (end - p);
                        return true;
                }
                p = end + 1;
        }
        return false;
}

int
sandbox_cgroup_find(const char *mountinfo, const char *proc_cgroup, char **ret_dir, struct err **err)
{
        _cleanup_free_ char *path = NULL;
        bool any_cgroup2 = false;

        for (const char *p = proc_cgroup; p && *p;) {
                const char *eol = strchrnul(p, '\n');

                if (strncmp(p, "0::", 3) == 0) {
                        path = xstrndup(p + 3, (size_t) (eol - p - 3));
                        break;
                }
                p = *eol ? eol + 1 : eol;
        }
        if (!path)
                return err_set(err, ENOENT, "the caller is in no cgroup v2 (no \"0::\" line in /proc/self/cgroup)");
        if (path[0] != '/')
                return err_set(err, EINVAL, "/proc/self/cgroup: cgroup v2 path '%s' is not absolute", path);

        for (const char *line = mountinfo; line && *line;) {
                const char *eol = strchrnul(line, '\n');
                const char *sep = NULL, *s;
                const char *root_s, *mnt_s;
                size_t root_n, mnt_n, plen;
                _cleanup_free_ char *root = NULL, *mnt = NULL;
                const char *rel;

                /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SRC SUPEROPTS" */
                for (s = line; s + 3 <= eol; s++)
                        if (s[0] == ' ' && s[1] == '-' && s[2] == ' ') {
                                sep = s;
                                break;
                        }
                if (!sep || (size_t) (eol - (sep + 3)) < 8 || strncmp(sep + 3, "cgroup2", 7) != 0 ||
                    (sep[10] != ' ' && sep + 10 != eol) || !field(line, sep, 3, &root_s, &root_n) ||
                    !field(line, sep, 4, &mnt_s, &mnt_n)) {
                        line = *eol ? eol + 1 : eol;
                        continue;
                }
                any_cgroup2 = true;
                root = unescape(root_s, root_n);
                mnt = unescape(mnt_s, mnt_n);
                line = *eol ? eol + 1 : eol;
                /* A mount of a sub-tree (ROOT) only shows cgroups below it. */
                plen = strlen(root);
                while (plen > 1 && root[plen - 1] == '/')
                        root[--plen] = '\0';
                if (strcmp(root, "/") == 0)
                        rel = path;
                else if (strncmp(path, root, plen) == 0 && (path[plen] == '/' || path[plen] == '\0'))
                        rel = path + plen;
                else
                        continue;
                if (rel[0] == '\0' || strcmp(rel, "/") == 0)
                        *ret_dir = steal_ptr(&mnt);
                else
                        *ret_dir = xasprintf("%s%s", strcmp(mnt, "/") == 0 ? "" : mnt, rel);
                return 0;
        }
        if (!any_cgroup2)
                return err_set(err, ENOENT, "no cgroup v2 hierarchy is mounted (cgroup v1 only)");
        return err_set(err, ENOENT, "the caller's cgroup %s is not inside any mounted cgroup v2 hierarchy", path);
}

/* ---- the step's leaf -------------------------------------------------- */

static void warn_each(char **warnings, const struct build_sandbox_config *cfg, unsigned mask, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One warning per limit in MASK: "memory limit 64 MiB ignored: REASON". */
static void
warn_each(char **warnings, const struct build_sandbox_config *cfg, unsigned mask, const char *fmt, ...)
{
        _cleanup_free_ char *reason = NULL;
        va_list ap;
        char v[48];

        va_start(ap, fmt);
        if (vasprintf(&reason, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (mask & SANDBOX_CG_MEMORY) {
                sandbox_cgroup_format_size(cfg->memory_max, v, sizeof(v));
                sandbox_warn(warnings, "memory limit %s ignored: %s", v, reason);
        }
        if (mask & SANDBOX_CG_PIDS)
                sandbox_warn(warnings, "pids limit %" PRIu64 " ignored: %s", cfg->pids_max, reason);
        if (mask & SANDBOX_CG_CPU) {
                format_cpus(cfg->cpu_millis, v, sizeof(v));
                sandbox_warn(warnings, "cpus limit %s ignored: %s", v, reason);
        }
}

static int
write_str(int dirfd, const char *name, const char *value)
{
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0)
                return -errno;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

/* The content of cgroup file NAME in DIRFD, NULL when it cannot be read.
 * (noinline: inlined, gcc 12 reports a false -Wdangling-pointer.) */
static __attribute__((noinline)) char *
read_small(int dirfd, const char *name)
{
        char *text = NULL;
        struct err *e = NULL;

        if (fs_read_file_at(dirfd, name, LIMIT_PROC_FILE, &text, NULL, &e) < 0) {
                err_clear(&e);
                return NULL;
        }
        return text;
}

/* Why controller BIT is missing, for the warning: a hybrid host binds it to
 * a cgroup v1 hierarchy (the hierarchy column of /proc/cgroups). */
static const char *
missing_hint(unsigned bit)
{
        _cleanup_free_ char *text = NULL;
        struct err *e = NULL;
        const char *name = sandbox_cgroup_controller_name(bit);
        size_t n = strlen(name);

        if (fs_read_file("/proc/cgroups", LIMIT_PROC_FILE, &text, NULL, &e) < 0) {
                err_clear(&e);
                return "";
        }
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');

                if (strncmp(p, name, n) == 0 && (p[n] == '\t' || p[n] == ' '))
                        return strtol(p + n, NULL, 10) > 0 ? "; the host binds it to a cgroup v1 hierarchy" : "";
                p = *eol ? eol + 1 : eol;
        }
        return "";
}

static bool
writable(const char *dir, const char *name, char **ret_what)
{
        _cleanup_free_ char *p = name ? xasprintf("%s/%s", dir, name) : xstrdup(dir);

        /* The effective ids decide, as for the writes that follow. */
        if (faccessat(AT_FDCWD, p, W_OK | (name ? 0 : X_OK), AT_EACCESS) == 0)
                return true;
        *ret_what = xasprintf("%s: %s", p, strerror(errno));
        return false;
}

static bool
delegated(const char *dir, char **ret_what)
{
        return writable(dir, NULL, ret_what) && writable(dir, "cgroup.procs", ret_what) &&
               writable(dir, "cgroup.subtree_control", ret_what);
}

/* Move the caller out of BASE into BASE/ibuild-init, so that controllers
 * can be enabled in BASE, as crun does for itself.  Only when the caller
 * is BASE's only process: other processes (a login shell, a service's
 * siblings) are not ours to move, and *ret_other names one of them.
 * Called with base_lock held. */
static int
leave_base(int basefd, long *ret_other)
{
        _cleanup_close_ int initfd = -1;
        _cleanup_free_ char *procs = read_small(basefd, "cgroup.procs");
        char num[24];
        int r;

        if (!procs)
                return -EIO;
        for (char *p = procs; *p;) {
                char *end;
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid != (long) getpid()) {
                        *ret_other = pid;
                        return -EBUSY;
                }
                p = end + strspn(end, "\n");
        }
        if (mkdirat(basefd, INIT_LEAF, 0755) < 0 && errno != EEXIST)
                return -errno;
        initfd = openat(basefd, INIT_LEAF, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (initfd < 0)
                return -errno;
        /* A pid in cgroup.procs moves the whole process, every thread. */
        snprintf(num, sizeof(num), "%d", (int) getpid());
        r = write_str(initfd, "cgroup.procs", num);
        if (r == -EOPNOTSUPP) {
                /* We were put in BASE while a threaded controller (pids,
                 * cpu) was on in its subtree_control: that makes BASE a
                 * thread root, whose children take no processes.  No child
                 * of BASE has processes then (the kernel admits a process
                 * to such a BASE only so), so nothing uses those
                 * controllers: turn them off, move, turn them back on. */
                _cleanup_free_ char *cur = read_small(basefd, "cgroup.subtree_control");
                unsigned off = sandbox_cgroup_controllers(cur) & (SANDBOX_CG_PIDS | SANDBOX_CG_CPU);
                char tok[32];

                for (unsigned bit = 1; bit <= SANDBOX_CG_ALL; bit <<= 1) {
                        snprintf(tok, sizeof(tok), "-%s", sandbox_cgroup_controller_name(bit));
                        if ((off & bit) && write_str(basefd, "cgroup.subtree_control", tok) < 0)
                                off &= ~bit;
                }
                r = write_str(initfd, "cgroup.procs", num);
                for (unsigned bit = 1; bit <= SANDBOX_CG_ALL; bit <<= 1) {
                        int r2;

                        if (!(off & bit))
                                continue;
                        snprintf(tok, sizeof(tok), "+%s", sandbox_cgroup_controller_name(bit));
                        r2 = write_str(basefd, "cgroup.subtree_control", tok);
                        if (r2 < 0 && r == 0)
                                r = r2;
                }
        }
        return r;
}

/* leave_base() failed with R (OTHER: a pid left in BASE, or 0): why. */
static char *
leave_base_why(const char *base, int r, long other)
{
        if (other)
                return xasprintf("%s holds other processes (pid %ld), and cgroup v2 enables controllers "
                                 "only for a cgroup without processes of its own: run ibuild in a "
                                 "cgroup of its own (e.g. systemd-run --user --scope -p Delegate=yes)",
                                 base, other);
        return xasprintf("moving ourselves to %s/%s: %s", base, INIT_LEAF, strerror(-r));
}

/* Enable the controllers in WANT in BASE's cgroup.subtree_control, one at
 * a time so a failure names its controller.  Returns the part of WANT
 * that is enabled; *ret_why (caller frees) says why the rest is not.
 * Called with base_lock held. */
static unsigned
enable_controllers(int basefd, const char *base, unsigned want, char **ret_why)
{
        _cleanup_free_ char *cur = read_small(basefd, "cgroup.subtree_control");
        unsigned have = sandbox_cgroup_controllers(cur) & want;
        bool emptied = false;

        /* Below the root (which has no cgroup.type), a cgroup holding
         * processes cannot host limited children: the kernel refuses a
         * domain controller (memory) with EBUSY, but accepts a threaded
         * one (pids, cpu) and makes BASE a thread root, whose children
         * then refuse processes with EOPNOTSUPP.  So leave BASE first
         * when we are its only process. */
        if (want && faccessat(basefd, "cgroup.type", F_OK, 0) == 0) {
                _cleanup_free_ char *procs = read_small(basefd, "cgroup.procs");

                if (procs && procs[strspn(procs, " \n")]) {
                        long other = 0;
                        int r = leave_base(basefd, &other);

                        if (r < 0) {
                                free(*ret_why);
                                *ret_why = leave_base_why(base, r, other);
                                return have;
                        }
                        emptied = true;
                }
        }
        for (unsigned bit = 1; bit <= SANDBOX_CG_ALL; bit <<= 1) {
                char tok[32];
                int r;

                if (!(want & bit) || (have & bit))
                        continue;
                snprintf(tok, sizeof(tok), "+%s", sandbox_cgroup_controller_name(bit));
                r = write_str(basefd, "cgroup.subtree_control", tok);
                if (r == -EBUSY && !emptied) {
                        /* cgroup v2's no-internal-processes rule: BASE
                         * holds processes (the caller among them). */
                        long other = 0;

                        emptied = true;
                        r = leave_base(basefd, &other);
                        if (r < 0) {
                                free(*ret_why);
                                *ret_why = leave_base_why(base, r, other);
                                return have;
                        }
                        r = write_str(basefd, "cgroup.subtree_control", tok);
                }
                if (r < 0) {
                        free(*ret_why);
                        *ret_why =
                            xasprintf("writing \"%s\" to %s/cgroup.subtree_control: %s", tok, base, strerror(-r));
                        continue;
                }
                have |= bit;
        }
        return have;
}

/* The SANDBOX_CG_* bits of the limits CFG sets. */
static unsigned
limits_wanted(const struct build_sandbox_config *cfg)
{
        return (cfg->memory_max ? SANDBOX_CG_MEMORY : 0) | (cfg->pids_max ? SANDBOX_CG_PIDS : 0) |
               (cfg->cpu_millis ? SANDBOX_CG_CPU : 0);
}

int
sandbox_cgroup_setup(const struct build_sandbox_config *cfg, struct sandbox_cgroup *ret_cg, char **warnings,
                     struct err **err)
{
        _cleanup_free_ char *mi = NULL, *self = NULL, *dir = NULL;
        struct err *e = NULL;
        unsigned want = limits_wanted(cfg);

        if (!want) {
                *ret_cg = (struct sandbox_cgroup){.dirfd = -1};
                return 0;
        }
        if (fs_read_file("/proc/self/mountinfo", LIMIT_PROC_FILE, &mi, NULL, &e) < 0 ||
            fs_read_file("/proc/self/cgroup", LIMIT_PROC_FILE, &self, NULL, &e) < 0 ||
            sandbox_cgroup_find(mi, self, &dir, &e) < 0) {
                warn_each(warnings, cfg, want, "%s", err_msg(&e));
                err_clear(&e);
                *ret_cg = (struct sandbox_cgroup){.dirfd = -1};
                return 0;
        }
        return sandbox_cgroup_setup_in(cfg, dir, ret_cg, warnings, err);
}

int
sandbox_cgroup_setup_in(const struct build_sandbox_config *cfg, const char *dir, struct sandbox_cgroup *ret_cg,
                        char **warnings, struct err **err)
{
        struct sandbox_cgroup cg = {.dirfd = -1};
        struct sandbox_cgroup_file files[SANDBOX_CGROUP_MAX_FILES];
        _cleanup_free_ char *base = NULL, *why = NULL, *ctl = NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_close_ int basefd = -1;
        unsigned want = limits_wanted(cfg), apply;
        size_t nfiles;

        if (!want)
                goto done;

        base = xstrdup(dir);
        {
                /* Started from BASE/ibuild-init (moved there by an earlier
                 * ibuild): BASE is the cgroup to use. */
                char *slash = strrchr(dir, '/');
                char *ignored = NULL;

                if (slash && slash != dir && strcmp(slash + 1, INIT_LEAF) == 0) {
                        _cleanup_free_ char *parent = xstrndup(dir, (size_t) (slash - dir));

                        if (delegated(parent, &ignored)) {
                                free(base);
                                base = steal_ptr(&parent);
                        }
                        free(ignored);
                }
        }
        if (!delegated(base, &why)) {
                warn_each(warnings, cfg, want, "the cgroup %s is not delegated to uid %u (%s)", base,
                          (unsigned) geteuid(), why);
                goto done;
        }
        basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (basefd < 0) {
                warn_each(warnings, cfg, want, "opening cgroup %s: %s", base, strerror(errno));
                goto done;
        }
        ctl = read_small(basefd, "cgroup.controllers");
        if (ctl)
                ctl[strcspn(ctl, "\n")] = '\0';
        apply = want & sandbox_cgroup_controllers(ctl);
        for (unsigned bit = 1; bit <= SANDBOX_CG_ALL; bit <<= 1)
                if ((want & bit) && !(apply & bit))
                        warn_each(warnings, cfg, bit,
                                  "the cgroup v2 controller '%s' is not available in %s (cgroup.controllers: \"%s\"%s)",
                                  sandbox_cgroup_controller_name(bit), base, ctl ? ctl : "", missing_hint(bit));
        if (apply) {
                unsigned on;

                free(why);
                why = NULL;
                pthread_mutex_lock(&base_lock);
                on = enable_controllers(basefd, base, apply, &why);
                pthread_mutex_unlock(&base_lock);
                if (apply & ~on)
                        warn_each(warnings, cfg, apply & ~on, "%s", why ? why : "controller not enabled");
                apply &= on;
        }

        /* The step's leaf, even when no controller is usable: the step
         * still gets its own cgroup and is killed as a whole by it. */
        for (int tries = 0;; tries++) {
                unsigned n = __atomic_add_fetch(&leaf_counter, 1, __ATOMIC_RELAXED);

                free(name);
                name = xasprintf("ibuild-%d-%u", (int) getpid(), n);
                if (mkdirat(basefd, name, 0755) == 0)
                        break;
                if (errno != EEXIST || tries >= 100) {
                        warn_each(warnings, cfg, apply, "creating cgroup %s/%s: %s", base, name, strerror(errno));
                        goto done;
                }
        }
        cg.leaf = xasprintf("%s/%s", base, name);
        cg.dirfd = openat(basefd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cg.dirfd < 0) {
                int r = err_set(err, errno, "opening cgroup %s: %s", cg.leaf, strerror(errno));
                rmdir(cg.leaf);
                free(cg.leaf);
                return r;
        }
        if (apply & SANDBOX_CG_MEMORY)
                cg.memory_max = cfg->memory_max;
        nfiles = sandbox_cgroup_plan(cfg->memory_max, cfg->pids_max, cfg->cpu_millis, files);
        for (size_t i = 0; i < nfiles; i++) {
                int r;

                if (!(files[i].controller & apply))
                        continue;
                r = write_str(cg.dirfd, files[i].name, files[i].value);
                if (r == -ENOENT && files[i].optional)
                        continue;
                if (r < 0) {
                        struct build_sandbox_result dummy = {0};

                        r = err_set(err, -r, "cgroup %s: writing \"%s\" to %s: %s", cg.leaf, files[i].value,
                                    files[i].name, strerror(-r));
                        sandbox_cgroup_finish(&cg, &dummy);
                        build_sandbox_result_clear(&dummy);
                        return r;
                }
        }
done:
        *ret_cg = cg;
        return 0;
}

int
sandbox_cgroup_enter(const struct sandbox_cgroup *cg, pid_t pid, struct err **err)
{
        char num[24];
        int r;

        if (!cg || cg->dirfd < 0)
                return 0;
        snprintf(num, sizeof(num), "%d", (int) pid);
        r = write_str(cg->dirfd, "cgroup.procs", num);
        if (r < 0)
                return err_set(err, -r, "moving the sandbox into cgroup %s: %s", cg->leaf, strerror(-r));
        return 0;
}

/* Kill whatever is left in the leaf: cgroup.kill (Linux 5.14), else each
 * listed process (the step cannot fork any more once its pid 1 is gone). */
static void
kill_all(const struct sandbox_cgroup *cg)
{
        _cleanup_free_ char *procs = NULL;

        if (write_str(cg->dirfd, "cgroup.kill", "1") != -ENOENT)
                return;
        procs = read_small(cg->dirfd, "cgroup.procs");
        for (char *p = procs; p && *p;) {
                char *end;
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid > 0)
                        kill((pid_t) pid, SIGKILL);
                p = end + strspn(end, "\n");
        }
}

void
sandbox_cgroup_finish(struct sandbox_cgroup *cg, struct build_sandbox_result *res)
{
        struct timespec t0, now;
        bool killed = false;

        if (!cg || !cg->leaf)
                return;
        if (cg->memory_max) {
                _cleanup_free_ char *ev = read_small(cg->dirfd, "memory.events");
                const char *k = ev ? strstr(ev, "oom_kill ") : NULL;

                if (k && (k == ev || k[-1] == '\n') && strtoull(k + strlen("oom_kill "), NULL, 10) > 0) {
                        char v[48];

                        sandbox_cgroup_format_size(cg->memory_max, v, sizeof(v));
                        res->oom_killed = true;
                        if (res->signal == SIGKILL && !res->timed_out && !res->cancelled)
                                sandbox_warn(&res->warnings, "killed: out of memory (memory limit %s)", v);
                        else
                                sandbox_warn(&res->warnings,
                                             "a process of the step was killed: out of memory (memory limit %s)", v);
                }
        }
        /* Every process of the step is normally gone by now (its pid 1
         * and the helper were reaped); after a timeout or a kill the pid
         * namespace may still be dying. */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                long ms;

                if (rmdir(cg->leaf) == 0 || errno == ENOENT)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
                if (errno != EBUSY || ms > REMOVE_WAIT_MS) {
                        sandbox_warn(&res->warnings, "removing cgroup %s: %s", cg->leaf, strerror(errno));
                        break;
                }
                if (!killed) {
                        kill_all(cg);
                        killed = true;
                }
                nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
        }
        close(cg->dirfd);
        cg->dirfd = -1;
        free(cg->leaf);
        cg->leaf = NULL;
}

/* ---- option values ---------------------------------------------------- */

#define MEMORY_MIN (6ULL << 20)
#define CPUS_MAX 4096
#define PIDS_MAX 4194304

/* Digits at *P into *RET (with overflow check); *P moves past them.  The
 * number of digits is returned, -1 on overflow. */
static int
digits(const char **p, uint64_t *ret)
{
        uint64_t v = 0;
        int n = 0;

        while (**p >= '0' && **p <= '9') {
                if (v > (UINT64_MAX - 9) / 10)
                        return -1;
                v = v * 10 + (uint64_t) (**p - '0');
                (*p)++;
                n++;
        }
        *ret = v;
        return n;
}

int
build_sandbox_parse_memory(const char *s, uint64_t *ret_bytes, struct err **err)
{
        const char *p = s ? s : "";
        uint64_t whole, frac = 0, frac_div = 1, mul = 1, bytes;
        int n;

        n = digits(&p, &whole);
        if (n < 0)
                return err_set(err, ERANGE, "memory size '%s' is too large", s);
        if (n == 0)
                return err_set(err, EINVAL,
                               "memory size '%s': expected a number with an optional unit (b, k, m, g, t, p), "
                               "such as 512m or 1g",
                               s ? s : "");
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return err_set(err, EINVAL, "memory size '%s': expected a digit after '.' at position %zu", s,
                                       (size_t) (p - s) + 1);
                /* Nine decimals are finer than a byte of any unit. */
                for (int i = 0; *p >= '0' && *p <= '9'; i++, p++)
                        if (i < 9) {
                                frac = frac * 10 + (uint64_t) (*p - '0');
                                frac_div *= 10;
                        }
        }
        if (*p == ' ')
                p++;
        switch (tolower((unsigned char) *p)) {
        case 'k':
                mul = 1ULL << 10;
                break;
        case 'm':
                mul = 1ULL << 20;
                break;
        case 'g':
                mul = 1ULL << 30;
                break;
        case 't':
                mul = 1ULL << 40;
                break;
        case 'p':
                mul = 1ULL << 50;
                break;
        default:
                break;
        }
        if (mul > 1) {
                p++;
                if (*p == 'i' || *p == 'I')
                        p++;
        }
        if (*p == 'b' || *p == 'B')
                p++;
        if (*p)
                return err_set(err, EINVAL,
                               "memory size '%s': unexpected '%c' at position %zu (units: b, k, m, g, t, p)", s, *p,
                               (size_t) (p - s) + 1);
        if (whole > UINT64_MAX / mul)
                return err_set(err, ERANGE, "memory size '%s' is too large", s);
        bytes = whole * mul + (uint64_t) ((long double) frac * (long double) mul / (long double) frac_div);
        if (bytes < whole * mul)
                return err_set(err, ERANGE, "memory size '%s' is too large", s);
        if (bytes < MEMORY_MIN)
                return err_set(err, EINVAL, "memory size '%s' is below the minimum of 6 MiB", s);
        *ret_bytes = bytes;
        return 0;
}

int
build_sandbox_parse_cpus(const char *s, uint32_t *ret_millis, struct err **err)
{
        const char *p = s ? s : "";
        uint64_t whole = 0, millis;
        uint32_t frac = 0;
        int n;

        n = digits(&p, &whole);
        if (n < 0 || whole > CPUS_MAX)
                return err_set(err, ERANGE, "cpus '%s': at most %d", s, CPUS_MAX);
        if (*p == '.') {
                p++;
                for (int i = 0; *p >= '0' && *p <= '9'; i++, p++, n++)
                        if (i < 3)
                                frac += (uint32_t) (*p - '0') * (i == 0 ? 100 : i == 1 ? 10 : 1);
        }
        if (n == 0)
                return err_set(err, EINVAL, "cpus '%s': expected a number such as 0.5 or 2", s ? s : "");
        if (*p)
                return err_set(err, EINVAL, "cpus '%s': unexpected '%c' at position %zu", s, *p, (size_t) (p - s) + 1);
        millis = whole * 1000 + frac;
        if (millis < 10)
                return err_set(err, EINVAL, "cpus '%s': at least 0.01", s);
        if (millis > CPUS_MAX * 1000)
                return err_set(err, ERANGE, "cpus '%s': at most %d", s, CPUS_MAX);
        *ret_millis = (uint32_t) millis;
        return 0;
}

int
build_sandbox_parse_pids(const char *s, uint64_t *ret_max, struct err **err)
{
        const char *p = s ? s : "";
        uint64_t v;
        int n;

        if (strcmp(p, "-1") == 0) {
                *ret_max = 0;
                return 0;
        }
        n = digits(&p, &v);
        if (n <= 0 || *p)
                return err_set(err, EINVAL, "pids limit '%s': expected a positive number (0 or -1: no limit)",
                               s ? s : "");
        if (v > PIDS_MAX)
                return err_set(err, ERANGE, "pids limit '%s': at most %d", s, PIDS_MAX);
        *ret_max = v;
        return 0;
}
