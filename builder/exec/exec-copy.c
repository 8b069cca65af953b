/* COPY and ADD: select the sources (context, a stage, an image, heredocs;
 * ADD's archives and URLs come from exec-add.c), digest them for the cache
 * key, and write the layer from an entry list without a container (inside
 * the build user namespace when rootless reads need it), reusing a --link
 * layer's blob.  The destination is planned in exec-copy-dest.c. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/exec/exec-copy-internal.h"
#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"

/* ---- the selection ------------------------------------------------------ */

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

struct oci_layer_entry *
xsel_add(struct sel *s, char *path, char *src, int dirfd)
{
        struct oci_layer_entry *e;

        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
                s->kind = xrealloc(s->kind, s->cap);
        }
        s->kind[s->n] = (unsigned char) s->cur;
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
        free(s->kind);
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
        free(s->kind);
        s->kind = NULL;
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

char *
xjoin(const char *dir, const char *name)
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
        const char *dest; /* absolute, clean; with a trailing '/' kept separately */
        bool dest_dir;
        struct build_ignore *exclude;
        bool parents;
        /* --parents with a "/./" in the source: the source's part before
         * it (relative, clean), which is not kept below DEST; NULL: none. */
        const char *pivot;
};

/* Under --parents, the part of source path P (relative, clean) that is
 * kept below the destination: all of it, or what follows the pivot. */
static const char *
kept_parents(const struct copy_args *ca, const char *p)
{
        size_t l = ca->pivot ? strlen(ca->pivot) : 0;

        if (!l || strncmp(p, ca->pivot, l) != 0 || (p[l] != '/' && p[l] != '\0'))
                return p;
        return p[l] == '/' ? p + l + 1 : ".";
}

/* Under --parents, where source dir P (relative, clean) goes: the
 * destination with P's kept part below it (caller frees), or NULL when
 * nothing of P is kept (the destination itself). */
static char *
parents_dir_dest(const struct copy_args *ca, const char *p)
{
        const char *kept = kept_parents(ca, p);

        return strcmp(kept, ".") != 0 ? xjoin(ca->dest, kept) : NULL;
}

/* The part of source SRC before its rsync-style "/./" pivot (as written,
 * caller frees), or NULL when it has none. */
static char *
pivot_of(const char *src)
{
        const char *d = strstr(src, "/./");

        return d && d > src ? xstrndup(src, (size_t) (d - src)) : NULL;
}

bool
xcopy_path_match(const char *pat, const char *p)
{
        const char *ps = strchr(pat, '/'), *qs;
        size_t pl = ps ? (size_t) (ps - pat) : strlen(pat);
        _cleanup_free_ char *pc = NULL, *qc = NULL;

        if (pl == 2 && strncmp(pat, "**", 2) == 0) {
                if (!ps)
                        return true;
                for (const char *q = p;;) {
                        const char *slash;

                        if (xcopy_path_match(ps + 1, q))
                                return true;
                        slash = strchr(q, '/');
                        if (!slash)
                                return false;
                        q = slash + 1;
                }
        }
        qs = strchr(p, '/');
        pc = xstrndup(pat, pl);
        qc = qs ? xstrndup(p, (size_t) (qs - p)) : xstrdup(p);
        if (fnmatch(pc, qc, 0) != 0)
                return false;
        if (!ps || !qs)
                return !ps && !qs;
        return xcopy_path_match(ps + 1, qs + 1);
}

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
                xsel_add(s, xjoin(dest, sub), xstrdup(p), x->ctx_fd);
        }
}

/* Docker's rule for a wildcard source: several matches need a directory
 * destination (ending in "/" or an existing dir); a single matched file
 * with a plain destination is written as that file.  LAST_FILE is the
 * selection index of the last matched file (SIZE_MAX: none). */
static int
glob_dest(struct xctx *x, struct sel *s, const char *src, size_t matched, size_t last_file, const struct copy_args *ca,
          size_t n_src, const struct build_plan_instr *in, struct err **err)
{
        if (!has_glob(src) || ca->dest_dir || ca->parents || n_src > 1)
                return 0;
        if (matched > 1)
                return err_set(err, EINVAL,
                               "%s:%d: %s: %s matches %zu sources: the destination %s must be a directory "
                               "(end it with /)",
                               x->df_name, in->line, in->text, src, matched, ca->dest);
        if (last_file != SIZE_MAX)
                s->e[last_file].path = own(s, xstrdup(ca->dest));
        return 0;
}

static int
select_context(struct xctx *x, struct sel *s, const char *src, size_t n_src, const struct copy_args *ca,
               const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *clean = NULL;
        size_t matched = 0, last_file = SIZE_MAX;
        int r;

        r = ctx_list(x, err);
        if (r < 0)
                return r;
        clean = xcopy_context_rel(src);
        for (size_t i = 0; i < x->ctxlist->n + 1; i++) {
                const char *p;
                _cleanup_free_ char *real = NULL;
                struct stat st;
                bool is_dir;

                if (has_glob(clean)) {
                        if (i == x->ctxlist->n)
                                break;
                        p = x->ctxlist->entries[i].path;
                        if (!xcopy_path_match(clean, p))
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

                        if (ca->parents && (pd = parents_dir_dest(ca, p)))
                                dd = pd;
                        if (strcmp(dd, "/") != 0)
                                xsel_add(s, xstrdup(dd), xstrdup(real), x->ctx_fd);
                        add_ctx_dir(x, s, real, dd, ca);
                } else {
                        char *dst;

                        if (ca->parents)
                                dst = xjoin(ca->dest, kept_parents(ca, p));
                        else
                                dst = ca->dest_dir || n_src > 1 || has_glob(clean) ? xjoin(ca->dest, base_name(p))
                                                                                   : xstrdup(ca->dest);
                        last_file = s->n;
                        xsel_add(s, dst, xstrdup(real), x->ctx_fd);
                }
        }
        if (matched == 0)
                return err_set(err, ENOENT, "%s:%d: %s: no source files match %s", x->df_name, in->line, in->text, src);
        return glob_dest(x, s, src, matched, last_file, ca, n_src, in, err);
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

/* The longest leading part of absolute pattern PAT without a glob
 * character, as a directory ("/" at least); *ret_rest is the pattern
 * relative to it (borrowed from PAT). */
static char *
glob_prefix(const char *pat, const char **ret_rest)
{
        const char *g = pat + strcspn(pat, "*?[");
        const char *slash = g;

        while (slash > pat && *slash != '/')
                slash--;
        *ret_rest = slash + 1;
        return slash == pat ? xstrdup("/") : xstrndup(pat, (size_t) (slash - pat));
}

/* COPY --from: SRC (absolute, or relative to the stage root; may hold
 * globs in any component, matched as in the context) in stage ST's
 * merged view. */
static int
select_stage(struct xctx *x, struct sel *s, struct xstage *st, const char *src, size_t n_src,
             const struct copy_args *ca, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_free_ char *abs = xabs_path("/", src);
        char **names = NULL;
        size_t n_names = 0;
        bool glob = has_glob(abs);
        int r = 0;

        if (glob) {
                const char *rest;
                _cleanup_free_ char *prefix = glob_prefix(abs, &rest);
                struct xmerged *m = NULL;
                size_t n = 0;

                r = xstage_list(x, st, prefix, &m, &n, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (xcopy_path_match(rest, m[i].rel)) {
                                names = xrealloc(names, (n_names + 1) * sizeof(char *));
                                names[n_names++] = xjoin(prefix, m[i].rel);
                        }
                xmerged_free(m, n);
        } else {
                names = xcalloc(1, sizeof(char *));
                names[n_names++] = xstrdup(abs);
        }
        if (n_names == 0)
                r = err_set(err, ENOENT, "%s:%d: %s: no source files match %s", x->df_name, in->line, in->text, src);
        else if (glob && n_names > 1 && !ca->dest_dir && !ca->parents && n_src == 1)
                r = glob_dest(x, s, src, n_names, SIZE_MAX, ca, n_src, in, err);
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
                        const char *dd = ca->dest;
                        _cleanup_free_ char *pd = NULL;

                        /* --parents keeps the source's path below DEST. */
                        if (ca->parents && strcmp(names[k], "/") != 0 && (pd = parents_dir_dest(ca, names[k] + 1)))
                                dd = pd;
                        if (strcmp(dd, "/") != 0)
                                xsel_add(s, xstrdup(dd), xstrdup(host), AT_FDCWD);
                        r = xstage_list(x, st, path, &m, &n, err);
                        for (size_t i = 0; r >= 0 && i < n; i++) {
                                if (ca->exclude && build_ignore_excludes(ca->exclude, m[i].rel))
                                        continue;
                                xsel_add(s, xjoin(dd, m[i].rel), xstrdup(m[i].host), AT_FDCWD);
                        }
                        xmerged_free(m, n);
                } else {
                        char *dst;

                        if (ca->exclude && glob && build_ignore_excludes(ca->exclude, names[k] + 1))
                                continue;
                        if (ca->parents)
                                dst = xjoin(ca->dest, kept_parents(ca, names[k] + 1));
                        else if (ca->dest_dir || n_src > 1 || (glob && n_names > 1))
                                dst = xjoin(ca->dest, base_name(names[k]));
                        else
                                dst = xstrdup(ca->dest);
                        xsel_add(s, dst, xstrdup(host), AT_FDCWD);
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

char *
xcopy_context_rel(const char *src)
{
        /* Cleaned as an absolute path, ".." stops at the root: BuildKit
         * resolves a source inside the context the same way, and a
         * leading ".." left in place would name no context entry. */
        _cleanup_free_ char *abs = xabs_path("/", src);

        return xstrdup(abs[1] ? abs + 1 : ".");
}

/* Build the full entry list of job J. */
static int
select_all(const struct copy_job *j, struct sel *sel, struct err **err)
{
        struct xctx *x = j->x;
        struct xstage *s = j->s, *from = j->from;
        const struct build_plan_instr *in = j->in;
        const bool add_instr = in->kind == BUILD_DF_ADD;
        const char *chown = flag(in, "chown"), *chmod_s = flag(in, "chmod");
        const char *parents = flag(in, "parents");
        struct copy_args ca = {0};
        struct dest_plan plan = {0};
        _cleanup_free_ char *dest = NULL;
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
                ca.dest_dir =
                    (l && d[l - 1] == '/') || (l && strcmp(d, ".") == 0) || (l >= 2 && strcmp(d + l - 2, "/.") == 0);
                /* --link reads nothing of the stage: the path is taken as
                 * written, never through the base's symlinks or dirs. */
                if (!j->link) {
                        r = xdest_plan_get(j, dest, ca.dest_dir, &plan, err);
                        if (r < 0)
                                return err_prefix(err, "%s:%d", x->df_name, in->line);
                        free(dest);
                        dest = xstrdup(plan.dest);
                        ca.dest_dir = plan.dest_dir;
                }
                ca.dest = dest;
        }
        if (n_src > 1 && !ca.dest_dir) {
                xdest_plan_clear(&plan);
                return err_set(err, EINVAL,
                               "%s:%d: %s: with several sources the destination %s must be a directory "
                               "(end it with /)",
                               x->df_name, in->line, in->text, in->args[in->n_args - 1]);
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
                if (r < 0) {
                        xdest_plan_clear(&plan);
                        return err_prefix(err, "%s:%d: --exclude", x->df_name, in->line);
                }
        }
        if (chown) {
                r = resolve_chown(x, s, chown, &uid, &gid, in, err);
                if (r < 0)
                        goto out;
        }
        if (chmod_s) {
                char *end;
                long m = strtol(chmod_s, &end, 8);

                if (!*chmod_s || *end || m < 0 || m > 07777) {
                        r = err_set(err, ERR_PARSE, "%s:%d: --chmod=%s: not an octal mode", x->df_name, in->line,
                                    chmod_s);
                        goto out;
                }
                mode = (int32_t) m;
        }
        for (size_t i = 0, h = 0; i < n_src && r >= 0; i++) {
                const char *src = in->args[i];
                size_t before = sel->n;

                sel->cur = SEL_CONTEXT;
                if (strncmp(src, "<<", 2) == 0 && h < in->n_heredocs) {
                        /* COPY <<EOF /dest: the body is a file named EOF. */
                        const char *name = in->node->heredocs[h].name;
                        _cleanup_free_ char *p = xasprintf("%s/heredoc-%d-%zu", x->work, in->line, h);
                        char *dst = ca.dest_dir || n_src > 1 ? xjoin(dest, name) : xstrdup(dest);
                        struct oci_layer_entry *e;

                        r = fs_write_atomic(p, in->heredocs[h], strlen(in->heredocs[h]), 0644, err);
                        h++;
                        if (r < 0) {
                                free(dst);
                                break;
                        }
                        e = xsel_add(sel, dst, xstrdup(p), AT_FDCWD);
                        e->mode = 0644;
                } else if (from) {
                        struct copy_args sca = ca;
                        _cleanup_free_ char *pv = ca.parents ? pivot_of(src) : NULL;
                        _cleanup_free_ char *pva = pv ? xabs_path("/", pv) : NULL;

                        sca.pivot = pva && strcmp(pva, "/") != 0 ? pva + 1 : NULL;
                        sel->cur = SEL_STAGE;
                        r = select_stage(x, sel, from, src, n_src, &sca, in, err);
                } else if (add_instr && (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0)) {
                        /* ADD URL: a file, never extracted, mode 0600 as
                         * Docker (unless --chmod). */
                        _cleanup_free_ char *file = NULL, *name = NULL;
                        struct oci_layer_entry *e;

                        r = xfetch_url(x, src, flag(in, "checksum"), in, &file, &name, err);
                        if (r < 0)
                                break;
                        e = xsel_add(sel, ca.dest_dir || n_src > 1 ? xjoin(dest, name) : xstrdup(dest),
                                     steal_ptr(&file), AT_FDCWD);
                        e->mode = 0600;
                } else if (add_instr && strncmp(src, "git@", 4) == 0) {
                        r = err_set(err, ERR_UNSUPPORTED, "%s:%d: ADD %s: git sources are not supported", x->df_name,
                                    in->line, src);
                } else {
                        struct copy_args sca = ca;
                        _cleanup_free_ char *pv = ca.parents ? pivot_of(src) : NULL;
                        _cleanup_free_ char *pvc = pv ? xcopy_context_rel(pv) : NULL;

                        sca.pivot = pvc && strcmp(pvc, ".") != 0 ? pvc : NULL;
                        r = select_context(x, sel, src, n_src, &sca, in, err);
                        if (r >= 0 && add_instr)
                                r = xadd_archives(x, sel, before, i, dest, chown != NULL, uid, gid, mode, in, err);
                }
        }
        if (r < 0)
                goto out;
        /* Existing dirs on the way keep their mode and owner (a plain COPY
         * into /tmp leaves it 1777); added last, so they win. */
        sel->cur = SEL_BASE_DIR;
        for (size_t i = 0; i < plan.n; i++) {
                struct oci_layer_entry *e = xsel_add(sel, xstrdup(plan.dirs[i].path), NULL, AT_FDCWD);

                e->mode = plan.dirs[i].mode;
                e->uid = plan.dirs[i].uid;
                e->gid = plan.dirs[i].gid;
        }
        /* Owners and modes by origin; drop archives replaced by their content. */
        {
                size_t w = 0;

                for (size_t k = 0; k < sel->n; k++) {
                        struct oci_layer_entry *e = &sel->e[k];

                        switch ((enum sel_kind) sel->kind[k]) {
                        case SEL_REPLACED:
                                continue;
                        case SEL_CONTEXT:
                        case SEL_STAGE:
                                /* Docker: context files are 0:0; BuildKit keeps
                                 * a stage file's owner.  --chown wins. */
                                if (chown || sel->kind[k] == SEL_CONTEXT) {
                                        e->uid = uid;
                                        e->gid = gid;
                                } else {
                                        /* The in-image owner, explicitly: the
                                         * cache key then covers it, and the
                                         * layer has it when read from outside
                                         * the namespace. */
                                        struct stat st;

                                        if (fstatat(e->src_dirfd, e->src, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                                r = err_set(err, errno, "%s:%d: %s: %s", x->df_name, in->line, e->src,
                                                            strerror(errno));
                                                goto out;
                                        }
                                        e->uid = ximage_id(j, false, st.st_uid);
                                        e->gid = ximage_id(j, true, st.st_gid);
                                }
                                if (mode >= 0)
                                        e->mode = mode;
                                break;
                        case SEL_ARCHIVE:
                        case SEL_BASE_DIR:
                                break;
                        }
                        sel->kind[w] = sel->kind[k];
                        sel->e[w++] = *e;
                }
                sel->n = w;
        }
        sel_dedupe(sel);
out:
        xdest_plan_clear(&plan);
        build_ignore_free(ca.exclude);
        return r;
}

static void
hash_str(struct digest_ctx *c, const char *s)
{
        digest_ctx_update(c, s, strlen(s) + 1);
}

/* The content digest of a selection (names, modes, ids, bytes) into RET. */
static int
sel_digest(struct xctx *x, const struct sel *sel, struct digest *ret, struct err **err)
{
        struct digest_ctx *c;
        struct digest d;
        int r = 0;

        c = digest_ctx_new(DIGEST_SHA256);
        for (size_t i = 0; i < sel->n; i++) {
                const struct oci_layer_entry *e = &sel->e[i];
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
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

/* ---- running a COPY/ADD ------------------------------------------------ */

/* What a job reports: the selection's digest, and with a layer written,
 * the layer writer's result. */
struct copy_result {
        struct digest sources;
        bool wrote;
        struct oci_layer_result layer;
};

/* Select J's entries; their digest into RES, and with OUT_FD >= 0 the
 * layer written there. */
static int
copy_do(const struct copy_job *j, int out_fd, struct copy_result *res, struct err **err)
{
        struct sel sel = {0};
        int r = select_all(j, &sel, err);

        if (r >= 0)
                r = sel_digest(j->x, &sel, &res->sources, err);
        if (r >= 0 && out_fd >= 0) {
                struct oci_layer_write_opts wo;

                oci_layer_write_opts_init(&wo);
                wo.compression = j->x->o->compression;
                wo.threads = j->x->o->jobs > 1 ? j->x->o->jobs : 1;
                wo.source_date_epoch = j->x->o->source_date_epoch;
                r = oci_layer_write_entries(sel.e, sel.n, &wo, out_fd, &res->layer, err);
                if (r < 0)
                        err_prefix(err, "%s:%d: %s", j->x->df_name, j->in->line, j->in->text);
                res->wrote = r >= 0;
        }
        sel_clear(&sel);
        return r;
}

struct copy_call {
        struct copy_job job;
        int out_fd;    /* layer blob, or -1 */
        int report_fd; /* a memfd the child writes its struct copy_result to */
};

static int
copy_child(void *p, struct err **err)
{
        struct copy_call *c = p;
        struct copy_result res = {0};
        int r;

        /* A fork of a multi-threaded process: a lock may have been held by
         * a thread that does not exist here.  Everything needed is unpacked
         * already (the lock only guards lazy work), and the content digest
         * cache (its own lock, records this copy would lose) stays out. */
        pthread_mutex_init(&c->job.x->lock, NULL);
        c->job.x->hashcache = NULL;
        c->job.in_ns = true;
        r = copy_do(&c->job, c->out_fd, &res, err);
        if (r < 0)
                return r;
        return fs_write_all(c->report_fd, &res, sizeof(res), err);
}

/* Can the dirs leading to every source of J (and a source dir itself) be
 * searched from here in every layer of the source stage?  Where one
 * cannot, a lookup from here would fall through to an older copy of the
 * file in a lower layer instead of failing. */
static bool
from_searchable(const struct copy_job *j)
{
        for (size_t i = 0; i + 1 < j->in->n_args; i++) {
                const char *src = j->in->args[i], *rest;
                _cleanup_free_ char *abs = NULL, *pre = NULL, *probe = NULL;

                if (strncmp(src, "<<", 2) == 0)
                        continue;
                abs = xabs_path("/", src);
                if (has_glob(abs))
                        pre = glob_prefix(abs, &rest);
                probe = xasprintf("%s/x", pre ? pre : abs);
                if (!xsearchable(j->from, probe))
                        return false;
        }
        return true;
}

/* Run job J (and write the layer to OUT_FD when >= 0).  Rootless, a COPY
 * --from reads the stage inside the build user namespace: files a RUN made
 * with other (mapped) owners and modes such as 0600 or 0700 dirs are only
 * readable there, and their in-image owners are what the layer keeps. */
static int
copy_exec(struct copy_job *j, int out_fd, struct copy_result *ret, struct err **err)
{
        struct copy_call c = {.job = *j, .out_fd = out_fd, .report_fd = -1};
        _cleanup_close_ int fd = -1;
        ssize_t n;
        int r;

        /* Unpack now: the namespace helper cannot (it is a fork, and
         * unpacking itself needs the namespace).  The destination stage is
         * only looked at (for existing dirs and symlinks on the way to the
         * destination, /etc/passwd): a base layer that cannot be unpacked
         * is a base without them, as before. */
        if (!j->link) {
                struct err *e = NULL;

                xstage_unpack(j->x, j->s, &e);
                err_clear(&e);
        }
        r = j->from ? xstage_unpack(j->x, j->from, err) : 0;
        if (r < 0)
                return r;
        if (!j->from || j->x->idmap.kind == BUILD_IDMAP_IDENTITY) {
                memset(ret, 0, sizeof(*ret));
                return copy_do(j, out_fd, ret, err);
        }
        /* Rootless: from here when every file can be read (the content
         * digest cache helps then), else again inside the namespace, which
         * also names any real error (a file in a dir we cannot search looks
         * missing from here). */
        if (from_searchable(j)) {
                memset(ret, 0, sizeof(*ret));
                r = copy_do(j, out_fd, ret, err);
                if (r >= 0)
                        return r;
                err_clear(err);
        }
        if (out_fd >= 0 && (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0))
                return err_set(err, errno, "truncating the layer: %s", strerror(errno));
        fd = memfd_create("ibuild-copy-result", MFD_CLOEXEC);
        if (fd < 0)
                return err_set(err, errno, "memfd_create: %s", strerror(errno));
        c.report_fd = fd;
        r = build_idmap_call(&j->x->idmap, copy_child, &c, err);
        if (r < 0)
                return r;
        n = pread(fd, ret, sizeof(*ret), 0);
        if (n != (ssize_t) sizeof(*ret))
                return err_set(err, EIO, "%s:%d: %s: no result from the namespace helper", j->x->df_name, j->in->line,
                               j->in->text);
        return 0;
}

/* The stage or image IN copies from (*ret NULL for the context); an
 * image is loaded into TMP, released by the caller. */
static int
copy_from(struct xctx *x, const struct build_plan_instr *in, struct xstage *tmp, struct xstage **ret, struct err **err)
{
        *ret = NULL;
        if (!flag(in, "from"))
                return 0;
        if (in->n_sources > 0 && in->sources[0].stage >= 0) {
                *ret = &x->stages[in->sources[0].stage];
                return 0;
        }
        if (xstage_from_image(x, in->n_sources ? in->sources[0].image : flag(in, "from"), tmp, err) < 0)
                return err_prefix(err, "%s:%d: --from", x->df_name, in->line);
        *ret = tmp;
        return 0;
}

static bool
link_flag(const struct build_plan_instr *in)
{
        const char *v = flag(in, "link");

        return v && strcmp(v, "false") != 0;
}

int
xcopy_prepare(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, char **ret_digest, struct err **err)
{
        struct xstage tmp = {0};
        struct copy_job j = {.x = x, .s = s, .in = in, .link = link_flag(in)};
        struct copy_result res;
        int r = copy_from(x, in, &tmp, &j.from, err);

        if (r >= 0)
                r = copy_exec(&j, -1, &res, err);
        if (j.from == &tmp)
                xstage_release(&tmp);
        if (r < 0)
                return r;
        *ret_digest = xstrdup(res.sources.str);
        return 0;
}

int
xcontext_digest(struct xctx *x, const char *rel, char **ret_digest, struct err **err)
{
        struct sel sel = {0};
        struct copy_args ca = {.dest = "/"};
        struct digest d;
        int r = ctx_list(x, err);

        if (r < 0)
                return r;
        xsel_add(&sel, xstrdup("/"), xstrdup(rel), x->ctx_fd);
        add_ctx_dir(x, &sel, rel, "/", &ca);
        r = sel_digest(x, &sel, &d, err);
        sel_clear(&sel);
        if (r < 0)
                return r;
        *ret_digest = xstrdup(d.str);
        return 0;
}

/* ---- COPY --link layers ------------------------------------------------- */

/* A --link layer depends only on the instruction, its sources and the
 * layer options, never on the layers below: this key names its blob in
 * the store's cache dir, so a rebuild whose earlier steps changed reuses
 * the very same blob (same diffID) instead of writing it again. */
static char *
link_cache_path(struct xctx *x, const struct build_plan_instr *in, const struct digest *sources)
{
        struct digest_ctx *c = digest_ctx_new(DIGEST_SHA256);
        struct digest d;
        char epoch[32];

        hash_str(c, "ibuild copy --link v1");
        hash_str(c, in->text);
        for (size_t i = 0; i < in->n_build_args; i++)
                hash_str(c, in->build_args[i]);
        for (size_t i = 0; i < in->n_heredocs; i++)
                hash_str(c, in->heredocs[i]);
        hash_str(c, sources->str);
        hash_str(c, oci_layer_compression_name(x->o->compression));
        snprintf(epoch, sizeof(epoch), "%lld", (long long) x->o->source_date_epoch);
        hash_str(c, epoch);
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        return xasprintf("%s/link-%s", oci_store_cache_dir(x->store), d.hex);
}

/* Reuse the cached --link layer at PATH ("DIGEST SIZE DIFFID\n") when its
 * blob is still in the store: 0 when added to S, -ENOENT otherwise. */
static int
link_cache_get(struct xctx *x, struct xstage *s, const char *path)
{
        _cleanup_free_ char *buf = NULL;
        char dg[DIGEST_STR_MAX], diff[DIGEST_STR_MAX];
        long long size;
        struct digest d, dd;
        struct oci_descriptor desc;
        uint64_t have;
        size_t len;
        struct err *e = NULL;
        int r = -ENOENT;

        if (fs_read_file(path, 4096, &buf, &len, &e) < 0 || sscanf(buf, "%135s %lld %135s", dg, &size, diff) != 3 ||
            digest_parse(dg, &d, &e) < 0 || digest_parse(diff, &dd, &e) < 0 ||
            oci_layout_refresh_blob(x->layout, &d, &have, &e) < 0 || (long long) have != size)
                goto out;
        oci_descriptor_init(&desc, xlayer_media_type(x->o->compression), d.str, size);
        xstage_add_layer(s, &desc, dd.str, NULL);
        oci_image_config_add_diff_id(s->cfg, dd.str);
        oci_descriptor_clear(&desc);
        r = 0;
out:
        err_clear(&e);
        return r;
}

int
xcopy_run(struct xctx *x, struct xstage *s, const struct build_plan_instr *in, struct err **err)
{
        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
        _cleanup_free_ char *link_path = NULL;
        struct xstage tmp = {0};
        struct copy_job j = {.x = x, .s = s, .in = in, .link = link_flag(in)};
        struct copy_result res;
        struct oci_descriptor desc;
        struct digest got;
        uint64_t size;
        int r = copy_from(x, in, &tmp, &j.from, err);

        if (r < 0)
                return r;
        if (j.link) {
                r = copy_exec(&j, -1, &res, err);
                if (r < 0)
                        goto out;
                link_path = link_cache_path(x, in, &res.sources);
                if (link_cache_get(x, s, link_path) == 0)
                        goto out;
        }
        r = oci_layout_blob_writer_new(x->layout, DIGEST_SHA256, &w, err);
        if (r < 0)
                goto out;
        r = copy_exec(&j, oci_blob_writer_fd(w), &res, err);
        if (r < 0)
                goto out;
        if (!res.wrote) {
                r = err_set(err, EIO, "%s:%d: %s: no layer written", x->df_name, in->line, in->text);
                goto out;
        }
        r = oci_blob_writer_commit(w, &res.layer.blob_digest, (int64_t) res.layer.blob_size, &got, &size, err);
        if (r < 0)
                goto out;
        oci_descriptor_init(&desc, xlayer_media_type(x->o->compression), got.str, (int64_t) size);
        xstage_add_layer(s, &desc, res.layer.diff_id.str, NULL);
        oci_image_config_add_diff_id(s->cfg, res.layer.diff_id.str);
        oci_descriptor_clear(&desc);
        if (link_path) {
                _cleanup_free_ char *line =
                    xasprintf("%s %llu %s\n", got.str, (unsigned long long) size, res.layer.diff_id.str);
                struct err *e = NULL;

                /* A failure here only costs a reuse later. */
                fs_write_atomic(link_path, line, strlen(line), 0644, &e);
                err_clear(&e);
        }
out:
        if (j.from == &tmp)
                xstage_release(&tmp);
        return r;
}
