/* Where a COPY/ADD writes: the destination resolved through the symlinks
 * of the destination stage, whether it is a directory, and the existing
 * dirs on the way (which the layer keeps as the base has them), looked up
 * inside the build user namespace when a dir cannot be searched from
 * here; and the in-image ids of snapshot files. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec-copy-internal.h"
#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"

/* The in-image id of host id ID (a snapshot file seen from outside the
 * build user namespace). */
int64_t
ximage_id(const struct copy_job *j, bool gid, uint32_t id)
{
        const struct build_idmap *m = &j->x->idmap;
        const struct build_idmap_range *r = gid ? m->gid : m->uid;
        size_t n = gid ? m->n_gid : m->n_uid;

        if (j->in_ns || m->kind == BUILD_IDMAP_IDENTITY)
                return id;
        for (size_t i = 0; i < n; i++)
                if (id >= r[i].outside && id - r[i].outside < r[i].count)
                        return (int64_t) r[i].inside + (id - r[i].outside);
        return 65534; /* the kernel's overflow id */
}

/* Resolve absolute clean DEST through the symlinks of S's merged view, as
 * Docker resolves a destination inside the image root (an absolute target
 * restarts at the root, nothing leaves it).  The last component is followed
 * only when it leads to a directory.  Caller frees. */
static char *
resolve_dest(struct xctx *x, struct xstage *s, const char *dest)
{
        _cleanup_free_ char *cur = xstrdup(dest);

        for (int hops = 0; hops < 40; hops++) {
                bool changed = false;

                for (char *p = cur + 1; *p;) {
                        char *slash = strchr(p, '/');
                        _cleanup_free_ char *host = NULL;
                        struct stat st;
                        struct err *e = NULL;
                        int r;

                        if (slash)
                                *slash = '\0';
                        r = xstage_lookup(x, s, cur, &host, &st, &e);
                        err_clear(&e);
                        if (r == 0 && S_ISLNK(st.st_mode)) {
                                char target[LIMIT_PATH];
                                ssize_t n = readlink(host, target, sizeof(target) - 1);
                                _cleanup_free_ char *dir = xstrdup(cur), *next = NULL, *h2 = NULL;
                                char *ls = strrchr(dir, '/');
                                struct stat st2;

                                if (n < 0)
                                        break;
                                target[n] = '\0';
                                ls[ls == dir ? 1 : 0] = '\0';
                                next = xabs_path(dir, target);
                                if (slash) {
                                        char *c = xasprintf("%s/%s", next, slash + 1);

                                        free(next);
                                        next = xabs_path("/", c);
                                        free(c);
                                }
                                if (!slash && (xstage_lookup(x, s, next, &h2, &st2, &e) < 0 ||
                                               !(S_ISDIR(st2.st_mode) || S_ISLNK(st2.st_mode)))) {
                                        err_clear(&e);
                                        break; /* a final link to a file or nothing is replaced */
                                }
                                free(cur);
                                cur = steal_ptr(&next);
                                changed = true;
                                break;
                        }
                        if (slash)
                                *slash = '/';
                        if (r < 0 || !slash)
                                break;
                        p = slash + 1;
                }
                if (!changed)
                        break;
        }
        return steal_ptr(&cur);
}

void
xdest_plan_clear(struct dest_plan *p)
{
        for (size_t i = 0; i < p->n; i++)
                free(p->dirs[i].path);
        free(p->dirs);
        free(p->dest);
        memset(p, 0, sizeof(*p));
}

static void
dest_plan_add(struct dest_plan *p, char *path, int32_t mode, int64_t uid, int64_t gid)
{
        p->dirs = xrealloc(p->dirs, (p->n + 1) * sizeof(*p->dirs));
        p->dirs[p->n++] = (struct base_dir){.path = path, .mode = mode, .uid = uid, .gid = gid};
}

/* Look DEST up in J's stage directly: resolve it through the stage's
 * symlinks, decide whether it is a directory (DEST_DIR: written with a
 * trailing slash), and list the dirs on the way (DEST itself too when it
 * is one) that exist, so the layer keeps them as the base has them
 * rather than as the 0755 root dirs it makes for missing parents. */
static void
dest_plan_make(const struct copy_job *j, const char *dest, bool dest_dir, struct dest_plan *ret)
{
        _cleanup_free_ char *p = NULL;

        memset(ret, 0, sizeof(*ret));
        ret->dest = resolve_dest(j->x, j->s, dest);
        ret->dest_dir = dest_dir;
        p = xstrdup(ret->dest);
        for (char *q = p + 1; *q;) {
                char *slash = strchr(q, '/');
                _cleanup_free_ char *host = NULL;
                struct stat st;
                struct err *e = NULL;

                if (slash)
                        *slash = '\0';
                if (xstage_lookup(j->x, j->s, p, &host, &st, &e) < 0 || !S_ISDIR(st.st_mode)) {
                        err_clear(&e);
                        break;
                }
                if (!slash)
                        ret->dest_dir = true;
                if (slash || ret->dest_dir)
                        dest_plan_add(ret, xstrdup(p), (int32_t) (st.st_mode & 07777), ximage_id(j, false, st.st_uid),
                                      ximage_id(j, true, st.st_gid));
                if (!slash)
                        break;
                *slash = '/';
                q = slash + 1;
        }
}

/* The plan travels from the namespace helper as: a dest_dir byte, the
 * destination and a NUL, then per dir its struct base_dir (path unset)
 * followed by the path and a NUL. */
struct dest_probe {
        const struct copy_job *job;
        const char *dest;
        bool dest_dir;
        int fd;
};

static int
dest_probe_child(void *arg, struct err **err)
{
        struct dest_probe *pr = arg;
        struct copy_job j = *pr->job;
        struct dest_plan plan;
        char flag_byte;
        int r;

        pthread_mutex_init(&j.x->lock, NULL); /* see copy_child */
        j.in_ns = true;
        dest_plan_make(&j, pr->dest, pr->dest_dir, &plan);
        flag_byte = plan.dest_dir ? 1 : 0;
        r = fs_write_all(pr->fd, &flag_byte, 1, err);
        if (r >= 0)
                r = fs_write_all(pr->fd, plan.dest, strlen(plan.dest) + 1, err);
        for (size_t i = 0; i < plan.n && r >= 0; i++) {
                struct base_dir d = plan.dirs[i];

                d.path = NULL;
                r = fs_write_all(pr->fd, &d, sizeof(d), err);
                if (r >= 0)
                        r = fs_write_all(pr->fd, plan.dirs[i].path, strlen(plan.dirs[i].path) + 1, err);
        }
        xdest_plan_clear(&plan);
        return r;
}

/* Can every dir on the way to PATH (its parents), in every layer of S
 * that has it, be searched from here?  Rootless, a dir a RUN gave another
 * owner and a mode such as 0700 cannot. */
bool
xsearchable(struct xstage *s, const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                for (size_t i = 0; i < s->n_layers; i++) {
                        _cleanup_free_ char *h = NULL;
                        struct stat st;

                        if (!s->layers[i].snapshot)
                                continue;
                        h = xasprintf("%s%s", s->layers[i].snapshot, p);
                        if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode) && access(h, X_OK) < 0)
                                return false;
                }
                *slash = '/';
        }
        return true;
}

/* dest_plan_make, inside the build user namespace when J runs outside it
 * rootless and a dir on the way cannot be searched from here (a fork and
 * newuidmap per COPY otherwise, which a cached rebuild would pay). */
int
xdest_plan_get(const struct copy_job *j, const char *dest, bool dest_dir, struct dest_plan *ret, struct err **err)
{
        struct dest_probe pr = {.job = j, .dest = dest, .dest_dir = dest_dir};
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct dest_plan plan = {0};
        size_t len, off;
        int r;

        if (j->in_ns || j->x->idmap.kind == BUILD_IDMAP_IDENTITY) {
                dest_plan_make(j, dest, dest_dir, ret);
                return 0;
        }
        if (xsearchable(j->s, dest)) {
                dest_plan_make(j, dest, dest_dir, &plan);
                /* A symlink on the way may lead through other dirs. */
                if (xsearchable(j->s, plan.dest)) {
                        *ret = plan;
                        return 0;
                }
                xdest_plan_clear(&plan);
        }
        fd = memfd_create("ibuild-copy-dest", MFD_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "memfd_create: %s", strerror(errno));
        pr.fd = fd;
        r = build_idmap_call(&j->x->idmap, dest_probe_child, &pr, err);
        if (r < 0)
                return err_prefix(err, "looking up %s", dest);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return err_set(err, errno, "lseek: %s", strerror(errno));
        r = fs_read_fd(fd, 64 * 1024 * 1024, &buf, &len, err);
        if (r < 0)
                return r;
        if (len < 2 || !memchr(buf + 1, '\0', len - 1))
                return err_set(err, EIO, "looking up %s: no result from the namespace helper", dest);
        plan.dest_dir = buf[0] != 0;
        plan.dest = xstrdup(buf + 1);
        off = 1 + strlen(buf + 1) + 1;
        while (off < len) {
                struct base_dir d;
                const char *nul = NULL;

                /* the struct, then a path and its NUL */
                if (len - off > sizeof(d))
                        nul = memchr(buf + off + sizeof(d), '\0', len - off - sizeof(d));
                if (!nul) {
                        xdest_plan_clear(&plan);
                        return err_set(err, EIO, "looking up %s: short result from the namespace helper", dest);
                }
                memcpy(&d, buf + off, sizeof(d));
                dest_plan_add(&plan, xstrdup(buf + off + sizeof(d)), d.mode, d.uid, d.gid);
                off = (size_t) (nul - buf) + 1;
        }
        *ret = plan;
        return 0;
}
