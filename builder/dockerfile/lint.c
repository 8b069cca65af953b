/* Dockerfile lint checks.  Each check reads the parser's tree only; nothing
 * is pulled or built, so checks that would need the base image's config
 * (its ENV, its USER) assume the worst only where it is safe: see
 * UndefinedVar's list of variables a base image commonly defines. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"
#include "common/sort.h"

enum rule_id {
        R_UNPINNED,
        R_ROOT,
        R_ADD,
        R_SECRETS,
        R_APT_RECOMMENDS,
        R_APT_LISTS,
        R_MAINTAINER,
        R_JSONARGS,
        R_DUPSTAGE,
        R_UNDEFVAR,
        R_PORT,
        R_EMPTYCONT,
        R_BADJSON,
        R_COUNT
};

static const struct build_df_lint_rule rules[R_COUNT] = {
    [R_UNPINNED] = {"UnpinnedBaseImage", "FROM an image without a tag, or with \"latest\", and no digest"},
    [R_ROOT] = {"RunAsRoot", "the final stage sets no USER, or USER root/0: the container runs as root"},
    [R_ADD] = {"AddInsteadOfCopy", "ADD of local files or directories, where COPY would do"},
    [R_SECRETS] = {"SecretsUsedInArgOrEnv",
                   "ARG/ENV with a secret-looking name: the value stays in the image config and history"},
    [R_APT_RECOMMENDS] = {"AptGetNoInstallRecommends", "apt-get install without --no-install-recommends"},
    [R_APT_LISTS] = {"AptGetListsNotCleaned", "apt-get install without rm -rf /var/lib/apt/lists in the same RUN"},
    [R_MAINTAINER] = {"MaintainerDeprecated", "MAINTAINER is deprecated: use LABEL maintainer=..."},
    [R_JSONARGS] = {"JSONArgsRecommended",
                    "CMD/ENTRYPOINT in shell form: signals do not reach the program; use JSON form"},
    [R_DUPSTAGE] = {"DuplicateStageName", "two stages with the same name"},
    [R_UNDEFVAR] = {"UndefinedVar", "a variable used where it is expanded but no ARG/ENV in scope defines it"},
    [R_PORT] = {"ExposePrivilegedPort", "EXPOSE of a port below 1024"},
    [R_BADJSON] = {"JSONArgsInvalid",
                   "arguments that look like a JSON array but are not valid JSON: Docker runs them as shell form"},
    [R_EMPTYCONT] = {"NoEmptyContinuation", "an empty line inside a line continuation (BuildKit will reject it)"},
};

const struct build_df_lint_rule *
build_df_lint_rules(size_t *ret_n)
{
        *ret_n = R_COUNT;
        return rules;
}

void
build_df_lint_free(struct build_df_lint *l)
{
        size_t i;

        if (l == NULL)
                return;
        for (i = 0; i < l->n_findings; i++)
                free(l->findings[i].message);
        free(l->findings);
        free(l);
}

DEFINE_FREEP(struct build_df_lint, build_df_lint_free)

/* ---- string sets ------------------------------------------------------ */

/* Names in insertion order (for suggestions) plus an open-addressing table
 * of their indexes, so a Dockerfile with many ARG/ENV names or stages is
 * linted in linear time, not quadratic. */
struct strset {
        char **v;
        size_t n, alloc;
        size_t *slots; /* index + 1, 0 = empty; a power of two, at most half full */
        size_t n_slots;
};

static size_t
name_hash(const char *name, size_t len, bool fold)
{
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) name[i];
                h ^= fold ? (unsigned char) tolower(c) : c;
                h *= 1099511628211ULL;
        }
        return (size_t) (h ^ (h >> 32));
}

/* The slot holding NAME, or the empty slot where it would go. */
static size_t *
set_slot(const struct strset *s, const char *name, size_t len)
{
        size_t mask = s->n_slots - 1, i = name_hash(name, len, false) & mask;

        for (;; i = (i + 1) & mask) {
                const char *v;

                if (s->slots[i] == 0)
                        return &s->slots[i];
                v = s->v[s->slots[i] - 1];
                if (strncmp(v, name, len) == 0 && v[len] == '\0')
                        return &s->slots[i];
        }
}

static bool
set_has(const struct strset *s, const char *name, size_t len)
{
        return s->n_slots && *set_slot(s, name, len) != 0;
}

static void
set_add(struct strset *s, const char *name, size_t len)
{
        size_t *slot;

        if (set_has(s, name, len))
                return;
        if (2 * (s->n + 1) > s->n_slots) {
                size_t n_slots = s->n_slots ? s->n_slots * 2 : 16;

                free(s->slots);
                s->slots = xcalloc(n_slots, sizeof(*s->slots));
                s->n_slots = n_slots;
                for (size_t i = 0; i < s->n; i++)
                        *set_slot(s, s->v[i], strlen(s->v[i])) = i + 1;
        }
        if (s->n == s->alloc) {
                s->alloc = s->alloc ? s->alloc * 2 : 8;
                s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
        }
        s->v[s->n++] = xstrndup(name, len);
        slot = set_slot(s, name, len);
        *slot = s->n;
}

static void
set_copy(struct strset *dst, const struct strset *src)
{
        size_t i;
        for (i = 0; i < src->n; i++)
                set_add(dst, src->v[i], strlen(src->v[i]));
}

static void
set_free(struct strset *s)
{
        size_t i;
        for (i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        free(s->slots);
        memset(s, 0, sizeof(*s));
}

/* The most ENV names copied from parent stages into child stages. */
#define LINT_COPY_BUDGET (1u << 20)

/* ---- state ------------------------------------------------------------ */

struct stage {
        char *name; /* lower case, NULL when unnamed */
        const struct build_df_instr *from;
        int parent;                        /* index of the stage it builds on, -1 for an image */
        struct strset env;                 /* ENV names (inherited by child stages) */
        const struct build_df_instr *user; /* last USER */
        bool untracked;                    /* env incomplete (LINT_COPY_BUDGET) */
};

struct lint {
        const struct build_df_file *f;
        bool skip[R_COUNT];
        struct build_df_lint *out;
        size_t alloc;
        struct stage *stages;
        size_t n_stages, a_stages;
        size_t *stage_slots; /* stage index + 1 by name hash, 0 = empty */
        size_t n_stage_slots;
        struct strset meta;  /* ARGs before the first FROM */
        struct strset scope; /* ARGs and ENVs of the current stage */
        size_t copied;       /* names copied into stages so far */
        bool untracked;      /* the current stage's scope is incomplete */
};

static void report(struct lint *l, enum rule_id r, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct lint *l, enum rule_id r, int line, const char *fmt, ...)
{
        struct build_df_finding *fd;
        va_list ap;
        char *msg;

        if (l->skip[r])
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (l->out->n_findings == l->alloc) {
                l->alloc = l->alloc ? l->alloc * 2 : 16;
                l->out->findings = xrealloc(l->out->findings, l->alloc * sizeof(*l->out->findings));
        }
        fd = &l->out->findings[l->out->n_findings++];
        fd->rule = rules[r].name;
        fd->line = line;
        fd->message = msg;
}

/* The slot for stage NAME (case-insensitive), or the empty slot where it
 * would go. */
static size_t *
stage_slot(const struct lint *l, const char *name)
{
        size_t mask = l->n_stage_slots - 1, i = name_hash(name, strlen(name), true) & mask;

        for (;; i = (i + 1) & mask) {
                if (l->stage_slots[i] == 0 || strcasecmp(l->stages[l->stage_slots[i] - 1].name, name) == 0)
                        return &l->stage_slots[i];
        }
}

static int
stage_by_name(const struct lint *l, const char *name)
{
        size_t *slot;

        if (l->n_stage_slots == 0)
                return -1;
        slot = stage_slot(l, name);
        return *slot ? (int) (*slot - 1) : -1;
}

/* Index stage I by its name; the first stage of a name keeps it. */
static void
stage_index(struct lint *l, size_t i)
{
        size_t *slot;

        if (2 * (l->n_stages + 1) > l->n_stage_slots) {
                size_t n_slots = l->n_stage_slots ? l->n_stage_slots * 2 : 16;

                free(l->stage_slots);
                l->stage_slots = xcalloc(n_slots, sizeof(*l->stage_slots));
                l->n_stage_slots = n_slots;
                for (size_t k = 0; k < i; k++)
                        if (l->stages[k].name && *(slot = stage_slot(l, l->stages[k].name)) == 0)
                                *slot = k + 1;
        }
        if (l->stages[i].name && *(slot = stage_slot(l, l->stages[i].name)) == 0)
                *slot = i + 1;
}

/* ---- variables -------------------------------------------------------- */

/* Variables a base image usually defines, or the runtime does: without the
 * base image's config we cannot tell, so these are never "undefined". */
static const char *const ambient_vars[] = {"PATH", "HOME", "HOSTNAME", "PWD", "TERM", "SHELL", "USER", "LANG", NULL};
/* BuildKit's predefined ARGs (usable without declaring them) and the
 * automatic platform ARGs (in FROM lines and once declared in a stage). */
static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                         "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                         "ALL_PROXY",  "all_proxy",  NULL};
static const char *const platform_args[] = {"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                                            "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
                                            "TARGETSTAGE",    NULL};

static bool
in_list(const char *const *list, const char *name, size_t len)
{
        for (; *list; list++)
                if (strlen(*list) == len && memcmp(*list, name, len) == 0)
                        return true;
        return false;
}

static bool
is_name_start(char c)
{
        return isalpha((unsigned char) c) || c == '_';
}

static bool
is_name_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

#define SUGGEST_MAX_NAMES 256

static void
suggest(const struct strset *s, const char *name, size_t len, char *out, size_t size)
{
        _cleanup_free_ char *n = xstrndup(name, len);
        size_t i, best = (size_t) -1;
        const char *b = NULL;

        out[0] = '\0';
        /* Suggestions are a courtesy: look at the first names only, so a
         * file with thousands of names and undefined uses stays linear. */
        for (i = 0; i < s->n && i < SUGGEST_MAX_NAMES; i++) {
                size_t vl = strlen(s->v[i]), d;

                /* The distance is at least the difference in length. */
                if (vl > len + 2 || len > vl + 2)
                        continue;
                d = df_levenshtein(n, s->v[i]);
                if (d < best) {
                        best = d;
                        b = s->v[i];
                }
        }
        if (b && best <= 2 && best < len)
                snprintf(out, size, " (did you mean $%s?)", b);
}

/* Report every `$NAME` / `${NAME...}` in S that SCOPE does not define.
 * Escaped `$` and single-quoted text are not expanded; `${V:-x}`,
 * `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?x}` and `${V?x}` handle an unset
 * variable on purpose. */
static void
check_vars(struct lint *l, const struct strset *scope, bool is_from, const char *s, int line)
{
        bool dq = false;
        size_t i = 0, n = strlen(s);
        char esc = l->f->escape;

        /* Scopes no longer tracked would only give false reports. */
        if (l->untracked && !is_from)
                return;

        while (i < n) {
                size_t ns, ne;
                bool defaulted = false;

                if (s[i] == esc && i + 1 < n) {
                        i += 2;
                        continue;
                }
                if (s[i] == '\'' && !dq) {
                        const char *q = memchr(s + i + 1, '\'', n - i - 1);
                        i = q ? (size_t) (q - s) + 1 : n;
                        continue;
                }
                if (s[i] == '"') {
                        dq = !dq;
                        i++;
                        continue;
                }
                if (s[i] != '$' || i + 1 >= n) {
                        i++;
                        continue;
                }
                if (s[i + 1] == '{') {
                        int depth = 1;
                        ns = i + 2;
                        ne = ns;
                        while (ne < n && is_name_char(s[ne]))
                                ne++;
                        if (ne < n && (s[ne] == '-' || s[ne] == '+' || s[ne] == '?' ||
                                       (s[ne] == ':' && ne + 1 < n &&
                                        (s[ne + 1] == '-' || s[ne + 1] == '+' || s[ne + 1] == '?'))))
                                defaulted = true;
                        i = ne;
                        while (i < n && depth > 0) {
                                if (s[i] == '{')
                                        depth++;
                                else if (s[i] == '}')
                                        depth--;
                                i++;
                        }
                } else if (is_name_start(s[i + 1])) {
                        ns = i + 1;
                        ne = ns;
                        while (ne < n && is_name_char(s[ne]))
                                ne++;
                        i = ne;
                } else {
                        i++;
                        continue;
                }
                if (ne == ns || !is_name_start(s[ns]) || defaulted)
                        continue;
                if (set_has(scope, s + ns, ne - ns) || in_list(ambient_vars, s + ns, ne - ns) ||
                    in_list(proxy_args, s + ns, ne - ns) || (is_from && in_list(platform_args, s + ns, ne - ns)))
                        continue;
                {
                        char sugg[96];
                        suggest(scope, s + ns, ne - ns, sugg, sizeof(sugg));
                        report(l, R_UNDEFVAR, line, "usage of undefined variable '$%.*s'%s", (int) (ne - ns), s + ns,
                               sugg);
                }
        }
}

static void
check_flags_vars(struct lint *l, const struct build_df_instr *in, const struct strset *scope, bool is_from)
{
        size_t i;
        for (i = 0; i < in->n_flags; i++)
                if (in->flags[i].value)
                        check_vars(l, scope, is_from, in->flags[i].value, in->start_line);
}

/* ---- individual checks ------------------------------------------------ */

/* Expand $NAME / ${NAME} from the meta ARG defaults (only those given a
 * default); NULL when something cannot be resolved. */
static char *
resolve_meta(const struct build_df_file *f, const char *s)
{
        struct df_buf b = {0};
        size_t i = 0, n = strlen(s);

        while (i < n) {
                size_t ns, ne, k;
                const char *val = NULL;

                if (s[i] != '$') {
                        df_buf_addc(&b, s[i++]);
                        continue;
                }
                if (i + 1 < n && s[i + 1] == '{') {
                        ns = i + 2;
                        ne = ns;
                        while (ne < n && is_name_char(s[ne]))
                                ne++;
                        if (ne >= n || s[ne] != '}')
                                goto fail;
                        i = ne + 1;
                } else {
                        ns = i + 1;
                        ne = ns;
                        while (ne < n && is_name_char(s[ne]))
                                ne++;
                        i = ne;
                }
                if (ne == ns)
                        goto fail;
                /* The last meta ARG declaring it with a value wins. */
                for (k = 0; k < f->n_instrs && f->instrs[k].kind != BUILD_DF_FROM; k++) {
                        const struct build_df_instr *a = &f->instrs[k];
                        size_t w;
                        if (a->kind != BUILD_DF_ARG)
                                continue;
                        for (w = 0; w < a->n_args; w++)
                                if (strncmp(a->args[w], s + ns, ne - ns) == 0 && a->args[w][ne - ns] == '=')
                                        val = a->args[w] + (ne - ns) + 1;
                }
                if (val == NULL || strpbrk(val, "$\"'\\"))
                        goto fail;
                df_buf_adds(&b, val);
        }
        return df_buf_steal(&b);
fail:
        df_buf_free(&b);
        return NULL;
}

static void
check_unpinned(struct lint *l, const struct build_df_instr *in)
{
        _cleanup_free_ char *img = NULL;
        const char *slash, *colon;

        if (in->n_args < 1)
                return;
        if (strcasecmp(in->args[0], "scratch") == 0 || stage_by_name(l, in->args[0]) >= 0)
                return;
        img = resolve_meta(l->f, in->args[0]);
        if (img == NULL || strcasecmp(img, "scratch") == 0 || stage_by_name(l, img) >= 0)
                return;
        if (strchr(img, '@'))
                return; /* pinned by digest */
        slash = strrchr(img, '/');
        colon = strrchr(slash ? slash : img, ':');
        if (colon == NULL)
                report(l, R_UNPINNED, in->start_line,
                       "base image %s has no tag: pin a version (%s:1.2.3) or a digest (%s@sha256:...)", img, img, img);
        else if (strcmp(colon + 1, "latest") == 0)
                report(l, R_UNPINNED, in->start_line,
                       "base image %s uses \"latest\": pin a version or a digest (%.*s@sha256:...)", img,
                       (int) (colon - img), img);
}

static bool
is_remote_or_archive(const char *src)
{
        static const char *const exts[] = {".tar",    ".tar.gz", ".tgz",     ".tar.bz2", ".tbz2",   ".tbz",
                                           ".tar.xz", ".txz",    ".tar.zst", ".tzst",    ".tar.lz", ".gz",
                                           ".bz2",    ".xz",     ".zst",     NULL};
        size_t n = strlen(src), i;

        if (strstr(src, "://") || strncmp(src, "git@", 4) == 0)
                return true;
        for (i = 0; exts[i]; i++) {
                size_t e = strlen(exts[i]);
                if (n > e && strcasecmp(src + n - e, exts[i]) == 0)
                        return true;
        }
        /* A variable could name either; do not guess. */
        return strchr(src, '$') != NULL;
}

static void
check_add(struct lint *l, const struct build_df_instr *in)
{
        size_t i;

        if (in->n_args < 2 || build_df_flag(in, "checksum") || build_df_flag(in, "keep-git-dir"))
                return;
        for (i = 0; i + 1 < in->n_args; i++)
                if (is_remote_or_archive(in->args[i]))
                        return;
        report(l, R_ADD, in->start_line, "ADD %s copies local files: use COPY (ADD is for URLs and tar archives)",
               in->args[0]);
}

static bool
secret_name(const char *name, size_t len)
{
        static const char *const words[] = {"PASSWORD", "PASSWD",      "TOKEN",      "SECRET",     "APIKEY",
                                            "API_KEY",  "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL", NULL};
        _cleanup_free_ char *up = xstrndup(name, len);
        size_t i;

        for (i = 0; up[i]; i++)
                up[i] = (char) toupper((unsigned char) up[i]);
        if (strstr(up, "PUBLIC"))
                return false;
        for (i = 0; words[i]; i++)
                if (strstr(up, words[i]))
                        return true;
        return len > 4 && strcmp(up + len - 4, "_KEY") == 0;
}

/* apt-get checks over one RUN's command text. */
static void
check_apt(struct lint *l, const struct build_df_instr *in, const char *cmd)
{
        _cleanup_free_ char *s = xstrdup(cmd);
        bool install = false, recommends_ok = true, cleaned = false;
        char *seg, *save = NULL, *p;

        /* Split into simple commands at ; & | and newlines, then into words. */
        for (p = s; *p; p++)
                if (*p == ';' || *p == '&' || *p == '|' || *p == '\n')
                        *p = '\x01';
        for (seg = strtok_r(s, "\x01", &save); seg; seg = strtok_r(NULL, "\x01", &save)) {
                char *w, *save2 = NULL, *first = NULL;
                bool apt = false, inst = false, norec = false, rm = false, lists = false;

                for (w = strtok_r(seg, " \t\r\v\f\\", &save2); w; w = strtok_r(NULL, " \t\r\v\f\\", &save2)) {
                        const char *base = strrchr(w, '/');
                        base = base ? base + 1 : w;
                        if (first == NULL)
                                first = w;
                        if (strcmp(base, "apt-get") == 0 || strcmp(w, "apt") == 0)
                                apt = true;
                        else if (apt && strcmp(w, "install") == 0)
                                inst = true;
                        if (strncmp(w, "--no-install-recommends", 23) == 0 ||
                            strstr(w, "APT::Install-Recommends=false") || strstr(w, "APT::Install-Recommends=0") ||
                            strstr(w, "APT::Install-Recommends=\"false\""))
                                norec = true;
                        if (strncmp(w, "/var/lib/apt/lists", 18) == 0)
                                lists = true;
                }
                if (first && strcmp(first, "rm") == 0)
                        rm = true;
                if (rm && lists)
                        cleaned = true;
                if (apt && inst) {
                        install = true;
                        if (!norec)
                                recommends_ok = false;
                }
        }
        if (!install)
                return;
        if (!recommends_ok)
                report(l, R_APT_RECOMMENDS, in->start_line,
                       "apt-get install without --no-install-recommends pulls in packages the image does not need");
        if (!cleaned)
                report(l, R_APT_LISTS, in->start_line,
                       "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN keeps the package lists in "
                       "the layer");
}

static void
check_run(struct lint *l, const struct build_df_instr *in)
{
        struct df_buf b = {0};
        size_t i;

        for (i = 0; i < in->n_args; i++) {
                if (i)
                        df_buf_addc(&b, ' ');
                df_buf_adds(&b, in->args[i]);
        }
        for (i = 0; i < in->n_heredocs; i++) {
                df_buf_addc(&b, '\n');
                df_buf_adds(&b, in->heredocs[i].content);
        }
        if (b.s)
                check_apt(l, in, b.s);
        df_buf_free(&b);
}

static void
check_expose(struct lint *l, const struct build_df_instr *in)
{
        size_t i;

        for (i = 0; i < in->n_args; i++) {
                const char *a = in->args[i];
                char *end;
                long port;

                if (strchr(a, '$'))
                        continue;
                port = strtol(a, &end, 10);
                if (end == a || (*end && *end != '/' && *end != '-'))
                        continue;
                if (port >= 0 && port < 1024)
                        report(
                            l, R_PORT, in->start_line,
                            "EXPOSE %s: ports below 1024 need privileges to bind; listen on a port >= 1024 and map it",
                            a);
        }
}

static bool
is_root_user(const char *u)
{
        size_t n = strcspn(u, ":");
        return (n == 4 && strncmp(u, "root", 4) == 0) || (n == 1 && u[0] == '0');
}

static void
check_final_user(struct lint *l)
{
        int s = (int) l->n_stages - 1;

        if (s < 0)
                return;
        /* Follow FROM <stage> chains: a base stage's USER carries over. */
        while (s >= 0 && l->stages[s].user == NULL)
                s = l->stages[s].parent;
        if (s < 0) {
                const struct stage *last = &l->stages[l->n_stages - 1];
                report(l, R_ROOT, last->from->start_line,
                       "the final stage sets no USER: the container runs as root (add USER with a non-root user)");
        } else if (l->stages[s].user->n_args > 0 && is_root_user(l->stages[s].user->args[0])) {
                report(l, R_ROOT, l->stages[s].user->start_line,
                       "the final stage runs as %s: switch to a non-root USER", l->stages[s].user->args[0]);
        }
}

/* Shell-form arguments starting with `[` and a quote were meant as JSON
 * (`CMD ['a', 'b']`, a missing bracket): Docker silently runs them through
 * the shell.  `RUN [ -f x ]` (the test command) is not flagged. */
static bool
check_bad_json(struct lint *l, const struct build_df_instr *in)
{
        const char *s;

        switch (in->kind) {
        case BUILD_DF_RUN:
        case BUILD_DF_CMD:
        case BUILD_DF_ENTRYPOINT:
        case BUILD_DF_SHELL:
        case BUILD_DF_COPY:
        case BUILD_DF_ADD:
        case BUILD_DF_VOLUME:
        case BUILD_DF_HEALTHCHECK:
                break;
        default:
                return false;
        }
        if (in->json || in->n_args == 0)
                return false;
        s = in->args[in->kind == BUILD_DF_HEALTHCHECK && in->n_args > 1 ? 1 : 0];
        if (s[0] != '[')
                return false;
        s++;
        while (*s == ' ' || *s == '\t')
                s++;
        /* COPY/ADD/VOLUME split words: "[" alone, then the first element. */
        if (*s == '\0' && in->n_args > 1 && in->kind != BUILD_DF_HEALTHCHECK)
                s = in->args[1];
        if (*s != '"' && *s != '\'')
                return false;
        report(l, R_BADJSON, in->start_line,
               "%s arguments look like a JSON array but are not valid JSON (use double quotes, close the bracket): "
               "they run as a shell command",
               build_df_kind_name(in->kind));
        return true;
}

/* ---- the walk --------------------------------------------------------- */

static void
declare_arg(struct lint *l, const struct build_df_instr *in, struct strset *scope, bool check)
{
        size_t i;

        for (i = 0; i < in->n_args; i++) {
                const char *a = in->args[i], *eq = strchr(a, '=');
                size_t len = eq ? (size_t) (eq - a) : strlen(a);

                if (eq && check)
                        check_vars(l, scope, false, eq + 1, in->start_line);
                if (secret_name(a, len))
                        report(l, R_SECRETS, in->start_line,
                               "ARG %.*s looks like a secret: build args stay in the image history; use RUN "
                               "--mount=type=secret",
                               (int) len, a);
                set_add(scope, a, len);
                /* Re-declaring a meta ARG inherits its default. */
        }
}

static void
walk(struct lint *l)
{
        const struct build_df_file *f = l->f;
        struct stage *cur = NULL;
        size_t i, j;

        for (i = 0; i < f->n_instrs; i++) {
                const struct build_df_instr *in = &f->instrs[i];

                if (in->kind == BUILD_DF_FROM) {
                        struct stage *st;
                        const char *name = in->n_args == 3 && strcasecmp(in->args[1], "as") == 0 ? in->args[2] : NULL;

                        check_vars(l, &l->meta, true, in->n_args ? in->args[0] : "", in->start_line);
                        check_flags_vars(l, in, &l->meta, true);
                        check_unpinned(l, in);
                        if (name && stage_by_name(l, name) >= 0)
                                report(l, R_DUPSTAGE, in->start_line,
                                       "duplicate stage name %s: stage names must be unique", name);
                        if (l->n_stages == l->a_stages) {
                                l->a_stages = l->a_stages ? l->a_stages * 2 : 8;
                                l->stages = xrealloc(l->stages, l->a_stages * sizeof(*l->stages));
                        }
                        st = &l->stages[l->n_stages];
                        memset(st, 0, sizeof(*st));
                        st->from = in;
                        st->parent = in->n_args ? stage_by_name(l, in->args[0]) : -1;
                        if (st->parent < 0 && in->n_args && strspn(in->args[0], "0123456789") == strlen(in->args[0]) &&
                            (size_t) atoi(in->args[0]) < l->n_stages)
                                st->parent = atoi(in->args[0]);
                        if (name) {
                                st->name = xstrdup(name);
                                for (j = 0; st->name[j]; j++)
                                        st->name[j] = (char) tolower((unsigned char) st->name[j]);
                        }
                        stage_index(l, l->n_stages);
                        l->n_stages++;
                        cur = st;
                        set_free(&l->scope);
                        /* Each stage starts from a copy of its parent's ENV
                         * names: a long chain of stages under many names
                         * would copy quadratically, so past a budget such
                         * stages' variables are no longer tracked
                         * (UndefinedVar stays quiet there) instead. */
                        l->untracked = false;
                        if (cur->parent >= 0) {
                                size_t n = l->stages[cur->parent].env.n;

                                if (l->stages[cur->parent].untracked || l->copied + 2 * n > LINT_COPY_BUDGET) {
                                        cur->untracked = l->untracked = true;
                                } else {
                                        set_copy(&l->scope, &l->stages[cur->parent].env);
                                        set_copy(&cur->env, &l->scope);
                                        l->copied += 2 * n;
                                }
                        }
                        continue;
                }
                if (cur == NULL) {
                        if (in->kind == BUILD_DF_ARG)
                                declare_arg(l, in, &l->meta, true);
                        continue;
                }
                if (build_df_kind_expands(in->kind) && in->kind != BUILD_DF_ONBUILD && in->kind != BUILD_DF_ARG &&
                    in->kind != BUILD_DF_ENV && in->kind != BUILD_DF_LABEL) {
                        for (j = 0; j < in->n_args; j++)
                                check_vars(l, &l->scope, false, in->args[j], in->start_line);
                        check_flags_vars(l, in, &l->scope, false);
                }
                if (check_bad_json(l, in))
                        continue;
                switch (in->kind) {
                case BUILD_DF_ARG:
                        declare_arg(l, in, &l->scope, true);
                        break;
                case BUILD_DF_ENV:
                case BUILD_DF_LABEL:
                        /* Every value is expanded with the environment from before the
                         * instruction, then the keys are defined. */
                        for (j = 0; j + 2 < in->n_args; j += 3)
                                check_vars(l, &l->scope, false, in->args[j + 1], in->start_line);
                        if (in->kind == BUILD_DF_ENV) {
                                for (j = 0; j + 2 < in->n_args; j += 3) {
                                        if (secret_name(in->args[j], strlen(in->args[j])))
                                                report(l, R_SECRETS, in->start_line,
                                                       "ENV %s looks like a secret: it stays in the image config; use "
                                                       "RUN --mount=type=secret",
                                                       in->args[j]);
                                        set_add(&l->scope, in->args[j], strlen(in->args[j]));
                                        set_add(&cur->env, in->args[j], strlen(in->args[j]));
                                }
                        }
                        break;
                case BUILD_DF_ADD:
                        check_add(l, in);
                        break;
                case BUILD_DF_RUN:
                        check_run(l, in);
                        break;
                case BUILD_DF_MAINTAINER:
                        report(l, R_MAINTAINER, in->start_line,
                               "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=\"...\"");
                        break;
                case BUILD_DF_CMD:
                case BUILD_DF_ENTRYPOINT:
                        if (!in->json && in->n_args > 0)
                                report(l, R_JSONARGS, in->start_line,
                                       "%s in shell form runs under /bin/sh -c and does not receive signals: use %s "
                                       "[\"prog\", \"arg\"]",
                                       build_df_kind_name(in->kind), build_df_kind_name(in->kind));
                        break;
                case BUILD_DF_EXPOSE:
                        check_expose(l, in);
                        break;
                case BUILD_DF_USER:
                        cur->user = in;
                        break;
                default:
                        break;
                }
        }
        for (i = 0; i < f->n_warnings; i++)
                report(l, R_EMPTYCONT, f->warning_lines[i],
                       "empty continuation line: remove it, or end it with the escape character too");
        if (l->n_stages == 0 && f->n_instrs > 0)
                return;
        check_final_user(l);
}

/* `# check=skip=A,B;error=true` */
static void
apply_directive(struct lint *l, const char *d)
{
        _cleanup_free_ char *s = xstrdup(d);
        char *part, *save = NULL;

        for (part = strtok_r(s, ";", &save); part; part = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(part, '='), *key = part, *val;
                while (isspace((unsigned char) *key))
                        key++;
                if (eq == NULL)
                        continue;
                *eq = '\0';
                val = eq + 1;
                while (isspace((unsigned char) *val))
                        val++;
                if (strcasecmp(key, "skip") == 0) {
                        char *name, *save2 = NULL;
                        for (name = strtok_r(val, ",", &save2); name; name = strtok_r(NULL, ",", &save2)) {
                                size_t r, e = strlen(name);
                                while (*name == ' ')
                                        name++;
                                while (e > 0 && name[e - 1] == ' ')
                                        name[--e] = '\0';
                                for (r = 0; r < R_COUNT; r++)
                                        if (strcasecmp(name, "all") == 0 || strcasecmp(name, rules[r].name) == 0)
                                                l->skip[r] = true;
                        }
                } else if (strcasecmp(key, "error") == 0) {
                        if (strncasecmp(val, "true", 4) == 0)
                                l->out->error = true;
                }
        }
}

static int
cmp_finding(const void *a, const void *b)
{
        const struct build_df_finding *x = a, *y = b;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        if (strcmp(x->rule, y->rule) != 0)
                return strcmp(x->rule, y->rule);
        return strcmp(x->message, y->message);
}

int
build_df_lint_run(const struct build_df_file *f, const struct build_df_lint_opts *opts, struct build_df_lint **ret_lint,
                  struct err **err)
{
        _cleanup_(build_df_lint_freep) struct build_df_lint *out = xcalloc(1, sizeof(*out));
        struct lint l = {.f = f, .out = out};
        size_t i, r;

        if (opts) {
                out->error = opts->error;
                for (i = 0; i < opts->n_skip; i++) {
                        bool known = strcasecmp(opts->skip[i], "all") == 0;
                        for (r = 0; r < R_COUNT; r++) {
                                if (known || strcasecmp(opts->skip[i], rules[r].name) == 0) {
                                        l.skip[r] = true;
                                        if (!known)
                                                break;
                                }
                        }
                        if (!known && r == R_COUNT)
                                return err_set(err, EINVAL, "unknown check %s (ibuild --check --help lists them)",
                                               opts->skip[i]);
                }
        }
        if (f->check)
                apply_directive(&l, f->check);
        walk(&l);
        for (i = 0; i < l.n_stages; i++) {
                free(l.stages[i].name);
                set_free(&l.stages[i].env);
        }
        free(l.stages);
        free(l.stage_slots);
        set_free(&l.meta);
        set_free(&l.scope);
        if (out->n_findings > 1)
                sort_array(out->findings, out->n_findings, sizeof(*out->findings), cmp_finding);
        *ret_lint = steal_ptr(&out);
        return 0;
}
