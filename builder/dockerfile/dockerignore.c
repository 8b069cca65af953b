/* .dockerignore matching and the context walk.  Matching follows
 * moby/patternmatcher: each pattern is classified as an exact path, a
 * literal prefix (DIR then a trailing double star), a literal suffix (a leading double star then /NAME) or a glob; globs
 * run on a small NFA instead of a regexp.  The walk follows fsutil's
 * filter: parent match results are carried down so each path is matched
 * once, and excluded directories are skipped unless an exception could
 * match inside them. */
#include "builder/dockerfile/dockerignore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/utf8.h"
#include "common/sort.h"
#include "common/fsutil.h"
#include "common/limits.h"

enum pat_type { PAT_EXACT, PAT_PREFIX, PAT_SUFFIX, PAT_GLOB };

enum tok_kind {
        TOK_LIT,       /* one character (UTF-8 bytes) */
        TOK_ANY,       /* ?  : one character but '/' */
        TOK_STAR,      /* *  : [^/]* */
        TOK_DSTAR_DIR, /* ** followed by more: (.* /)? */
        TOK_DSTAR_END, /* ** at the end: .* */
        TOK_CLASS,     /* [...] */
};

struct range {
        uint32_t lo, hi;
};

struct tok {
        enum tok_kind kind;
        uint32_t c;          /* TOK_LIT */
        bool neg;            /* TOK_CLASS */
        struct range *ranges;
        size_t n_ranges;
};

struct pattern {
        char *text; /* cleaned, without the leading '!' */
        bool exception;
        enum pat_type type;
        const char *lit; /* PREFIX: text minus "**" (own copy); SUFFIX: text + 2 */
        char *prefix;
        struct tok *toks;
        size_t n_toks;
        char *literal_dir; /* text minus a trailing "/ **" or "/ *", for the skip rule */
};

struct build_ignore {
        struct pattern *pats;
        size_t n, cap;
        bool exceptions;
        /* Only exceptions without wildcards: fsutil's condition for
         * skipping an excluded directory by a literal prefix test. */
        bool only_prefix_exceptions;
        char **keep;
        size_t n_keep;
};

/* ---- paths ---- */

char *
build_path_clean(const char *path)
{
        size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
        bool rooted = n > 0 && path[0] == '/';
        char *out = xmalloc(n + 2);

        if (n == 0) {
                strcpy(out, ".");
                return out;
        }
        if (rooted) {
                out[w++] = '/';
                r = dotdot = 1;
        }
        while (r < n) {
                if (path[r] == '/') {
                        r++;
                } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
                        r++;
                } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
                        r += 2;
                        if (w > dotdot) {
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if ((rooted && w != 1) || (!rooted && w != 0))
                                out[w++] = '/';
                        while (r < n && path[r] != '/')
                                out[w++] = path[r++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = '\0';
        return out;
}

/* ---- compiling a pattern ---- */

static void
tok_push(struct pattern *p, struct tok t)
{
        p->toks = xrealloc(p->toks, (p->n_toks + 1) * sizeof(*p->toks));
        p->toks[p->n_toks++] = t;
}

/* Parse a bracket expression after '[' (filepath.Match grammar: optional
 * '^', then chars or lo-hi ranges, '\' escapes, at least one item). */
static int
parse_class(const char *s, size_t n, size_t *pos, struct tok *t)
{
        size_t i = *pos;

        t->kind = TOK_CLASS;
        if (i < n && s[i] == '^') {
                t->neg = true;
                i++;
        }
        for (;;) {
                struct range r;

                if (i < n && s[i] == ']' && t->n_ranges > 0) {
                        *pos = i + 1;
                        return 0;
                }
                if (i >= n || s[i] == '-' || s[i] == ']')
                        return -1;
                if (s[i] == '\\' && ++i >= n)
                        return -1;
                i += utf8_next(s + i, n - i, &r.lo);
                r.hi = r.lo;
                if (i < n && s[i] == '-') {
                        i++;
                        if (i >= n || s[i] == '-' || s[i] == ']')
                                return -1;
                        if (s[i] == '\\' && ++i >= n)
                                return -1;
                        i += utf8_next(s + i, n - i, &r.hi);
                        if (r.hi < r.lo)
                                return -1;
                }
                t->ranges = xrealloc(t->ranges, (t->n_ranges + 1) * sizeof(*t->ranges));
                t->ranges[t->n_ranges++] = r;
        }
}

static void
pattern_clear(struct pattern *p)
{
        free(p->text);
        free(p->prefix);
        free(p->literal_dir);
        for (size_t i = 0; i < p->n_toks; i++)
                free(p->toks[i].ranges);
        free(p->toks);
        memset(p, 0, sizeof(*p));
}

/* Classify TEXT the way patternmatcher's compile() does and build tokens. */
static int
pattern_compile(struct pattern *p)
{
        const char *s = p->text;
        size_t n = strlen(s), i = 0;
        enum pat_type type = PAT_EXACT;
        bool first = true;

        while (i < n) {
                char c = s[i];

                if (c == '*' && i + 1 < n && s[i + 1] == '*') {
                        i += 2;
                        if (i < n && s[i] == '/')
                                i++;
                        if (i >= n) {
                                if (type == PAT_EXACT) {
                                        type = PAT_PREFIX;
                                } else {
                                        type = PAT_GLOB;
                                }
                                tok_push(p, (struct tok){ .kind = TOK_DSTAR_END });
                        } else {
                                type = PAT_GLOB;
                                tok_push(p, (struct tok){ .kind = TOK_DSTAR_DIR });
                        }
                        if (first)
                                type = PAT_SUFFIX;
                } else if (c == '*') {
                        i++;
                        type = PAT_GLOB;
                        tok_push(p, (struct tok){ .kind = TOK_STAR });
                } else if (c == '?') {
                        i++;
                        type = PAT_GLOB;
                        tok_push(p, (struct tok){ .kind = TOK_ANY });
                } else if (c == '[') {
                        struct tok t = { 0 };

                        i++;
                        if (parse_class(s, n, &i, &t) < 0) {
                                free(t.ranges);
                                return -1;
                        }
                        type = PAT_GLOB;
                        tok_push(p, t);
                } else if (c == ']') {
                        /* A stray ']' is literal for filepath.Match but
                         * patternmatcher makes it a glob; either way it
                         * only matches itself. */
                        i++;
                        type = PAT_GLOB;
                        tok_push(p, (struct tok){ .kind = TOK_LIT, .c = ']' });
                } else if (c == '\\') {
                        uint32_t cp;

                        i++;
                        if (i >= n)
                                return -1;
                        i += utf8_next(s + i, n - i, &cp);
                        type = PAT_GLOB;
                        tok_push(p, (struct tok){ .kind = TOK_LIT, .c = cp });
                } else {
                        uint32_t cp;

                        i += utf8_next(s + i, n - i, &cp);
                        tok_push(p, (struct tok){ .kind = TOK_LIT, .c = cp });
                }
                first = false;
        }
        p->type = type;
        if (type == PAT_PREFIX) {
                p->prefix = xstrndup(s, n - 2);
                p->lit = p->prefix;
        } else if (type == PAT_SUFFIX) {
                p->lit = s + 2;
        }
        /* fsutil's patternWithoutTrailingGlob. */
        p->literal_dir = xstrdup(s);
        {
                size_t l = strlen(p->literal_dir);

                if (l >= 3 && strcmp(p->literal_dir + l - 3, "/**") == 0)
                        p->literal_dir[l -= 3] = '\0';
                if (l >= 2 && strcmp(p->literal_dir + l - 2, "/*") == 0)
                        p->literal_dir[l - 2] = '\0';
        }
        return 0;
}

static bool
class_match(const struct tok *t, uint32_t c)
{
        bool m = false;

        for (size_t i = 0; i < t->n_ranges && !m; i++)
                m = c >= t->ranges[i].lo && c <= t->ranges[i].hi;
        return m != t->neg;
}

/* Run the token NFA over PATH.  States are token indexes; n_toks accepts. */
/* Run the token NFA over PATH.  States are token indexes (n_toks accepts);
 * a "**" group followed by more pattern, (.* /)?, has a second state, LOOP,
 * for "inside the group": only its entry may be skipped without input. */
static bool
glob_match(const struct pattern *p, const char *path, size_t len)
{
        size_t nt = p->n_toks, i = 0, stride = nt + 1;
        uint8_t small[4 * 64];
        _cleanup_free_ uint8_t *big = NULL;
        uint8_t *cur, *next, *loop, *nloop, *tmp;

        if (stride <= 64) {
                cur = small;
        } else {
                big = xcalloc(4, stride);
                cur = big;
        }
        next = cur + stride;
        loop = next + stride;
        nloop = loop + stride;
        memset(cur, 0, 2 * stride);
        memset(loop, 0, 2 * stride);
        cur[0] = 1;
        for (size_t k = 0; k < nt; k++)
                if (cur[k] && p->toks[k].kind >= TOK_STAR && p->toks[k].kind <= TOK_DSTAR_END)
                        cur[k + 1] = 1;
        while (i < len) {
                uint32_t c;
                size_t l = utf8_next(path + i, len - i, &c);
                bool any = false;

                memset(next, 0, stride);
                memset(nloop, 0, stride);
                for (size_t k = 0; k < nt; k++) {
                        const struct tok *t = &p->toks[k];

                        if (t->kind == TOK_DSTAR_DIR && (cur[k] || loop[k])) {
                                nloop[k] = 1;
                                if (c == '/')
                                        next[k + 1] = 1;
                                continue;
                        }
                        if (!cur[k])
                                continue;
                        switch (t->kind) {
                        case TOK_LIT:
                                if (c == t->c)
                                        next[k + 1] = 1;
                                break;
                        case TOK_ANY:
                                if (c != '/')
                                        next[k + 1] = 1;
                                break;
                        case TOK_CLASS:
                                if (class_match(t, c))
                                        next[k + 1] = 1;
                                break;
                        case TOK_STAR:
                                if (c != '/')
                                        next[k] = 1;
                                break;
                        case TOK_DSTAR_END:
                                next[k] = 1;
                                break;
                        case TOK_DSTAR_DIR:
                                break;
                        }
                }
                /* Epsilon moves past starred tokens, in order. */
                for (size_t k = 0; k < nt; k++) {
                        if (next[k] && p->toks[k].kind >= TOK_STAR && p->toks[k].kind <= TOK_DSTAR_END)
                                next[k + 1] = 1;
                }
                for (size_t k = 0; k <= nt; k++)
                        any |= next[k] | nloop[k];
                if (!any)
                        return false;
                tmp = cur;
                cur = next;
                next = tmp;
                tmp = loop;
                loop = nloop;
                nloop = tmp;
                i += l;
        }
        return cur[nt];
}

static bool
has_suffix(const char *s, size_t len, const char *suf)
{
        size_t sl = strlen(suf);

        return sl <= len && memcmp(s + len - sl, suf, sl) == 0;
}

/* patternmatcher's Pattern.match on PATH (LEN bytes, no NUL needed). */
static bool
pattern_match(const struct pattern *p, const char *path, size_t len)
{
        switch (p->type) {
        case PAT_EXACT:
                return strlen(p->text) == len && memcmp(p->text, path, len) == 0;
        case PAT_PREFIX:
                return strlen(p->lit) <= len && memcmp(p->lit, path, strlen(p->lit)) == 0;
        case PAT_SUFFIX:
                if (has_suffix(path, len, p->lit))
                        return true;
                return p->lit[0] == '/' && strlen(p->lit + 1) == len && memcmp(p->lit + 1, path, len) == 0;
        case PAT_GLOB:
                return glob_match(p, path, len);
        }
        return false;
}

/* ---- building the list ---- */

static int
add_pattern(struct build_ignore *ig, const char *line, const char *source, size_t lineno, struct err **err)
{
        _cleanup_free_ char *cleaned = NULL;
        struct pattern p = { 0 };
        const char *s = line;
        size_t n;

        /* strings.TrimSpace, then "!" and TrimSpace again (ignorefile). */
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
                s++;
        n = strlen(s);
        while (n > 0 && strchr(" \t\r\v\f", s[n - 1]))
                n--;
        if (n == 0)
                return 0;
        if (s[0] == '!') {
                p.exception = true;
                s++;
                n--;
                while (n > 0 && strchr(" \t\r\v\f", *s)) {
                        s++;
                        n--;
                }
                if (n == 0)
                        return err_set(err, ERR_PARSE, "%s:%zu: illegal exclusion pattern: \"!\"", source, lineno);
        }
        if (n > LIMIT_PATH)
                return err_set(err, ERR_PARSE, "%s:%zu: pattern longer than %d bytes", source, lineno, LIMIT_PATH);
        {
                _cleanup_free_ char *raw = xstrndup(s, n);

                cleaned = build_path_clean(raw);
        }
        if (strlen(cleaned) > 1 && cleaned[0] == '/')
                memmove(cleaned, cleaned + 1, strlen(cleaned));
        p.text = steal_ptr(&cleaned);
        if (pattern_compile(&p) < 0) {
                int r = err_set(err, ERR_PARSE, "%s:%zu: syntax error in pattern \"%s%s\"", source, lineno,
                                p.exception ? "!" : "", p.text);

                pattern_clear(&p);
                return r;
        }
        if (ig->n == ig->cap) {
                ig->cap = ig->cap ? ig->cap * 2 : 8;
                ig->pats = xrealloc(ig->pats, ig->cap * sizeof(*ig->pats));
        }
        if (p.exception) {
                ig->exceptions = true;
                if (strpbrk(p.literal_dir, "*[]?^\\"))
                        ig->only_prefix_exceptions = false;
        }
        ig->pats[ig->n++] = p;
        return 0;
}

static struct build_ignore *
ignore_alloc(void)
{
        struct build_ignore *ig = xcalloc(1, sizeof(*ig));

        ig->only_prefix_exceptions = true;
        return ig;
}

void
build_ignore_free(struct build_ignore *ig)
{
        if (!ig)
                return;
        for (size_t i = 0; i < ig->n; i++)
                pattern_clear(&ig->pats[i]);
        free(ig->pats);
        for (size_t i = 0; i < ig->n_keep; i++)
                free(ig->keep[i]);
        free(ig->keep);
        free(ig);
}

int
build_ignore_parse(const char *text, size_t len, const char *source, struct build_ignore **ret_ignore,
                   struct err **err)
{
        struct build_ignore *ig = ignore_alloc();
        size_t pos = 0, lineno = 0;

        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                pos = 3;
        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t end = nl ? (size_t) (nl - text) : len;
                _cleanup_free_ char *line = xstrndup(text + pos, end - pos);

                lineno++;
                pos = end + 1;
                if (line[0] == '#')
                        continue;
                if (add_pattern(ig, line, source, lineno, err) < 0) {
                        build_ignore_free(ig);
                        return -ERR_PARSE;
                }
        }
        *ret_ignore = ig;
        return 0;
}

int
build_ignore_new(const char *const *patterns, size_t n, struct build_ignore **ret_ignore, struct err **err)
{
        struct build_ignore *ig = ignore_alloc();

        for (size_t i = 0; i < n; i++) {
                if (add_pattern(ig, patterns[i], "pattern", i + 1, err) < 0) {
                        build_ignore_free(ig);
                        return -ERR_PARSE;
                }
        }
        *ret_ignore = ig;
        return 0;
}

void
build_ignore_keep(struct build_ignore *ig, const char *path)
{
        char *c = build_path_clean(path);

        if (strcmp(c, ".") == 0 || strncmp(c, "../", 3) == 0 || strcmp(c, "..") == 0 || c[0] == '/') {
                free(c);
                return;
        }
        ig->keep = xrealloc(ig->keep, (ig->n_keep + 1) * sizeof(*ig->keep));
        ig->keep[ig->n_keep++] = c;
}

size_t
build_ignore_count(const struct build_ignore *ig)
{
        return ig ? ig->n : 0;
}

bool
build_ignore_has_exceptions(const struct build_ignore *ig)
{
        return ig && ig->exceptions;
}

static bool
is_kept(const struct build_ignore *ig, const char *path)
{
        for (size_t i = 0; i < ig->n_keep; i++)
                if (strcmp(ig->keep[i], path) == 0)
                        return true;
        return false;
}

/* Is PATH (a directory) a parent of a kept file? */
static bool
holds_kept(const struct build_ignore *ig, const char *path, size_t len)
{
        for (size_t i = 0; i < ig->n_keep; i++)
                if (strncmp(ig->keep[i], path, len) == 0 && ig->keep[i][len] == '/')
                        return true;
        return false;
}

/* MatchesUsingParentResults: PARENT holds the parent directory's per-pattern
 * results (NULL at the top: then parent directories are tried one by one, as
 * MatchesOrParentMatches does); INFO receives this path's results. */
static bool
matches(const struct build_ignore *ig, const char *path, const uint8_t *parent, uint8_t *info)
{
        size_t len = strlen(path);
        bool matched = false;

        for (size_t i = 0; i < ig->n; i++) {
                const struct pattern *p = &ig->pats[i];
                bool m = parent && parent[i];

                if (!m) {
                        if (p->exception != matched) {
                                if (info)
                                        info[i] = 0;
                                continue;
                        }
                        m = pattern_match(p, path, len);
                        if (!m && !parent) {
                                for (size_t k = 0; k < len && !m; k++)
                                        if (path[k] == '/')
                                                m = pattern_match(p, path, k);
                        }
                }
                if (info)
                        info[i] = m;
                if (m)
                        matched = !p->exception;
        }
        return matched;
}

bool
build_ignore_excludes(const struct build_ignore *ig, const char *path)
{
        _cleanup_free_ char *c = NULL;

        if (!ig)
                return false;
        c = build_path_clean(path);
        if (strcmp(c, ".") == 0 || is_kept(ig, c))
                return false;
        return matches(ig, c, NULL, NULL);
}

/* ---- finding and loading the file ---- */

int
build_ignore_find(const char *context, const char *dockerfile, char **ret_path, struct err **err)
{
        _cleanup_free_ char *beside = NULL, *dflt = NULL;

        if (dockerfile && strcmp(dockerfile, "-") != 0) {
                beside = xasprintf("%s.dockerignore", dockerfile);
                if (access(beside, F_OK) == 0) {
                        *ret_path = steal_ptr(&beside);
                        return 0;
                }
        } else if (!dockerfile) {
                beside = xasprintf("%s/Dockerfile.dockerignore", context);
                if (access(beside, F_OK) == 0) {
                        *ret_path = steal_ptr(&beside);
                        return 0;
                }
        }
        dflt = xasprintf("%s/.dockerignore", context);
        if (access(dflt, F_OK) == 0) {
                *ret_path = steal_ptr(&dflt);
                return 0;
        }
        *ret_path = NULL;
        return 0;
}

/* PATH relative to directory BASE when it lies inside it, else NULL. */
static char *
relative_to(const char *base, const char *path)
{
        _cleanup_free_ char *rb = realpath(base, NULL);
        _cleanup_free_ char *rp = NULL;
        size_t l;

        if (!rb)
                return NULL;
        rp = realpath(path, NULL);
        if (!rp)
                return NULL;
        l = strlen(rb);
        if (strcmp(rb, "/") == 0)
                return xstrdup(rp + 1);
        if (strncmp(rp, rb, l) != 0 || rp[l] != '/')
                return NULL;
        return xstrdup(rp + l + 1);
}

int
build_ignore_load(const char *context, const char *dockerfile, struct build_ignore **ret_ignore,
                  struct err **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *rel = NULL, *dflt_df = NULL;
        struct build_ignore *ig = NULL;
        size_t len = 0;
        int r;

        r = build_ignore_find(context, dockerfile, &path, err);
        if (r < 0)
                return r;
        if (path) {
                r = fs_read_file(path, BUILD_IGNORE_MAX_FILE, &text, &len, err);
                if (r < 0)
                        return err_prefix(err, "reading ignore file");
                r = build_ignore_parse(text, len, path, &ig, err);
                if (r < 0)
                        return r;
                rel = relative_to(context, path);
                if (rel)
                        build_ignore_keep(ig, rel);
                free(steal_ptr(&rel));
        } else {
                ig = ignore_alloc();
        }
        if (!dockerfile)
                dockerfile = dflt_df = xasprintf("%s/Dockerfile", context);
        if (strcmp(dockerfile, "-") != 0) {
                rel = relative_to(context, dockerfile);
                if (rel)
                        build_ignore_keep(ig, rel);
        }
        *ret_ignore = ig;
        return 0;
}

/* ---- the walk ---- */

struct pending {
        char *path;
        struct stat st;
        bool listed;
};

struct walker {
        const struct build_ignore *ig;
        struct build_context *ctx;
        size_t cap;
        struct pending *stack;
        size_t depth, stack_cap;
        char path[LIMIT_PATH + 1];
        struct err **err;
};

static void
append_entry(struct walker *w, const char *path, const struct stat *st)
{
        struct build_context *c = w->ctx;

        if (c->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 256;
                c->entries = xrealloc(c->entries, w->cap * sizeof(*c->entries));
        }
        c->entries[c->n].path = xstrdup(path);
        c->entries[c->n].st = *st;
        c->n++;
}

static void
emit(struct walker *w, const char *path, const struct stat *st)
{
        /* Directories that were only entered for an exception are listed
         * just before the first entry they hold, outermost first. */
        for (size_t i = 0; i < w->depth; i++) {
                if (w->stack[i].listed)
                        continue;
                w->stack[i].listed = true;
                append_entry(w, w->stack[i].path, &w->stack[i].st);
        }
        append_entry(w, path, st);
}

static int
cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Could an exception re-include something under directory PATH? */
static bool
must_descend(const struct build_ignore *ig, const char *path, size_t len)
{
        if (holds_kept(ig, path, len))
                return true;
        if (!ig->exceptions)
                return false;
        if (!ig->only_prefix_exceptions)
                return true;
        for (size_t i = 0; i < ig->n; i++) {
                const struct pattern *p = &ig->pats[i];
                size_t l = strlen(p->literal_dir);

                /* (pattern + "/") starts with (dir + "/") */
                if (!p->exception)
                        continue;
                if (l >= len && memcmp(p->literal_dir, path, len) == 0 && (l == len || p->literal_dir[len] == '/'))
                        return true;
        }
        return false;
}

static int walk_dir(struct walker *w, int dfd, size_t plen, const uint8_t *parent_info, bool excluded_dir);

static int
walk_entry(struct walker *w, int dfd, const char *name, size_t plen, const uint8_t *parent_info)
{
        const struct build_ignore *ig = w->ig;
        size_t nlen = strlen(name), len = plen ? plen + 1 + nlen : nlen;
        _cleanup_free_ uint8_t *info = NULL;
        struct stat st;
        bool excluded = false;
        int r;

        if (len > LIMIT_PATH)
                return err_set(w->err, ENAMETOOLONG, "context path %.*s/%s is too long", (int) plen, w->path, name);
        if (plen)
                w->path[plen] = '/';
        memcpy(w->path + (plen ? plen + 1 : 0), name, nlen + 1);
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0; /* removed while walking */
                return err_set(w->err, errno, "lstat %s", w->path);
        }
        if (ig && ig->n > 0) {
                info = xcalloc(ig->n, 1);
                excluded = matches(ig, w->path, parent_info, info) && !is_kept(ig, w->path);
        }
        if (!excluded) {
                emit(w, w->path, &st);
        } else if (!S_ISDIR(st.st_mode) || !must_descend(ig, w->path, len)) {
                w->path[plen] = '\0';
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                if (fd < 0) {
                        if (excluded && (errno == EACCES || errno == EPERM)) {
                                w->path[plen] = '\0';
                                return 0;
                        }
                        return err_set(w->err, errno, "open %s", w->path);
                }
                if (w->depth == w->stack_cap) {
                        w->stack_cap = w->stack_cap ? w->stack_cap * 2 : 16;
                        w->stack = xrealloc(w->stack, w->stack_cap * sizeof(*w->stack));
                }
                w->stack[w->depth++] = (struct pending){ .path = xstrdup(w->path), .st = st, .listed = !excluded };
                r = walk_dir(w, steal_fd(&fd), len, info, excluded);
                free(w->stack[--w->depth].path);
                if (r < 0)
                        return r;
        }
        w->path[plen] = '\0';
        return 0;
}

/* Walk the open directory DFD (consumed) whose path is w->path[0..plen). */
static int
walk_dir(struct walker *w, int dfd, size_t plen, const uint8_t *parent_info, bool excluded_dir)
{
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = err_set(w->err, errno, "opendir %s", plen ? w->path : ".");
                close(dfd);
                return r;
        }
        w->ctx->n_dirs_read++;
        errno = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        names = xrealloc(names, cap * sizeof(*names));
                }
                names[n++] = xstrdup(de->d_name);
        }
        if (errno != 0 && !excluded_dir)
                r = err_set(w->err, errno, "readdir %s", plen ? w->path : ".");
        if (r == 0) {
                if (n > 1)
                        sort_array(names, n, sizeof(*names), cmp_names);
                for (size_t i = 0; i < n && r == 0; i++) {
                        w->path[plen] = '\0';
                        r = walk_entry(w, dirfd(d), names[i], plen, parent_info);
                }
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

int
build_context_walk(const char *context, const struct build_ignore *ig, struct build_context **ret_ctx,
                   struct err **err)
{
        struct build_context *ctx = xcalloc(1, sizeof(*ctx));
        struct walker w = { .ig = ig, .ctx = ctx, .err = err };
        int fd, r;

        fd = open(context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                build_context_free(ctx);
                return err_set(err, errno, "open build context %s", context);
        }
        w.path[0] = '\0';
        r = walk_dir(&w, fd, 0, NULL, false);
        free(w.stack);
        if (r < 0) {
                build_context_free(ctx);
                return err_prefix(err, "walking build context %s", context);
        }
        *ret_ctx = ctx;
        return 0;
}

void
build_context_free(struct build_context *ctx)
{
        if (!ctx)
                return;
        for (size_t i = 0; i < ctx->n; i++)
                free(ctx->entries[i].path);
        free(ctx->entries);
        free(ctx);
}
