/* COPY and ADD: select the sources (context, a stage, an image, heredocs,
 * local archives for ADD), apply Docker's destination rules, and write the
 * layer from an entry list without a container. */
#include <archive.h>
#include <curl/curl.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/exec/exec-internal.h"
#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"

/* ---- resolving inside a root ------------------------------------------- */

int
xresolve_in_root(int root, const char *path, bool follow_final, char **ret, struct err **err)
{
        char *queue = xstrdup(path); /* remaining components, '/'-separated */
        char *out = xstrdup("");
        int hops = 0;

        for (;;) {
                char *p = queue, *slash, *c;
                _cleanup_free_ char *cand = NULL;
                struct stat st;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                slash = strchr(p, '/');
                c = slash ? xstrndup(p, (size_t) (slash - p)) : xstrdup(p);
                {
                        char *rest = xstrdup(slash ? slash : "");

                        free(queue);
                        queue = rest;
                }
                if (strcmp(c, ".") == 0) {
                        free(c);
                        continue;
                }
                if (strcmp(c, "..") == 0) {
                        char *ls = strrchr(out, '/');

                        if (ls)
                                *ls = '\0';
                        else
                                out[0] = '\0';
                        free(c);
                        continue;
                }
                cand = *out ? xasprintf("%s/%s", out, c) : xstrdup(c);
                free(c);
                if (fstatat(root, cand, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        int e = errno;

                        free(queue);
                        free(out);
                        return err_set(err, e, "%s: %s", path, strerror(e));
                }
                {
                        char *q = queue;

                        while (*q == '/')
                                q++;
                        if (S_ISLNK(st.st_mode) && (*q || follow_final)) {
                                char target[LIMIT_PATH];
                                ssize_t n;
                                char *nq;

                                if (++hops > 40) {
                                        free(queue);
                                        free(out);
                                        return err_set(err, ELOOP, "%s: too many symlinks", path);
                                }
                                n = readlinkat(root, cand, target, sizeof(target) - 1);
                                if (n < 0) {
                                        int e = errno;

                                        free(queue);
                                        free(out);
                                        return err_set(err, e, "%s: %s", path, strerror(e));
                                }
                                target[n] = '\0';
                                /* An absolute target starts again at the root:
                                 * nothing ever resolves outside it. */
                                if (target[0] == '/')
                                        out[0] = '\0';
                                nq = xasprintf("%s/%s", target, queue);
                                free(queue);
                                queue = nq;
                                continue;
                        }
                }
                free(out);
                out = steal_ptr(&cand);
        }
        free(queue);
        if (!*out) {
                free(out);
                out = xstrdup(".");
        }
        *ret = out;
        return 0;
}

/* ---- the selection ------------------------------------------------------ */

struct sel {
        struct oci_layer_entry *e;
        size_t n, cap;
        char **strs; /* owned strings the entries point to */
        size_t n_strs, cap_strs;
        size_t *order; /* insertion order for "last one wins" */
};

static const char *
own(struct sel *s, char *str)
{
        if (s->n_strs == s->cap_strs) {
                s->cap_strs = s->cap_strs ? s->cap_strs * 2 : 64;
                s->strs = xrealloc(s->strs, s->cap_strs * sizeof(char *));
        }
        s->strs[s->n_strs++] = str;
        return str;
}

static struct oci_layer_entry *
add(struct sel *s, char *path, char *src, int dirfd)
{
        struct oci_layer_entry *e;

        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
        }
        e = &s->e[s->n++];
        oci_layer_entry_init(e);
        e->path = own(s, path);
        e->src = src ? own(s, src) : NULL;
        e->src_dirfd = dirfd;
        return e;
}

static void
sel_clear(struct sel *s)
{
        for (size_t i = 0; i < s->n_strs; i++)
                free(s->strs[i]);
        free(s->strs);
        free(s->e);
        memset(s, 0, sizeof(*s));
}

struct ent_idx {
        const struct oci_layer_entry *e;
        size_t i;
};

static int
cmp_ent(const void *a, const void *b)
{
        const struct ent_idx *x = a, *y = b;
        int c = strcmp(x->e->path, y->e->path);

        if (c)
                return c;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort by path, keeping the last entry given for a path (a later source
 * overwrites an earlier one, as Docker copies them in order). */
static void
sel_dedupe(struct sel *s)
{
        struct ent_idx *v = xcalloc(s->n + 1, sizeof(*v));
        struct oci_layer_entry *ne = xcalloc(s->n + 1, sizeof(*ne));
        size_t n = 0;

        for (size_t i = 0; i < s->n; i++) {
                v[i].e = &s->e[i];
                v[i].i = i;
        }
        sort_array(v, s->n, sizeof(*v), cmp_ent);
        for (size_t i = 0; i < s->n; i++) {
                if (i + 1 < s->n && strcmp(v[i].e->path, v[i + 1].e->path) == 0)
                        continue;
                ne[n++] = *v[i].e;
        }
        free(v);
        free(s->e);
        s->e = ne;
        s->n = n;
        s->cap = n;
}

static const char *
flag(const struct build_plan_instr *in, const char *name)
{
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, name) == 0)
                        return in->flags[i].value ? in->flags[i].value : "true";
        return NULL;
}

static bool
has_glob(const char *p)
{
        return strpbrk(p, "*?[") != NULL;
}

static const char *
base_name(const char *p)
{
        const char *s = strrchr(p, '/');

        return s ? s + 1 : p;
}

static char *
join(const char *dir, const char *name)
{
        size_t l = strlen(dir);

        if (l && dir[l - 1] == '/')
                return xasprintf("%s%s", dir, name);
        return xasprintf("%s/%s", dir, name);
}

static int
ctx_list(struct xctx *x, struct err **err)
{
        int r = 0;

        pthread_mutex_lock(&x->lock);
        if (!x->ctxlist)
                r = build_context_walk(x->context, x->ignore, &x->ctxlist, err);
        pthread_mutex_unlock(&x->lock);
        return r;
}

static const struct build_context_entry *
ctx_find(struct xctx *x, const char *rel)
{
        for (size_t i = 0; i < x->ctxlist->n; i++)
                if (strcmp(x->ctxlist->entries[i].path, rel) == 0)
                        return &x->ctxlist->entries[i];
        return NULL;
}

struct copy_args {
        const char *dest;   /* absolute, clean; with a trailing '/' kept separately */
        bool dest_dir;
        struct build_ignore *exclude;
        bool parents;
};

/* Add context directory REL's content (entries after .dockerignore) under
 * image dir DEST. */
static void
add_ctx_dir(struct xctx *x, struct sel *s, const char *rel, const char *dest, const struct copy_args *ca)
{
        size_t l = strcmp(rel, ".") == 0 ? 0 : strlen(rel);

        for (size_t i = 0; i < x->ctxlist->n; i++) {
                const char *p = x->ctxlist->entries[i].path;
                const char *sub;

                if (l) {
                        if (strncmp(p, rel, l) != 0 || p[l] != '/')
                                continue;
                        sub = p + l + 1;
                } else {
                        sub = p;
                }
                if (ca->exclude && build_ignore_excludes(ca->exclude, sub))
                        continue;
                add(s, join(dest, sub), xstrdup(p), x->ctx_fd);
        }
}

static int
select_context(struct xctx *x, struct sel *s, const char *src, size_t n_src, const struct copy_args *ca,
               const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *clean = NULL;
        size_t matched = 0;
        int r;

        r = ctx_list(x, err);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *c = build_path_clean(src[0] == '/' ? src + 1 : src);

                clean = xstrdup(*c ? c : ".");
        }
        if (strncmp(clean, "../", 3) == 0 || strcmp(clean, "..") == 0) {
                free(clean);
                clean = xstrdup(".");
        }
        for (size_t i = 0; i < x->ctxlist->n + 1; i++) {
                const char *p;
                _cleanup_free_ char *real = NULL;
                struct stat st;
                bool is_dir;

                if (has_glob(clean)) {
                        if (i == x->ctxlist->n)
                                break;
                        p = x->ctxlist->entries[i].path;
                        if (fnmatch(clean, p, FNM_PATHNAME) != 0)
                                continue;
                } else {
                        if (i > 0)
                                break;
                        p = clean;
                }
                /* Resolve the source (a symlink too) inside the context root. */
                r = xresolve_in_root(x->ctx_fd, p, true, &real, err);
                if (r < 0) {
                        if (has_glob(clean))
                                continue;
                        return err_set(err, ENOENT,
                                       "%s:%d: %s: source %s not found in the build context (or outside it)",
                                       x->df_name, in->line, in->text, src);
                }
                if (strcmp(real, ".") != 0 && !ctx_find(x, real))
                        return err_set(err, ENOENT,
                                       "%s:%d: %s: source %s not found in the build context or excluded by "
                                       ".dockerignore",
                                       x->df_name, in->line, in->text, src);
                if (fstatat(x->ctx_fd, real, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return err_set(err, errno, "%s: %s", src, strerror(errno));
                is_dir = S_ISDIR(st.st_mode);
                matched++;
                if (is_dir) {
                        const char *dd = ca->dest;
                        _cleanup_free_ char *pd = NULL;

                        if (ca->parents && strcmp(p, ".") != 0)
                                dd = pd = join(ca->dest, p);
                        if (strcmp(dd, "/") != 0)
                                add(s, xstrdup(dd), xstrdup(real), x->ctx_fd);
                        add_ctx_dir(x, s, real, dd, ca);
                } else {
                        char *dst;

                        if (ca->parents)
                                dst = join(ca->dest, p);
                        else
                                dst = ca->dest_dir || n_src > 1 || has_glob(clean) ? join(ca->dest, base_name(p))
                                                                                 : xstrdup(ca->dest);
                        add(s, dst, xstrdup(real), x->ctx_fd);
                }
        }
        if (matched == 0)
                return err_set(err, ENOENT, "%s:%d: %s: no source files match %s", x->df_name, in->line, in->text,
                               src);
        return 0;
}

/* Follow symlinks of PATH in stage ST's merged view (relative targets from
 * the link's dir, absolute ones from the stage root). */
static int
stage_resolve(struct xctx *x, struct xstage *st, const char *path, char **ret_path, char **ret_host,
              struct stat *ret_st, struct err **err)
{
        _cleanup_free_ char *cur = xstrdup(path);

        for (int hops = 0; hops < 40; hops++) {
                _cleanup_free_ char *host = NULL;
                struct stat sb;
                int r = xstage_lookup(x, st, cur, &host, &sb, err);

                if (r < 0)
                        return r;
                if (S_ISLNK(sb.st_mode)) {
                        char target[LIMIT_PATH];
                        ssize_t n = readlink(host, target, sizeof(target) - 1);
                        _cleanup_free_ char *dir = xstrdup(cur);
                        char *slash;

                        if (n < 0)
                                return err_set(err, errno, "%s: %s", cur, strerror(errno));
                        target[n] = '\0';
                        slash = strrchr(dir, '/');
                        if (slash)
                                slash[slash == dir ? 1 : 0] = '\0';
                        free(cur);
                        cur = xabs_path(dir, target);
                        continue;
                }
                *ret_path = steal_ptr(&cur);
                *ret_host = steal_ptr(&host);
                *ret_st = sb;
                return 0;
        }
        return err_set(err, ELOOP, "%s: too many symlinks", path);
}

static int
select_stage(struct xctx *x, struct sel *s, struct xstage *st, const char *src, size_t n_src,
             const struct copy_args *ca, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *abs = xabs_path("/", src);
        char **names = NULL;
        size_t n_names = 0;
        int r = 0;

        if (has_glob(abs)) {
                /* A pattern in the last component: match the parent's entries. */
                _cleanup_free_ char *parent = xstrdup(abs);
                char *slash = strrchr(parent, '/');
                struct xmerged *m = NULL;
                size_t n = 0;

                *(slash == parent ? slash + 1 : slash) = '\0';
                r = xstage_list(x, st, parent, &m, &n, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (!strchr(m[i].rel, '/') && fnmatch(base_name(abs), m[i].rel, 0) == 0) {
                                names = xrealloc(names, (n_names + 1) * sizeof(char *));
                                names[n_names++] = join(parent, m[i].rel);
                        }
                xmerged_free(m, n);
        } else {
                names = xcalloc(1, sizeof(char *));
                names[n_names++] = xstrdup(abs);
        }
        if (n_names == 0)
                r = err_set(err, ENOENT, "%s:%d: %s: no source files match %s", x->df_name, in->line, in->text, src);
        for (size_t k = 0; k < n_names && r >= 0; k++) {
                _cleanup_free_ char *path = NULL, *host = NULL;
                struct stat sb;

                r = stage_resolve(x, st, names[k], &path, &host, &sb, err);
                if (r == -ENOENT)
                        r = err_set(err, ENOENT, "%s:%d: %s: %s not found in the source image", x->df_name, in->line,
                                    in->text, names[k]);
                if (r < 0)
                        break;
                if (S_ISDIR(sb.st_mode)) {
                        struct xmerged *m = NULL;
                        size_t n = 0;

                        if (strcmp(ca->dest, "/") != 0)
                                add(s, xstrdup(ca->dest), xstrdup(host), AT_FDCWD);
                        r = xstage_list(x, st, path, &m, &n, err);
                        for (size_t i = 0; r >= 0 && i < n; i++) {
                                if (ca->exclude && build_ignore_excludes(ca->exclude, m[i].rel))
                                        continue;
                                add(s, join(ca->dest, m[i].rel), xstrdup(m[i].host), AT_FDCWD);
                        }
                        xmerged_free(m, n);
                } else {
                        char *dst = ca->dest_dir || n_src > 1 || n_names > 1 ? join(ca->dest, base_name(names[k]))
                                                                             : xstrdup(ca->dest);

                        add(s, dst, xstrdup(host), AT_FDCWD);
                }
        }
        for (size_t k = 0; k < n_names; k++)
                free(names[k]);
        free(names);
        return r;
}

/* --chown USER[:GROUP] against the destination stage's /etc/passwd and
 * /etc/group.  Docker: a user without a group uses the same number as gid
 * (a name: its primary group). */
static int
resolve_chown(struct xctx *x, struct xstage *s, const char *spec, int64_t *ret_uid, int64_t *ret_gid,
              const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *passwd = NULL, *group = NULL;
        const char *files[2] = {"/etc/passwd", "/etc/group"};
        char **bufs[2] = {&passwd, &group};
        struct build_user u;
        char *end;
        int r;

        {
                const char *colon = strchr(spec, ':');
                unsigned long a, b;

                errno = 0;
                a = strtoul(spec, &end, 10);
                if (!errno && end != spec && (*end == '\0' || *end == ':')) {
                        if (!colon) {
                                *ret_uid = (int64_t) a;
                                *ret_gid = (int64_t) a;
                                return 0;
                        }
                        b = strtoul(colon + 1, &end, 10);
                        if (!errno && end != colon + 1 && *end == '\0') {
                                *ret_uid = (int64_t) a;
                                *ret_gid = (int64_t) b;
                                return 0;
                        }
                }
        }
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *host = NULL;
                struct stat st;
                size_t len;
                struct err *e2 = NULL;

                if (xstage_lookup(x, s, files[i], &host, &st, &e2) == 0 && S_ISREG(st.st_mode))
                        fs_read_file(host, 4 * 1024 * 1024, bufs[i], &len, &e2);
                err_clear(&e2);
        }
        r = build_user_resolve(spec, passwd, group, &u, err);
        if (r < 0)
                return err_prefix(err, "%s:%d: --chown=%s", x->df_name, in->line, spec);
        *ret_uid = u.uid;
        *ret_gid = u.gid;
        return 0;
}

/* ADD of a local archive: extract it into a temp dir and copy that. */
static bool
is_archive(int dirfd, const char *path)
{
        unsigned char b[512];
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n;

        if (fd < 0)
                return false;
        n = read(fd, b, sizeof(b));
        if (n < 6)
                return false;
        if ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') ||
            (b[0] == 0xfd && memcmp(b + 1, "7zXZ", 4) == 0) || (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd))
                return true;
        return n >= 262 && memcmp(b + 257, "ustar", 5) == 0;
}

struct owner {
        char *path;
        int64_t uid, gid;
};

static int
extract_archive(struct xctx *x, int dirfd, const char *path, const char *into, struct owner **ret_own,
                size_t *ret_n, struct err **err)
{
        struct archive *a = archive_read_new(), *w = archive_write_disk_new();
        struct archive_entry *e;
        struct owner *own_v = NULL;
        size_t n = 0;
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0, ar;

        (void) x;
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_write_disk_set_options(w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        /* Entry names are checked below (relative, no ".."), then prefixed
         * with the absolute INTO: NOABSOLUTEPATHS would refuse that prefix. */
        if (fd < 0 || archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
                r = err_set(err, EINVAL, "ADD %s: %s", path, fd < 0 ? strerror(errno) : archive_error_string(a));
                goto out;
        }
        while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                _cleanup_free_ char *clean = build_path_clean(archive_entry_pathname(e));
                _cleanup_free_ char *full = NULL;
                const char *hl = archive_entry_hardlink(e);

                if (strcmp(clean, ".") == 0 || clean[0] == '/' || strncmp(clean, "..", 2) == 0) {
                        if (strcmp(clean, ".") == 0)
                                continue;
                        r = err_set(err, ERR_UNSAFE_PATH, "ADD %s: unsafe entry %s", path, archive_entry_pathname(e));
                        goto out;
                }
                full = xasprintf("%s/%s", into, clean);
                archive_entry_set_pathname(e, full);
                if (hl) {
                        _cleanup_free_ char *hc = build_path_clean(hl);
                        _cleanup_free_ char *hf = xasprintf("%s/%s", into, hc);

                        archive_entry_set_hardlink(e, hf);
                }
                own_v = xrealloc(own_v, (n + 1) * sizeof(*own_v));
                own_v[n].path = xstrdup(clean);
                own_v[n].uid = archive_entry_uid(e);
                own_v[n].gid = archive_entry_gid(e);
                n++;
                if (archive_write_header(w, e) != ARCHIVE_OK) {
                        r = err_set(err, EINVAL, "ADD %s: %s: %s", path, clean, archive_error_string(w));
                        goto out;
                }
                {
                        const void *buf;
                        size_t sz;
                        la_int64_t off;

                        while ((ar = archive_read_data_block(a, &buf, &sz, &off)) == ARCHIVE_OK)
                                if (archive_write_data_block(w, buf, sz, off) != ARCHIVE_OK)
                                        break;
                }
                archive_write_finish_entry(w);
        }
        if (ar != ARCHIVE_EOF) {
                r = err_set(err, EINVAL, "ADD %s: %s", path, archive_error_string(a));
                goto out;
        }
out:
        archive_read_free(a);
        archive_write_free(w);
        if (fd >= 0)
                close(fd);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(own_v[i].path);
                free(own_v);
                return r;
        }
        *ret_own = own_v;
        *ret_n = n;
        return 0;
}

static int
cmp_owner(const void *a, const void *b)
{
        return strcmp(((const struct owner *) a)->path, ((const struct owner *) b)->path);
}

/* Cap on a file ADD fetches from a URL. */
#define ADD_URL_MAX (8ULL * 1024 * 1024 * 1024)

struct fetch {
        int fd;
        uint64_t n;
        struct digest_ctx *d;
        int werr;
};

static size_t
fetch_write(char *p, size_t size, size_t nmemb, void *data)
{
        struct fetch *f = data;
        size_t len = size * nmemb, off = 0;

        if (f->n + len > ADD_URL_MAX)
                return 0;
        while (off < len) {
                ssize_t w = write(f->fd, p + off, len - off);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        f->werr = errno ? errno : EIO;
                        return 0;
                }
                off += (size_t) w;
        }
        digest_ctx_update(f->d, p, len);
        f->n += len;
        return len;
}

/* ADD URL: download once per build into the work dir (the selection runs
 * twice), verify --checksum, keep Last-Modified as the mtime.  *ret_path is
 * the file; *ret_name the file name the URL gives. */
static int
fetch_url(struct xctx *x, const char *url, const char *checksum, const struct build_plan_instr *in, char **ret_path,
          char **ret_name, struct err **err)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *name = NULL, *tmp = NULL;
        struct fetch f = {.fd = -1};
        struct digest got, want;
        long code = 0, filetime = -1;
        CURL *c;
        CURLcode cr;
        struct stat st;
        int r = 0;
        const char *q = strchr(url + 8, '/');

        if (checksum && digest_parse(checksum, &want, err) < 0)
                return err_prefix(err, "%s:%d: ADD --checksum", x->df_name, in->line);
        {
                const char *end = q ? q + strcspn(q, "?#") : NULL;
                const char *b = end ? end : NULL;

                while (b && b > q && b[-1] != '/')
                        b--;
                name = b && end > b ? xstrndup(b, (size_t) (end - b)) : xstrdup("download");
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                        free(name);
                        name = xstrdup("download");
                }
        }
        {
                struct digest ud;

                digest_buffer(DIGEST_SHA256, url, strlen(url), &ud);
                dir = xasprintf("%s/url-%.16s", x->work, ud.hex);
        }
        path = xasprintf("%s/%s", dir, name);
        if (stat(path, &st) == 0)
                goto done;
        if (fs_mkdir_p(dir, 0755, err) < 0)
                return -1;
        tmp = xasprintf("%s/.part", dir);
        f.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f.fd < 0)
                return err_set(err, errno, "%s: %s", tmp, strerror(errno));
        f.d = digest_ctx_new(DIGEST_SHA256);
        c = curl_easy_init();
        if (!c) {
                r = err_set(err, ENOMEM, "curl_easy_init");
                goto out;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "ibuild");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        cr = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_FILETIME, &filetime);
        curl_easy_cleanup(c);
        if (cr != CURLE_OK)
                r = err_set(err, EIO, "%s:%d: ADD %s: %s", x->df_name, in->line, url,
                            f.werr ? strerror(f.werr) : curl_easy_strerror(cr));
        else if (code < 200 || code >= 300)
                r = err_set(err, ERR_HTTP, "%s:%d: ADD %s: HTTP status %ld", x->df_name, in->line, url, code);
        if (r < 0)
                goto out;
        digest_ctx_final(f.d, &got);
        if (checksum && strcmp(got.str, want.str) != 0) {
                r = err_set(err, ERR_DIGEST_INVALID, "%s:%d: ADD %s: checksum mismatch: expected %s, got %s",
                            x->df_name, in->line, url, want.str, got.str);
                goto out;
        }
        if (filetime > 0) {
                struct timespec ts[2] = {{.tv_sec = filetime}, {.tv_sec = filetime}};

                futimens(f.fd, ts);
        }
        if (rename(tmp, path) < 0) {
                r = err_set(err, errno, "%s: %s", path, strerror(errno));
                goto out;
        }
out:
        if (f.fd >= 0)
                close(f.fd);
        digest_ctx_free(f.d);
        if (r < 0) {
                unlink(tmp);
                return r;
        }
done:
        *ret_path = steal_ptr(&path);
        *ret_name = steal_ptr(&name);
        return 0;
}

/* Build the full entry list of IN for stage S. */
static int
select_all(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct sel *sel, struct err **err)
{
        const bool add_instr = in->kind == BUILD_DF_ADD;
        const char *chown = flag(in, "chown"), *chmod_s = flag(in, "chmod");
        const char *parents = flag(in, "parents");
        struct copy_args ca = {0};
        _cleanup_free_ char *dest = NULL;
        struct xstage tmp = {0};
        struct xstage *from = NULL;
        int64_t uid = 0, gid = 0;
        int32_t mode = -1;
        size_t n_src;
        int r = 0;
        const char **excl = NULL;
        size_t n_excl = 0;

        if (in->n_args < 2)
                return err_set(err, ERR_PARSE, "%s:%d: %s needs a source and a destination", x->df_name, in->line,
                               build_df_kind_name(in->kind));
        n_src = in->n_args - 1;
        {
                const char *d = in->args[in->n_args - 1];
                size_t l = strlen(d);

                dest = xabs_path(s->cfg->config.working_dir, d);
                ca.dest_dir = (l && d[l - 1] == '/') || (l && strcmp(d, ".") == 0) ||
                              (l >= 2 && strcmp(d + l - 2, "/.") == 0);
                if (!ca.dest_dir && n_src == 1) {
                        _cleanup_free_ char *host = NULL;
                        struct stat st;
                        struct err *e2 = NULL;

                        if (xstage_lookup(x, s, dest, &host, &st, &e2) == 0 && S_ISDIR(st.st_mode))
                                ca.dest_dir = true;
                        err_clear(&e2);
                }
                ca.dest = dest;
        }
        ca.parents = parents && strcmp(parents, "false") != 0;
        for (size_t i = 0; i < in->n_flags; i++)
                if (strcmp(in->flags[i].name, "exclude") == 0 && in->flags[i].value) {
                        excl = xrealloc(excl, (n_excl + 1) * sizeof(*excl));
                        excl[n_excl++] = in->flags[i].value;
                }
        if (n_excl) {
                r = build_ignore_new(excl, n_excl, &ca.exclude, err);
                free(excl);
                if (r < 0)
                        return err_prefix(err, "%s:%d: --exclude", x->df_name, in->line);
        }
        if (chown) {
                r = resolve_chown(x, s, chown, &uid, &gid, in, err);
                if (r < 0)
                        goto out;
        }
        if (chmod_s) {
                char *end;
                long m = strtol(chmod_s, &end, 8);

                if (*end || m < 0 || m > 07777) {
                        r = err_set(err, ERR_PARSE, "%s:%d: --chmod=%s: not an octal mode", x->df_name, in->line,
                                    chmod_s);
                        goto out;
                }
                mode = (int32_t) m;
        }
        if (flag(in, "from")) {
                if (in->n_sources > 0 && in->sources[0].stage >= 0) {
                        from = &x->stages[in->sources[0].stage];
                } else {
                        r = xstage_from_image(x, in->n_sources ? in->sources[0].image : flag(in, "from"), &tmp, err);
                        if (r < 0) {
                                err_prefix(err, "%s:%d: --from", x->df_name, in->line);
                                goto out;
                        }
                        from = &tmp;
                }
        }
        for (size_t i = 0, h = 0; i < n_src && r >= 0; i++) {
                const char *src = in->args[i];
                size_t before = sel->n;

                if (strncmp(src, "<<", 2) == 0 && h < in->n_heredocs) {
                        /* COPY <<EOF /dest: the body is a file named EOF. */
                        const char *name = in->node->heredocs[h].name;
                        _cleanup_free_ char *p = xasprintf("%s/heredoc-%d-%zu", x->work, in->line, h);
                        char *dst = ca.dest_dir || n_src > 1 ? join(dest, name) : xstrdup(dest);
                        struct oci_layer_entry *e;

                        r = fs_write_atomic(p, in->heredocs[h], strlen(in->heredocs[h]), 0644, err);
                        h++;
                        if (r < 0) {
                                free(dst);
                                break;
                        }
                        e = add(sel, dst, xstrdup(p), AT_FDCWD);
                        e->mode = 0644;
                } else if (from) {
                        r = select_stage(x, sel, from, src, n_src, &ca, in, err);
                } else if (add_instr && (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0)) {
                        /* ADD URL: a file, never extracted, mode 0600 as
                         * Docker (unless --chmod). */
                        _cleanup_free_ char *file = NULL, *name = NULL;
                        struct oci_layer_entry *e;

                        r = fetch_url(x, src, flag(in, "checksum"), in, &file, &name, err);
                        if (r < 0)
                                break;
                        e = add(sel, ca.dest_dir || n_src > 1 ? join(dest, name) : xstrdup(dest), steal_ptr(&file),
                                AT_FDCWD);
                        e->mode = 0600;
                } else if (add_instr && strncmp(src, "git@", 4) == 0) {
                        r = err_set(err, ERR_UNSUPPORTED, "%s:%d: ADD %s: git sources are not supported",
                                    x->df_name, in->line, src);
                } else {
                        r = select_context(x, sel, src, n_src, &ca, in, err);
                        if (r >= 0 && add_instr) {
                                /* ADD auto-extracts local tar archives into DEST. */
                                for (size_t k = before; k < sel->n && r >= 0; k++) {
                                        struct oci_layer_entry *e = &sel->e[k];
                                        struct stat st;
                                        struct owner *ow = NULL;
                                        size_t n_ow = 0;
                                        _cleanup_free_ char *into = NULL;
                                        if (!e->src || fstatat(e->src_dirfd, e->src, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                                            !S_ISREG(st.st_mode) || !is_archive(e->src_dirfd, e->src))
                                                continue;
                                        into = xasprintf("%s/add-%d-%zu-%zu", x->work, in->line, i, k);
                                        /* The selection runs twice (cache key, then the
                                         * layer): extract afresh each time. */
                                        fs_rm_rf(into, NULL);
                                        if (mkdir(into, 0755) < 0) {
                                                r = err_set(err, errno, "%s: %s", into, strerror(errno));
                                                break;
                                        }
                                        r = extract_archive(x, e->src_dirfd, e->src, into, &ow, &n_ow, err);
                                        if (r < 0) {
                                                err_prefix(err, "%s:%d", x->df_name, in->line);
                                                break;
                                        }
                                        sort_array(ow, n_ow, sizeof(*ow), cmp_owner);
                                        /* The archive replaces the file entry. */
                                        e->path = own(sel, xasprintf("%s/.ibuild-drop", x->work));
                                        e->src = NULL;
                                        for (size_t o = 0; o < n_ow; o++) {
                                                struct oci_layer_entry *ne =
                                                        add(sel, join(dest, ow[o].path),
                                                            xasprintf("%s/%s", into, ow[o].path), AT_FDCWD);

                                                ne->uid = chown ? uid : ow[o].uid;
                                                ne->gid = chown ? gid : ow[o].gid;
                                                if (mode >= 0)
                                                        ne->mode = mode;
                                                free(ow[o].path);
                                        }
                                        free(ow);
                                        e = &sel->e[k];
                                        e->uid = -2; /* marker: dropped below */
                                }
                        }
                }
                for (size_t k = before; k < sel->n && r >= 0; k++) {
                        if (sel->e[k].uid == -2 || (sel->e[k].uid >= 0 && sel->e[k].src &&
                                                    strncmp(sel->e[k].src, x->work, strlen(x->work)) == 0 &&
                                                    strstr(sel->e[k].src, "/add-")))
                                continue;
                        sel->e[k].uid = uid;
                        sel->e[k].gid = gid;
                        if (mode >= 0)
                                sel->e[k].mode = mode;
                }
        }
        if (r >= 0) {
                /* Drop the archive files that were replaced by their content. */
                size_t w = 0;

                for (size_t k = 0; k < sel->n; k++)
                        if (sel->e[k].uid != -2)
                                sel->e[w++] = sel->e[k];
                sel->n = w;
                sel_dedupe(sel);
        }
out:
        build_ignore_free(ca.exclude);
        if (from == &tmp)
                xstage_release(&tmp);
        return r;
}

static void
hash_str(struct digest_ctx *c, const char *s)
{
        digest_ctx_update(c, s, strlen(s) + 1);
}

/* The content digest of a selection (names, modes, ids, bytes): consumes SEL.
 * File bytes come from the build's content digest cache when unchanged. */
static int
sel_digest(struct xctx *x, struct sel *sel_in, char **ret_digest, struct err **err)
{
        struct sel sel = *sel_in;
        struct digest_ctx *c;
        struct digest d;
        int r = 0;

        memset(sel_in, 0, sizeof(*sel_in));
        c = digest_ctx_new(DIGEST_SHA256);
        for (size_t i = 0; i < sel.n; i++) {
                const struct oci_layer_entry *e = &sel.e[i];
                char meta[128];
                struct stat st = {0};

                hash_str(c, e->path);
                if (e->src && fstatat(e->src_dirfd, e->src, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = err_set(err, errno, "%s: %s", e->src, strerror(errno));
                        break;
                }
                snprintf(meta, sizeof(meta), "%o %lld %lld %d %lld", e->src ? st.st_mode : 040755, (long long) e->uid,
                         (long long) e->gid, e->mode, (long long) st.st_size);
                hash_str(c, meta);
                if (e->src && S_ISREG(st.st_mode)) {
                        struct digest fd_d;

                        r = xhashcache_file_digest(x->hashcache, e->src_dirfd, e->src, &st, &fd_d, err);
                        if (r < 0)
                                break;
                        hash_str(c, fd_d.str);
                } else if (e->src && S_ISLNK(st.st_mode)) {
                        char t[LIMIT_PATH];
                        ssize_t n = readlinkat(e->src_dirfd, e->src, t, sizeof(t) - 1);

                        t[n < 0 ? 0 : n] = '\0';
                        hash_str(c, t);
                }
        }
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        sel_clear(&sel);
        if (r < 0)
                return r;
        *ret_digest = xstrdup(d.str);
        return 0;
}

int
xcopy_prepare(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, char **ret_digest,
              struct err **err)
{
        struct sel sel = {0};
        int r = select_all(x, s, in, &sel, err);

        if (r < 0) {
                sel_clear(&sel);
                return r;
        }
        return sel_digest(x, &sel, ret_digest, err);
}

int
xcontext_digest(struct xctx *x, const char *rel, char **ret_digest, struct err **err)
{
        struct sel sel = {0};
        struct copy_args ca = {.dest = "/"};
        int r = ctx_list(x, err);

        if (r < 0)
                return r;
        add(&sel, xstrdup("/"), xstrdup(rel), x->ctx_fd);
        add_ctx_dir(x, &sel, rel, "/", &ca);
        return sel_digest(x, &sel, ret_digest, err);
}

int
xcopy_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        struct sel sel = {0};
        int r = select_all(x, s, in, &sel, err);

        if (r >= 0) {
                r = xwrite_entries_layer(x, s, sel.e, sel.n, err);
                if (r < 0)
                        err_prefix(err, "%s:%d: %s", x->df_name, in->line, in->text);
        }
        sel_clear(&sel);
        return r;
}
