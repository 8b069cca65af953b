/* User-namespace id mappings: choosing one, applying it to a child, and
 * running a function inside it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/sandbox/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#define SUBID_FILE_CAP (1024 * 1024)

static bool
parse_u32(const char *s, size_t len, uint32_t *ret)
{
        uint64_t v = 0;

        if (len == 0 || len > 10)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

int
build_idmap_parse_subid(const char *text, const char *name, uint32_t id, uint32_t *ret_start,
                        uint32_t *ret_count, struct err **err)
{
        char idstr[16];
        unsigned line = 0;
        const char *p = text;

        snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
        while (p && *p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                const char *c1, *c2;
                uint32_t start, count;

                line++;
                if (len == 0 || p[0] == '#')
                        goto next;
                c1 = memchr(p, ':', len);
                c2 = c1 ? memchr(c1 + 1, ':', len - (size_t) (c1 + 1 - p)) : NULL;
                if (!c1 || !c2 || !parse_u32(c1 + 1, (size_t) (c2 - c1 - 1), &start) ||
                    !parse_u32(c2 + 1, len - (size_t) (c2 + 1 - p), &count))
                        return err_set(err, EINVAL, "line %u: malformed subordinate id entry '%.*s'", line,
                                       (int) (len > 80 ? 80 : len), p);
                if (((name && strlen(name) == (size_t) (c1 - p) && memcmp(p, name, (size_t) (c1 - p)) == 0) ||
                     (strlen(idstr) == (size_t) (c1 - p) && memcmp(p, idstr, (size_t) (c1 - p)) == 0)) &&
                    count > 0) {
                        *ret_start = start;
                        *ret_count = count;
                        return 0;
                }
        next:
                p = eol ? eol + 1 : NULL;
        }
        return err_set(err, ENOENT, "no entry for %s (%s)", name ? name : "?", idstr);
}

static int
lookup_subid(const char *file, const char *name, uint32_t id, uint32_t *ret_start, uint32_t *ret_count,
             struct err **err)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = fs_read_file(file, SUBID_FILE_CAP, &text, &len, err);
        if (r < 0)
                return r;
        r = build_idmap_parse_subid(text, name, id, ret_start, ret_count, err);
        if (r < 0)
                return err_prefix(err, "%s", file);
        return 0;
}

static bool
have_tool(const char *name)
{
        const char *dirs[] = {"/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"};

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dirs[i], name);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

int
build_idmap_detect(const char *subuid, const char *subgid, struct build_idmap *ret_map, char **ret_warning,
                   struct err **err)
{
        struct build_idmap m = {0};
        uid_t uid = getuid();
        gid_t gid = getgid();
        const char *force = getenv("IBUILD_IDMAP");
        struct passwd *pw;
        uint32_t us = 0, uc = 0, gs = 0, gc = 0;
        _cleanup_err_ struct err *why = NULL;

        if (geteuid() == 0 && !(force && strcmp(force, "single") == 0)) {
                m.kind = BUILD_IDMAP_IDENTITY;
                m.n_uid = m.n_gid = 1;
                m.uid[0] = (struct build_idmap_range){0, 0, UINT32_MAX};
                m.gid[0] = m.uid[0];
                *ret_map = m;
                *ret_warning = NULL;
                return 0;
        }

        pw = getpwuid(uid);
        if (force && strcmp(force, "single") == 0)
                err_set(&why, EPERM, "IBUILD_IDMAP=single");
        else if (!have_tool("newuidmap") || !have_tool("newgidmap"))
                err_set(&why, ENOENT, "newuidmap/newgidmap not installed (Debian package uidmap)");
        else if (lookup_subid(subuid ? subuid : "/etc/subuid", pw ? pw->pw_name : NULL, uid, &us, &uc, &why) < 0 ||
                 lookup_subid(subgid ? subgid : "/etc/subgid", pw ? pw->pw_name : NULL, uid, &gs, &gc, &why) < 0) {
                /* WHY says which prerequisite is missing. */
        }
        if (!why) {
                m.kind = BUILD_IDMAP_SUBID;
                m.n_uid = m.n_gid = 2;
                m.uid[0] = (struct build_idmap_range){0, uid, 1};
                m.uid[1] = (struct build_idmap_range){1, us, uc};
                m.gid[0] = (struct build_idmap_range){0, gid, 1};
                m.gid[1] = (struct build_idmap_range){1, gs, gc};
                *ret_map = m;
                *ret_warning = NULL;
                return 0;
        }
        (void) err;
        m.kind = BUILD_IDMAP_SINGLE;
        m.n_uid = m.n_gid = 1;
        m.uid[0] = (struct build_idmap_range){0, uid, 1};
        m.gid[0] = (struct build_idmap_range){0, gid, 1};
        *ret_map = m;
        *ret_warning = xasprintf("no subordinate id range (%s): using a single id mapping; files owned by "
                                 "other users cannot be created and RUN steps can only run as root",
                                 err_msg(&why));
        return 0;
}

uint32_t
build_idmap_to_host(const struct build_idmap *map, bool gid, uint32_t inside)
{
        const struct build_idmap_range *r = gid ? map->gid : map->uid;
        size_t n = gid ? map->n_gid : map->n_uid;

        for (size_t i = 0; i < n; i++)
                if (inside >= r[i].inside && inside - r[i].inside < r[i].count)
                        return r[i].outside + (inside - r[i].inside);
        return UINT32_MAX;
}

void
sandbox_report_err(int fd, int code, const char *fmt, ...)
{
        char buf[1024];
        char rec[1 + sizeof(int) + sizeof(unsigned) + sizeof(buf)];
        unsigned len;
        va_list ap;
        ssize_t n;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        len = (unsigned) strlen(buf);
        rec[0] = SANDBOX_REC_ERR;
        memcpy(rec + 1, &code, sizeof(int));
        memcpy(rec + 1 + sizeof(int), &len, sizeof(len));
        memcpy(rec + 1 + sizeof(int) + sizeof(len), buf, len);
        /* One write below PIPE_BUF is atomic: records never interleave. */
        do
                n = write(fd, rec, 1 + sizeof(int) + sizeof(len) + len);
        while (n < 0 && errno == EINTR);
}

void
sandbox_report_status(int fd, int status)
{
        char rec[1 + sizeof(int) + sizeof(unsigned)];
        unsigned len = 0;
        ssize_t n;

        rec[0] = SANDBOX_REC_STATUS;
        memcpy(rec + 1, &status, sizeof(int));
        memcpy(rec + 1 + sizeof(int), &len, sizeof(len));
        do
                n = write(fd, rec, sizeof(rec));
        while (n < 0 && errno == EINTR);
}

int
sandbox_read_report(int fd, int *ret_status, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len, off = 0;
        int r, first = 0;
        struct err *tmp = NULL;

        r = fs_read_fd(fd, 64 * 1024, &data, &len, &tmp);
        if (r < 0) {
                /* Not being able to read the report is itself the error. */
                r = err_set(err, err_code(&tmp), "reading sandbox report: %s", err_msg(&tmp));
                err_clear(&tmp);
                return r;
        }
        while (off + 1 + sizeof(int) + sizeof(unsigned) <= len) {
                char tag = data[off];
                int code;
                unsigned mlen;

                memcpy(&code, data + off + 1, sizeof(int));
                memcpy(&mlen, data + off + 1 + sizeof(int), sizeof(unsigned));
                off += 1 + sizeof(int) + sizeof(unsigned);
                if (mlen > len - off)
                        break;
                if (tag == SANDBOX_REC_STATUS)
                        *ret_status = code;
                else if (tag == SANDBOX_REC_ERR && first == 0)
                        first = err_set(err, code ? code : EIO, "%.*s", (int) mlen, data + off);
                off += mlen;
        }
        return first;
}

static int
write_file(const char *path, const char *text, struct err **err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return err_set(err, errno, "open %s: %s", path, strerror(errno));
        if (write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                return err_set(err, errno, "write '%s' to %s: %s", text, path, strerror(errno));
        return 0;
}

/* Run newuidmap/newgidmap TOOL for PID with MAP's ranges; its stderr is
 * captured for the message. */
static int
run_newidmap(const char *tool, pid_t pid, const struct build_idmap_range *r, size_t n, struct err **err)
{
        char args[8][16];
        char *argv[10];
        int p[2], status;
        pid_t child;
        _cleanup_free_ char *out = NULL;
        size_t outlen = 0, k = 0;

        argv[k++] = (char *) tool;
        snprintf(args[0], sizeof(args[0]), "%d", (int) pid);
        argv[k++] = args[0];
        for (size_t i = 0; i < n && i < 2; i++) {
                snprintf(args[1 + 3 * i], 16, "%" PRIu32, r[i].inside);
                snprintf(args[2 + 3 * i], 16, "%" PRIu32, r[i].outside);
                snprintf(args[3 + 3 * i], 16, "%" PRIu32, r[i].count);
                argv[k++] = args[1 + 3 * i];
                argv[k++] = args[2 + 3 * i];
                argv[k++] = args[3 + 3 * i];
        }
        argv[k] = NULL;
        if (pipe2(p, O_CLOEXEC) < 0)
                return err_set(err, errno, "pipe: %s", strerror(errno));
        child = fork();
        if (child < 0) {
                close(p[0]);
                close(p[1]);
                return err_set(err, errno, "fork: %s", strerror(errno));
        }
        if (child == 0) {
                dup2(p[1], 2);
                dup2(p[1], 1);
                execvp(tool, argv);
                dprintf(2, "exec %s: %s", tool, strerror(errno));
                _exit(127);
        }
        close(p[1]);
        {
                struct err *ignored = NULL;
                fs_read_fd(p[0], 4096, &out, &outlen, &ignored);
                err_clear(&ignored);
        }
        close(p[0]);
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                while (outlen > 0 && (out[outlen - 1] == '\n' || out[outlen - 1] == ' '))
                        out[--outlen] = '\0';
                return err_set(err, EPERM, "%s %s failed: %s", tool, args[0], out && *out ? out : "no output");
        }
        return 0;
}

static int
write_maps(pid_t pid, const struct build_idmap *map, struct err **err)
{
        char path[64], text[256];
        size_t off;
        int r;

        if (map->kind == BUILD_IDMAP_SUBID) {
                r = run_newidmap("newuidmap", pid, map->uid, map->n_uid, err);
                if (r == 0)
                        r = run_newidmap("newgidmap", pid, map->gid, map->n_gid, err);
                return r;
        }
        /* Without CAP_SETGID in the parent namespace the kernel only takes a
         * gid map once setgroups is denied (user_namespaces(7)). */
        if (map->kind == BUILD_IDMAP_SINGLE) {
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int) pid);
                r = write_file(path, "deny", err);
                if (r < 0)
                        return r;
        }
        for (int g = 0; g < 2; g++) {
                const struct build_idmap_range *rg = g ? map->gid : map->uid;
                size_t n = g ? map->n_gid : map->n_uid;

                off = 0;
                for (size_t i = 0; i < n; i++)
                        off += (size_t) snprintf(text + off, sizeof(text) - off, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                                                 rg[i].inside, rg[i].outside, rg[i].count);
                snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, g ? "gid_map" : "uid_map");
                r = write_file(path, text, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static ssize_t
read_full(int fd, void *buf, size_t len)
{
        size_t got = 0;

        while (got < len) {
                ssize_t n = read(fd, (char *) buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        return (ssize_t) got;
}

pid_t
sandbox_fork_userns(const struct build_idmap *map, int flags, const struct sandbox_cgroup *cg, struct err **err)
{
        int up[2], down[2];
        pid_t pid;
        int child_errno = 0;
        char go = 0;
        int r;

        if (pipe2(up, O_CLOEXEC) < 0)
                return err_set(err, errno, "pipe: %s", strerror(errno));
        if (pipe2(down, O_CLOEXEC) < 0) {
                close(up[0]);
                close(up[1]);
                return err_set(err, errno, "pipe: %s", strerror(errno));
        }
        pid = fork();
        if (pid < 0) {
                r = err_set(err, errno, "fork: %s", strerror(errno));
                close(up[0]);
                close(up[1]);
                close(down[0]);
                close(down[1]);
                return r;
        }
        if (pid == 0) {
                int e = 0;

                close(up[0]);
                close(down[1]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWUSER | flags) < 0)
                        e = errno;
                if (write(up[1], &e, sizeof(e)) != sizeof(e) || e != 0)
                        _exit(125);
                close(up[1]);
                if (read_full(down[0], &go, 1) != 1 || go != 'g')
                        _exit(125);
                close(down[0]);
                /* Become root of the namespace; supplementary groups can only
                 * be reset where setgroups was not denied. */
                if (map->kind != BUILD_IDMAP_SINGLE && setgroups(0, NULL) < 0)
                        _exit(125);
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        _exit(125);
                return 0;
        }
        close(up[1]);
        close(down[0]);
        if (read_full(up[0], &child_errno, sizeof(child_errno)) != sizeof(child_errno)) {
                r = err_set(err, EIO, "sandbox helper died before creating its namespaces");
                goto fail;
        }
        if (child_errno != 0) {
                r = err_set(err, child_errno, "unshare(user%s%s%s%s%s): %s%s",
                            flags & CLONE_NEWNS ? ",mount" : "", flags & CLONE_NEWPID ? ",pid" : "",
                            flags & CLONE_NEWIPC ? ",ipc" : "", flags & CLONE_NEWUTS ? ",uts" : "",
                            flags & CLONE_NEWNET ? ",net" : "", strerror(child_errno),
                            child_errno == EPERM || child_errno == ENOSPC
                                    ? " (unprivileged user namespaces disabled? see "
                                      "/proc/sys/user/max_user_namespaces)"
                                    : "");
                goto fail;
        }
        /* Into the step's cgroup while it still waits: everything it
         * forks and runs is then inside the limits. */
        r = sandbox_cgroup_enter(cg, pid, err);
        if (r < 0)
                goto fail;
        r = write_maps(pid, map, err);
        if (r < 0) {
                err_prefix(err, "writing id maps");
                goto fail;
        }
        go = 'g';
        if (write(down[1], &go, 1) != 1) {
                r = err_set(err, errno, "sandbox helper: %s", strerror(errno));
                goto fail;
        }
        close(up[0]);
        close(down[1]);
        return pid;
fail:
        close(up[0]);
        close(down[1]);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return r;
}

int
build_idmap_call(const struct build_idmap *map, int (*fn)(void *arg, struct err **err), void *arg,
                 struct err **err)
{
        int rep[2], status = 0, r, unused = -1;
        pid_t pid;

        if (pipe2(rep, O_CLOEXEC) < 0)
                return err_set(err, errno, "pipe: %s", strerror(errno));
        if (map->kind == BUILD_IDMAP_IDENTITY && geteuid() == 0) {
                /* Real root keeps CAP_MKNOD etc.: no namespace needed. */
                pid = fork();
                if (pid < 0)
                        pid = err_set(err, errno, "fork: %s", strerror(errno));
                else if (pid == 0)
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
        } else {
                pid = sandbox_fork_userns(map, CLONE_NEWNS, NULL, err);
        }
        if (pid < 0) {
                close(rep[0]);
                close(rep[1]);
                return (int) pid;
        }
        if (pid == 0) {
                struct err *e = NULL;

                close(rep[0]);
                r = fn(arg, &e);
                if (r < 0)
                        sandbox_report_err(rep[1], err_code(&e) ? err_code(&e) : -r, "%s", err_msg(&e));
                _exit(r < 0 ? 1 : 0);
        }
        close(rep[1]);
        r = sandbox_read_report(rep[0], &unused, err);
        close(rep[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return err_set(err, EIO, "namespace helper %s", WIFSIGNALED(status) ? "was killed" : "failed");
        return 0;
}
