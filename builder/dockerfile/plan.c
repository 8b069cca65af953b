/* Build plan: stages, dependencies, pruning, ARG/ENV scoping and expansion
 * (BuildKit's dockerfile2llb rules, see plan.h). */
#include "builder/dockerfile/plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include "builder/dockerfile/shell.h"
#include "common/cleanup.h"
#include "common/sort.h"
#include "common/strv.h"

/* ---- small containers ---- */


/* An ordered map of variables; a value may be NULL (declared, no value).
 * A small open-addressing index keeps lookups O(1) for Dockerfiles with
 * thousands of ENV keys. */
struct vars {
        char **k, **v;
        size_t n, cap;
        size_t *slots; /* index + 1, 0 = empty; nslots a power of two */
        size_t nslots;
};

static size_t
hash_str(const char *s)
{
        size_t h = 1469598103934665603ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static void
vars_reindex(struct vars *m)
{
        free(m->slots);
        m->nslots = 16;
        while (m->nslots < m->cap * 2)
                m->nslots *= 2;
        m->slots = xcalloc(m->nslots, sizeof(*m->slots));
        for (size_t i = 0; i < m->n; i++) {
                size_t h = hash_str(m->k[i]) & (m->nslots - 1);

                while (m->slots[h])
                        h = (h + 1) & (m->nslots - 1);
                m->slots[h] = i + 1;
        }
}

static ssize_t
vars_index(const struct vars *m, const char *key)
{
        size_t h;

        if (!m->slots)
                return -1;
        h = hash_str(key) & (m->nslots - 1);
        while (m->slots[h]) {
                size_t i = m->slots[h] - 1;

                if (strcmp(m->k[i], key) == 0)
                        return (ssize_t) i;
                h = (h + 1) & (m->nslots - 1);
        }
        return -1;
}

/* Set KEY (VALUE may be NULL); an existing key keeps its position. */
static void
vars_set(struct vars *m, const char *key, const char *value)
{
        ssize_t i = vars_index(m, key);

        if (i >= 0) {
                free(m->v[i]);
                m->v[i] = value ? xstrdup(value) : NULL;
                return;
        }
        if (m->n == m->cap) {
                m->cap = m->cap ? m->cap * 2 : 16;
                m->k = xrealloc(m->k, m->cap * sizeof(*m->k));
                m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
                vars_reindex(m);
        }
        m->k[m->n] = xstrdup(key);
        m->v[m->n] = value ? xstrdup(value) : NULL;
        {
                size_t h = hash_str(key) & (m->nslots - 1);

                while (m->slots[h])
                        h = (h + 1) & (m->nslots - 1);
                m->slots[h] = m->n + 1;
        }
        m->n++;
}

/* The value of KEY: NULL when absent or declared without a value. */
static const char *
vars_get(const struct vars *m, const char *key)
{
        ssize_t i = vars_index(m, key);

        return i >= 0 ? m->v[i] : NULL;
}

static bool
vars_has(const struct vars *m, const char *key)
{
        return vars_index(m, key) >= 0;
}

static void
vars_copy(struct vars *dst, const struct vars *src)
{
        for (size_t i = 0; i < src->n; i++)
                vars_set(dst, src->k[i], src->v[i]);
}

static void
vars_clear(struct vars *m)
{
        for (size_t i = 0; i < m->n; i++) {
                free(m->k[i]);
                free(m->v[i]);
        }
        free(m->k);
        free(m->v);
        free(m->slots);
        memset(m, 0, sizeof(*m));
}

/* "K=V" entries of the variables that have a value. */
static char **
vars_to_env(const struct vars *m, size_t *ret_n)
{
        struct strv l = { 0 };

        for (size_t i = 0; i < m->n; i++)
                if (m->v[i])
                        strv_push(&l, xasprintf("%s=%s", m->k[i], m->v[i]));
        return strv_steal(&l, ret_n);
}

static void
vars_from_env(struct vars *m, char *const *env)
{
        for (; env && *env; env++) {
                const char *eq = strchr(*env, '=');
                _cleanup_free_ char *k = eq ? xstrndup(*env, (size_t) (eq - *env)) : xstrdup(*env);

                vars_set(m, k, eq ? eq + 1 : "");
        }
}

/* ---- constants ---- */

static const char *const PROXY_ARGS[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
        "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};

/* BuildKit's automatic ARGs (dockerfile2llb defaultArgs): global, seen in
 * a stage only after `ARG NAME`, overridable with --build-arg. */
static const char *const AUTO_ARGS[] = {
        "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",  "TARGETPLATFORM",
        "TARGETOS",       "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool
in_list(const char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

#define IS_PROXY(s) in_list(PROXY_ARGS, sizeof(PROXY_ARGS) / sizeof(PROXY_ARGS[0]), (s))
#define IS_AUTO_ARG(s) in_list(AUTO_ARGS, sizeof(AUTO_ARGS) / sizeof(AUTO_ARGS[0]), (s))

/* ---- platforms ---- */

char *
build_plan_host_platform(void)
{
        struct utsname u;
        const char *arch = "amd64", *variant = NULL;

        if (uname(&u) == 0) {
                const char *m = u.machine;

                if (strcmp(m, "x86_64") == 0)
                        arch = "amd64";
                else if (strcmp(m, "aarch64") == 0 || strcmp(m, "arm64") == 0)
                        arch = "arm64";
                else if (strncmp(m, "armv7", 5) == 0)
                        arch = "arm", variant = "v7";
                else if (strncmp(m, "armv6", 5) == 0)
                        arch = "arm", variant = "v6";
                else if (strcmp(m, "i386") == 0 || strcmp(m, "i686") == 0)
                        arch = "386";
                else
                        arch = m;
        }
        return variant ? xasprintf("linux/%s/%s", arch, variant) : xasprintf("linux/%s", arch);
}

/* Split "os/arch[/variant]"; false when malformed. */
static bool
platform_split(const char *p, char **ret_os, char **ret_arch, char **ret_variant)
{
        const char *a = strchr(p, '/'), *v;

        if (!a || a == p || !a[1])
                return false;
        v = strchr(a + 1, '/');
        if (v && (v == a + 1 || !v[1] || strchr(v + 1, '/')))
                return false;
        for (const char *c = p; *c; c++)
                if (isspace((unsigned char) *c) || *c == ',')
                        return false;
        *ret_os = xstrndup(p, (size_t) (a - p));
        *ret_arch = v ? xstrndup(a + 1, (size_t) (v - a - 1)) : xstrdup(a + 1);
        *ret_variant = xstrdup(v ? v + 1 : "");
        return true;
}

/* containerd's platforms.Normalize for the common cases: lower-case OS,
 * architecture aliases, default and redundant variants. */
static char *
platform_normalize(const char *platform)
{
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        const char *a, *v;

        if (!platform_split(platform, &os, &arch, &variant))
                return NULL;
        for (char *c = os; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        for (char *c = arch; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        a = arch;
        v = variant;
        if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0) {
                a = "amd64";
                if (strcmp(v, "v1") == 0)
                        v = "";
        } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
                a = "arm64";
                if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0 || strcmp(v, "v8.0") == 0)
                        v = "";
        } else if (strcmp(a, "armhf") == 0) {
                a = "arm";
                v = "v7";
        } else if (strcmp(a, "armel") == 0) {
                a = "arm";
                v = "v6";
        } else if (strcmp(a, "arm") == 0) {
                if (!*v || strcmp(v, "7") == 0)
                        v = "v7";
                else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0)
                        v = strcmp(v, "5") == 0 ? "v5" : strcmp(v, "6") == 0 ? "v6" : "v8";
        } else if (strcmp(a, "i386") == 0 || strcmp(a, "i686") == 0) {
                a = "386";
        }
        return *v ? xasprintf("%s/%s/%s", os, a, v) : xasprintf("%s/%s", os, a);
}

static int
platform_args(struct vars *m, const char *prefix, const char *platform, struct err **err)
{
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        char key[32];

        if (!platform_split(platform, &os, &arch, &variant))
                return err_set(err, ERR_PARSE, "invalid platform \"%s\" (want os/arch[/variant])", platform);
        snprintf(key, sizeof(key), "%sPLATFORM", prefix);
        vars_set(m, key, platform);
        snprintf(key, sizeof(key), "%sOS", prefix);
        vars_set(m, key, os);
        snprintf(key, sizeof(key), "%sARCH", prefix);
        vars_set(m, key, arch);
        snprintf(key, sizeof(key), "%sVARIANT", prefix);
        vars_set(m, key, variant);
        return 0;
}

/* ---- expansion context ---- */

/* A scope for expansion: ENV (wins) and ARG values. */
struct scope {
        const struct vars *env;
        const struct vars *args;
};

static const char *
scope_lookup(void *data, const char *name)
{
        const struct scope *s = data;
        const char *v = s->env ? vars_get(s->env, name) : NULL;

        if (v)
                return v;
        return s->args ? vars_get(s->args, name) : NULL;
}

struct planner {
        const struct build_df_file *f;
        const struct build_plan_opts *opts;
        struct build_plan *plan;
        struct vars build_args; /* --build-arg values plus automatic ones */
        struct vars user_args;  /* only what the user passed */
        struct vars global;     /* global scope: automatic + global ARGs */
        struct strv consumed;   /* ARG names declared where they count */
        struct strv warnings;
        bool env_unknown; /* the stage being dispatched has base_unknown */
        struct err **err;
};

static const char *
fname(const struct planner *p)
{
        return p->f->name ? p->f->name : "Dockerfile";
}

/* Expand WORD in SCOPE.  *ret is the new string; RESULT (optional) gets the
 * whole result for the used/unset lists. */
static int
expand(struct planner *p, const struct build_df_instr *in, const struct scope *sc, const char *word, bool skip_quotes,
       char **ret, struct strv *used_args)
{
        struct build_shell_opts o = {
                /* Heredoc bodies always use '\\' (BuildKit's ExpandRaw). */
                .escape = skip_quotes ? '\\' : p->f->escape ? p->f->escape : '\\',
                .skip_quotes = skip_quotes,
                .lookup = scope_lookup,
                .lookup_data = (void *) sc,
        };
        struct build_shell_result *r = NULL;

        if (build_shell_expand(word, &o, &r, p->err) < 0)
                return err_prefix(p->err, "%s:%d", fname(p), in->start_line);
        for (size_t i = 0; i < r->n_unset; i++) {
                const char *n = r->unset[i];

                /* Declared ARGs without a value are known, just empty; in a
                 * stage whose base config is unknown any name may be its ENV. */
                if ((sc->args && vars_has(sc->args, n)) || (sc->env && vars_has(sc->env, n)) || p->env_unknown)
                        continue;
                {
                        char *w = xasprintf("%s:%d: %s: undefined variable $%s", fname(p), in->start_line,
                                            build_df_kind_name(in->kind), n);

                        if (strv_contains(&p->warnings, w))
                                free(w);
                        else
                                strv_push(&p->warnings, w);
                }
        }
        if (used_args) {
                for (size_t i = 0; i < r->n_used; i++) {
                        const char *n = r->used[i];
                        const char *v;

                        if (sc->env && vars_get(sc->env, n))
                                continue; /* ENV, not an ARG */
                        v = sc->args ? vars_get(sc->args, n) : NULL;
                        if (v) {
                                char *kv = xasprintf("%s=%s", n, v);

                                if (strv_contains(used_args, kv))
                                        free(kv);
                                else
                                        strv_push(used_args, kv);
                        }
                }
        }
        *ret = steal_ptr(&r->word);
        build_shell_result_free(r);
        return 0;
}

/* ---- stage references ---- */

static int
find_stage_upto(const struct build_plan *pl, const char *name, size_t upto)
{
        for (size_t i = 0; i < upto; i++)
                if (pl->stages[i].name && strcasecmp(pl->stages[i].name, name) == 0)
                        return (int) i;
        return -1;
}

int
build_plan_find_stage(const struct build_plan *p, const char *name)
{
        return find_stage_upto(p, name, p->n_stages);
}

static bool
all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Resolve FROM (a --from value) for stage CUR: *ret_stage is the stage or -1
 * for an image. */
static int
resolve_source(struct planner *p, const struct build_df_instr *in, size_t cur, const char *from, bool strict,
               int *ret_stage)
{
        struct build_plan *pl = p->plan;
        int s;

        /* COPY --from takes a stage index too; RUN --mount from= only names
         * (BuildKit's detectRunMount looks names up, "0" is an image). */
        if (all_digits(from) && in->kind == BUILD_DF_COPY) {
                long idx = strtol(from, NULL, 10);

                if (strlen(from) > 9 || idx >= (long) pl->n_stages)
                        return err_set(p->err, ERR_PARSE, "%s:%d: invalid stage index %s (the Dockerfile has %zu stages)",
                                       fname(p), in->start_line, from, pl->n_stages);
                s = (int) idx;
        } else {
                s = build_plan_find_stage(pl, from);
                if (s < 0) {
                        *ret_stage = -1;
                        return 0;
                }
        }
        if ((size_t) s == cur)
                return err_set(p->err, ERR_PARSE, "%s:%d: circular dependency detected on stage: %s", fname(p),
                               in->start_line, pl->stages[cur].name ? pl->stages[cur].name : from);
        /* A later stage is only an error when this stage really runs
         * (BuildKit finds it while dispatching). */
        if ((size_t) s > cur && strict)
                return err_set(p->err, ERR_PARSE,
                               "%s:%d: cannot copy from stage \"%s\", it needs to be defined before current stage", fname(p),
                               in->start_line, from);
        *ret_stage = s;
        return 0;
}

/* The from= field of a --mount value (CSV of key=value), or NULL. */
static char *
mount_from(const char *spec)
{
        const char *s = spec;

        while (*s) {
                const char *end = strchr(s, ',');
                size_t len = end ? (size_t) (end - s) : strlen(s);

                while (len > 0 && (*s == ' ' || *s == '"')) {
                        s++;
                        len--;
                }
                if (len > 5 && strncasecmp(s, "from=", 5) == 0) {
                        size_t vl = len - 5;

                        while (vl > 0 && s[5 + vl - 1] == '"')
                                vl--;
                        return xstrndup(s + 5, vl);
                }
                if (!end)
                        break;
                s = end + 1;
        }
        return NULL;
}

static void
add_dep(struct build_plan_stage *st, int dep)
{
        size_t i;

        for (i = 0; i < st->n_deps; i++)
                if (st->deps[i] == dep)
                        return;
        st->deps = xrealloc(st->deps, (st->n_deps + 1) * sizeof(*st->deps));
        /* keep sorted */
        for (i = st->n_deps; i > 0 && st->deps[i - 1] > dep; i--)
                st->deps[i] = st->deps[i - 1];
        st->deps[i] = dep;
        st->n_deps++;
}

/* ---- rendering ---- */

static void
json_quote(FILE *out, const char *s)
{
        fputc('"', out);
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '"' || *c == '\\')
                        fprintf(out, "\\%c", *c);
                else if (*c == '\n')
                        fputs("\\n", out);
                else if (*c == '\t')
                        fputs("\\t", out);
                else if (*c < 0x20)
                        fprintf(out, "\\u%04x", *c);
                else
                        fputc(*c, out);
        }
        fputc('"', out);
}

/* A value printed so it reads back as one word. */
static void
word_quote(FILE *out, const char *s)
{
        bool plain = *s != '\0';

        for (const char *c = s; *c && plain; c++)
                if (isspace((unsigned char) *c) || strchr("\"'\\$`", *c))
                        plain = false;
        if (plain)
                fputs(s, out);
        else
                json_quote(out, s);
}

static char *
render(const struct build_plan_instr *pi)
{
        const struct build_df_instr *in = pi->node;
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);

        if (!out)
                return xstrdup(in->original ? in->original : "");
        fputs(build_df_kind_name(pi->kind), out);
        for (size_t i = 0; i < pi->n_flags; i++) {
                fprintf(out, " --%s", pi->flags[i].name);
                if (pi->flags[i].value) {
                        fputc('=', out);
                        word_quote(out, pi->flags[i].value);
                }
        }
        switch (pi->kind) {
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
                for (size_t i = 0; i + 1 < pi->n_args; i += 2) {
                        fputc(' ', out);
                        word_quote(out, pi->args[i]);
                        fputc('=', out);
                        word_quote(out, pi->args[i + 1]);
                }
                break;
        case BUILD_DF_ARG:
        case BUILD_DF_EXPOSE:
        case BUILD_DF_FROM:
                for (size_t i = 0; i < pi->n_args; i++) {
                        const char *eq = pi->kind == BUILD_DF_ARG ? strchr(pi->args[i], '=') : NULL;

                        fputc(' ', out);
                        if (eq) {
                                fprintf(out, "%.*s=", (int) (eq - pi->args[i]), pi->args[i]);
                                word_quote(out, eq + 1);
                        } else {
                                fputs(pi->args[i], out);
                        }
                }
                break;
        case BUILD_DF_ONBUILD:
                if (in->sub && in->sub->original)
                        fprintf(out, " %s", in->sub->original);
                break;
        default:
                if (in->json) {
                        size_t start = 0;

                        if (pi->kind == BUILD_DF_HEALTHCHECK && pi->n_args > 0) {
                                fprintf(out, " %s", pi->args[0]);
                                start = 1;
                        }
                        fputs(" [", out);
                        for (size_t i = start; i < pi->n_args; i++) {
                                if (i > start)
                                        fputs(", ", out);
                                json_quote(out, pi->args[i]);
                        }
                        fputc(']', out);
                } else {
                        for (size_t i = 0; i < pi->n_args; i++)
                                fprintf(out, " %s", pi->args[i]);
                }
                break;
        }
        fclose(out);
        return buf;
}

/* ---- instructions ---- */

static void
instr_free(struct build_plan_instr *pi)
{
        build_shell_strv_free(pi->args);
        for (size_t i = 0; i < pi->n_flags; i++) {
                free(pi->flags[i].name);
                free(pi->flags[i].value);
        }
        free(pi->flags);
        build_shell_strv_free(pi->heredocs);
        free(pi->text);
        build_shell_strv_free(pi->build_args);
        for (size_t i = 0; i < pi->n_sources; i++)
                free(pi->sources[i].image);
        free(pi->sources);
}

static void
add_source(struct build_plan_instr *pi, int stage, const char *image)
{
        pi->sources = xrealloc(pi->sources, (pi->n_sources + 1) * sizeof(*pi->sources));
        pi->sources[pi->n_sources].stage = stage;
        pi->sources[pi->n_sources].image = stage < 0 ? xstrdup(image) : NULL;
        pi->n_sources++;
}

/* Flags whose value is expanded, per instruction kind. */
static bool
flag_expands(enum build_df_kind kind, const char *name)
{
        switch (kind) {
        /* BuildKit's CopyCommand/AddCommand.Expand: --chown (and ADD's
         * --checksum); --chmod, --from and --exclude stay as written. */
        case BUILD_DF_ADD:
                return strcmp(name, "chown") == 0 || strcmp(name, "checksum") == 0;
        case BUILD_DF_COPY:
                return strcmp(name, "chown") == 0;
        case BUILD_DF_RUN:
                return strcmp(name, "mount") == 0;
        default:
                return false;
        }
}

static bool
is_heredoc_word(const struct build_df_instr *in, const char *w)
{
        if (in->n_heredocs == 0)
                return false;
        while (*w >= '0' && *w <= '9')
                w++;
        return strncmp(w, "<<", 2) == 0;
}

/* State of one stage while its instructions are dispatched. */
struct stage_state {
        struct vars env;  /* ENV (and the base's), wins over ARG */
        struct vars args; /* ARGs in scope, value NULL when declared empty */
        unsigned long version; /* bumped when env or args change */
        char **snap;           /* RUN environment for snap_version */
        size_t n_snap;
        unsigned long snap_version;
        /* An image base, from opts->base_config (load_base). */
        bool loaded;
        char **img_env;                    /* its ENV, NULL when none or unknown */
        const struct build_df_file *img_triggers; /* "FROM scratch" + ONBUILD lines (owned by the plan) */
};

static int
dispatch(struct planner *p, size_t si, struct stage_state *ss, const struct build_df_instr *in, bool onbuild,
         struct build_plan_instr *pi)
{
        struct scope sc = { .env = &ss->env, .args = &ss->args };
        struct strv args = { 0 }, used = { 0 };
        bool expands = build_df_kind_expands(in->kind) && in->kind != BUILD_DF_ONBUILD;
        int r = 0;

        pi->node = in;
        pi->kind = in->kind;
        pi->line = in->start_line;
        pi->end_line = in->end_line;
        pi->onbuild = onbuild;

        /* Flags. */
        for (size_t i = 0; i < in->n_flags; i++) {
                const struct build_df_flag *fl = &in->flags[i];
                struct build_plan_flag *pf;

                pi->flags = xrealloc(pi->flags, (pi->n_flags + 1) * sizeof(*pi->flags));
                pf = &pi->flags[pi->n_flags++];
                pf->name = xstrdup(fl->name);
                pf->value = NULL;
                if (!fl->value)
                        continue;
                if (flag_expands(in->kind, fl->name)) {
                        r = expand(p, in, &sc, fl->value, false, &pf->value, &used);
                        if (r < 0)
                                goto out;
                } else {
                        pf->value = xstrdup(fl->value);
                }
        }

        /* Sources from other stages or images. */
        for (size_t i = 0; i < pi->n_flags; i++) {
                _cleanup_free_ char *from = NULL;
                int s;

                if (in->kind == BUILD_DF_COPY && strcmp(pi->flags[i].name, "from") == 0 && pi->flags[i].value)
                        from = xstrdup(pi->flags[i].value);
                else if (in->kind == BUILD_DF_RUN && strcmp(pi->flags[i].name, "mount") == 0 && pi->flags[i].value)
                        from = mount_from(pi->flags[i].value);
                if (!from || !*from)
                        continue;
                r = resolve_source(p, in, si, from, true, &s);
                if (r < 0)
                        goto out;
                add_source(pi, s, from);
                if (s >= 0)
                        add_dep(&p->plan->stages[si], s);
        }

        switch (in->kind) {
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL: {
                /* All pairs of one instruction see the environment from
                 * before it (ENV a=1 b=$a uses the old a). */
                for (size_t i = 0; i + 1 < in->n_args; i += 3) {
                        char *k = NULL, *v = NULL;

                        r = expand(p, in, &sc, in->args[i], false, &k, &used);
                        if (r < 0)
                                goto out;
                        r = expand(p, in, &sc, in->args[i + 1], false, &v, &used);
                        if (r < 0) {
                                free(k);
                                goto out;
                        }
                        strv_push(&args, k);
                        strv_push(&args, v);
                }
                if (in->kind == BUILD_DF_ENV) {
                        for (size_t i = 0; i + 1 < args.n; i += 2)
                                vars_set(&ss->env, args.v[i], args.v[i + 1]);
                        ss->version++;
                }
                break;
        }
        case BUILD_DF_ARG:
                for (size_t i = 0; i < in->n_args; i++) {
                        const char *eq = strchr(in->args[i], '=');
                        _cleanup_free_ char *key = eq ? xstrndup(in->args[i], (size_t) (eq - in->args[i]))
                                                      : xstrdup(in->args[i]);
                        /* Only --build-arg overrides a default here; the
                         * automatic ARGs come in through the global scope. */
                        const char *given = vars_get(&p->user_args, key);
                        _cleanup_free_ char *value = NULL;

                        if (!strv_contains(&p->consumed, key))
                                strv_push(&p->consumed, xstrdup(key));
                        if (given) {
                                value = xstrdup(given);
                        } else if (eq) {
                                r = expand(p, in, &sc, eq + 1, false, &value, &used);
                                if (r < 0)
                                        goto out;
                        } else if (vars_get(&p->global, key)) {
                                value = xstrdup(vars_get(&p->global, key));
                        }
                        vars_set(&ss->args, key, value);
                        ss->version++;
                        strv_push(&args, value ? xasprintf("%s=%s", key, value) : xstrdup(key));
                }
                break;
        case BUILD_DF_EXPOSE:
                for (size_t i = 0; i < in->n_args; i++) {
                        struct build_shell_opts o = {
                                .escape = p->f->escape ? p->f->escape : '\\',
                                .lookup = scope_lookup,
                                .lookup_data = &sc,
                        };
                        char **words = NULL;
                        size_t n = 0;
                        _cleanup_free_ char *probe = NULL;

                        /* For warnings and used args, then the split. */
                        r = expand(p, in, &sc, in->args[i], false, &probe, &used);
                        if (r < 0)
                                goto out;
                        r = build_shell_expand_words(in->args[i], &o, &words, &n, p->err);
                        if (r < 0)
                                goto out;
                        for (size_t k = 0; k < n; k++)
                                strv_push(&args, steal_ptr(&words[k]));
                        build_shell_strv_free(words);
                }
                break;
        default:
                for (size_t i = 0; i < in->n_args; i++) {
                        char *w;

                        if (expands && !is_heredoc_word(in, in->args[i])) {
                                r = expand(p, in, &sc, in->args[i], false, &w, &used);
                                if (r < 0)
                                        goto out;
                        } else {
                                w = xstrdup(in->args[i]);
                        }
                        strv_push(&args, w);
                }
                break;
        }

        /* COPY/ADD heredoc bodies expand unless the delimiter was quoted;
         * quotes in them are text (BuildKit's ExpandRaw). */
        if (in->kind == BUILD_DF_COPY || in->kind == BUILD_DF_ADD) {
                struct strv hd = { 0 };

                for (size_t i = 0; i < in->n_heredocs; i++) {
                        char *body;

                        if (in->heredocs[i].expand) {
                                r = expand(p, in, &sc, in->heredocs[i].content, true, &body, &used);
                                if (r < 0) {
                                        strv_clear(&hd);
                                        goto out;
                                }
                        } else {
                                body = xstrdup(in->heredocs[i].content);
                        }
                        strv_push(&hd, body);
                }
                pi->heredocs = strv_steal(&hd, &pi->n_heredocs);
        }

        pi->args = strv_steal(&args, &pi->n_args);

        /* The environment a RUN command sees (shared by consecutive RUNs
         * while no ENV/ARG changes it), and the ARGs this step depends on. */
        if (in->kind == BUILD_DF_RUN) {
                if (!ss->snap || ss->snap_version != ss->version) {
                        struct strv envl = { 0 };
                        struct build_plan *pl = p->plan;

                        for (size_t i = 0; i < ss->env.n; i++)
                                if (ss->env.v[i])
                                        strv_push(&envl, xasprintf("%s=%s", ss->env.k[i], ss->env.v[i]));
                        for (size_t i = 0; i < ss->args.n; i++)
                                if (ss->args.v[i] && !vars_has(&ss->env, ss->args.k[i]))
                                        strv_push(&envl, xasprintf("%s=%s", ss->args.k[i], ss->args.v[i]));
                        for (size_t i = 0; i < p->user_args.n; i++) {
                                const char *k = p->user_args.k[i];

                                if (IS_PROXY(k) && !vars_has(&ss->env, k) && !vars_get(&ss->args, k))
                                        strv_push(&envl, xasprintf("%s=%s", k, p->user_args.v[i]));
                        }
                        ss->snap = strv_steal(&envl, &ss->n_snap);
                        ss->snap_version = ss->version;
                        pl->env_storage = xrealloc(pl->env_storage, (pl->n_env_storage + 1) * sizeof(char **));
                        pl->env_storage[pl->n_env_storage++] = ss->snap;
                }
                pi->env = ss->snap;
                pi->n_env = ss->n_snap;
                for (size_t i = 0; i < ss->args.n; i++) {
                        char *kv;

                        if (!ss->args.v[i])
                                continue;
                        kv = xasprintf("%s=%s", ss->args.k[i], ss->args.v[i]);
                        if (strv_contains(&used, kv))
                                free(kv);
                        else
                                strv_push(&used, kv);
                }
        }
        pi->build_args = strv_steal(&used, &pi->n_build_args);
        pi->text = render(pi);
        return 0;
out:
        strv_clear(&args);
        strv_clear(&used);
        return r;
}

/* ---- the plan ---- */

static void
stage_free(struct build_plan_stage *st)
{
        free(st->name);
        free(st->base_image);
        free(st->platform);
        for (size_t i = 0; i < st->n_instrs; i++)
                instr_free(&st->instrs[i]);
        free(st->instrs);
        free(st->deps);
        build_shell_strv_free(st->final_env);
}

void
build_plan_free(struct build_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_stages; i++)
                stage_free(&p->stages[i]);
        free(p->stages);
        free(p->order);
        free(p->target_platform);
        free(p->build_platform);
        build_shell_strv_free(p->global_args);
        build_shell_strv_free(p->unused_build_args);
        build_shell_strv_free(p->warnings);
        for (size_t i = 0; i < p->n_env_storage; i++)
                build_shell_strv_free(p->env_storage[i]);
        free(p->env_storage);
        for (size_t i = 0; i < p->n_trigger_files; i++)
                build_df_file_free(p->trigger_files[i]);
        free(p->trigger_files);
        free(p);
}

/* Per stage: the FROM node and its instructions [first, end). */
struct span {
        size_t from, first, end;
};

static int
global_arg(struct planner *p, const struct build_df_instr *in)
{
        struct scope sc = { .args = &p->global };

        for (size_t i = 0; i < in->n_args; i++) {
                const char *eq = strchr(in->args[i], '=');
                _cleanup_free_ char *key = eq ? xstrndup(in->args[i], (size_t) (eq - in->args[i])) : xstrdup(in->args[i]);
                _cleanup_free_ char *value = NULL;
                const char *given = vars_get(&p->user_args, key);

                if (!strv_contains(&p->consumed, key))
                        strv_push(&p->consumed, xstrdup(key));
                if (given) {
                        value = xstrdup(given);
                } else if (eq) {
                        if (expand(p, in, &sc, eq + 1, false, &value, NULL) < 0)
                                return -ERR_PARSE;
                } else if (vars_get(&p->build_args, key)) {
                        value = xstrdup(vars_get(&p->build_args, key));
                }
                /* A declared global ARG without any value stays unset. */
                if (value)
                        vars_set(&p->global, key, value);
        }
        return 0;
}

/* Parse FROM's words, expand image and --platform with the global ARGs. */
static int
setup_stage(struct planner *p, size_t si, const struct build_df_instr *in)
{
        struct build_plan_stage *st = &p->plan->stages[si];
        struct scope sc = { .args = &p->global };
        const struct build_df_flag *pf;
        int b;

        st->index = (int) si;
        st->from = in;
        st->base_stage = -1;
        if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
                st->name = xstrdup(in->args[2]);
        } else if (in->n_args != 1) {
                return err_set(p->err, ERR_PARSE, "%s:%d: FROM takes an image and optionally AS NAME", fname(p),
                               in->start_line);
        }
        if (expand(p, in, &sc, in->args[0], false, &st->base_image, NULL) < 0)
                return -ERR_PARSE;
        if (!st->base_image[0])
                return err_set(p->err, ERR_PARSE, "%s:%d: base name (%s) should not be blank", fname(p), in->start_line,
                               in->args[0]);
        pf = build_df_flag(in, "platform");
        if (pf && pf->value) {
                _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;

                if (expand(p, in, &sc, pf->value, false, &st->platform, NULL) < 0)
                        return -ERR_PARSE;
                if (!st->platform[0])
                        return err_set(p->err, ERR_PARSE, "%s:%d: empty platform value from expression %s", fname(p),
                                       in->start_line, pf->value);
                if (!platform_split(st->platform, &os, &arch, &variant))
                        return err_set(p->err, ERR_PARSE, "%s:%d: failed to parse platform %s", fname(p), in->start_line,
                                       st->platform);
                {
                        char *norm = platform_normalize(st->platform);

                        free(st->platform);
                        st->platform = norm;
                }
        }
        b = find_stage_upto(p->plan, st->base_image, si);
        if (b >= 0) {
                st->base = BUILD_PLAN_BASE_STAGE;
                st->base_stage = b;
                add_dep(st, b);
        } else if (strcmp(st->base_image, "scratch") == 0) {
                st->base = BUILD_PLAN_BASE_SCRATCH;
        } else {
                st->base = BUILD_PLAN_BASE_IMAGE;
        }
        return 0;
}

/* The ONBUILD lines [first, end) of F whose triggers stage SI runs first:
 * those of its base stage, or those parsed from its base image's OnBuild. */
struct triggers {
        const struct build_df_file *f;
        size_t first, end;
};

static struct triggers
stage_triggers(const struct planner *p, size_t si, const struct span *spans, const struct stage_state *states)
{
        const struct build_plan_stage *st = &p->plan->stages[si];
        struct triggers t = { 0 };

        if (st->base == BUILD_PLAN_BASE_STAGE) {
                t.f = p->f;
                t.first = spans[st->base_stage].first;
                t.end = spans[st->base_stage].end;
        } else if (states[si].img_triggers) {
                t.f = states[si].img_triggers;
                t.first = 1; /* after its FROM scratch */
                t.end = t.f->n_instrs;
        }
        return t;
}

/* Parse an image's OnBuild list as the ONBUILD lines of a one-stage
 * Dockerfile (so the parser's and validator's rules apply: no ONBUILD
 * ONBUILD, no FROM or MAINTAINER trigger); every node gets the line of
 * stage SI's FROM, where BuildKit reports trigger errors too. */
static int
parse_image_triggers(struct planner *p, size_t si, char **onbuild, struct build_df_file **ret)
{
        struct build_plan_stage *st = &p->plan->stages[si];
        struct build_plan *pl = p->plan;
        _cleanup_free_ char *text = NULL, *name = NULL;
        struct build_df_file *f = NULL;
        size_t len = strlen("FROM scratch\n"), off;

        for (char **t = onbuild; *t; t++) {
                if (strchr(*t, '\n'))
                        return err_set(p->err, ERR_PARSE, "%s:%d: base image %s: ONBUILD trigger \"%s\" spans lines",
                                       fname(p), st->from->start_line, st->base_image, *t);
                len += strlen("ONBUILD \n") + strlen(*t);
        }
        text = xmalloc(len + 1);
        off = (size_t) sprintf(text, "FROM scratch\n");
        for (char **t = onbuild; *t; t++)
                off += (size_t) sprintf(text + off, "ONBUILD %s\n", *t);
        name = xasprintf("%s (ONBUILD of %s)", fname(p), st->base_image);
        if (build_df_parse(text, len, name, &f, p->err) < 0 || build_df_validate(f, p->err) < 0) {
                build_df_file_free(f);
                return err_prefix(p->err, "%s:%d: ONBUILD triggers of base image %s", fname(p), st->from->start_line,
                                  st->base_image);
        }
        for (size_t i = 0; i < f->n_instrs; i++) {
                struct build_df_instr *in = &f->instrs[i];

                in->start_line = in->end_line = st->from->start_line;
                if (in->sub)
                        in->sub->start_line = in->sub->end_line = st->from->start_line;
        }
        pl->trigger_files = xrealloc(pl->trigger_files, (pl->n_trigger_files + 1) * sizeof(*pl->trigger_files));
        pl->trigger_files[pl->n_trigger_files++] = f;
        *ret = f;
        return 0;
}

/* Ask opts->base_config for stage SI's image once: its ENV and triggers,
 * or base_unknown when the config is not available. */
static int
load_base(struct planner *p, size_t si, struct stage_state *ss)
{
        struct build_plan_stage *st = &p->plan->stages[si];
        const struct build_plan_opts *o = p->opts;
        struct build_plan_base_config b = { 0 };
        int r = 0;

        if (ss->loaded)
                return 0;
        ss->loaded = true;
        if (st->base != BUILD_PLAN_BASE_IMAGE || !o || !o->base_config)
                return 0;
        r = o->base_config(o->base_config_data, st->base_image, st->platform ? st->platform : p->plan->target_platform,
                           &b, p->err);
        if (r < 0)
                return err_prefix(p->err, "%s:%d: base image %s", fname(p), st->from->start_line, st->base_image);
        if (r == 0) {
                st->base_unknown = true;
                return 0;
        }
        ss->img_env = steal_ptr(&b.env);
        if (b.onbuild && b.onbuild[0]) {
                struct build_df_file *f = NULL;

                r = parse_image_triggers(p, si, b.onbuild, &f);
                if (r >= 0)
                        ss->img_triggers = f;
        }
        build_shell_strv_free(b.onbuild);
        return r < 0 ? r : 0;
}

static int
run_stage(struct planner *p, size_t si, const struct span *spans, struct stage_state *states)
{
        struct build_plan_stage *st = &p->plan->stages[si];
        struct stage_state *ss = &states[si];
        const struct build_df_file *f = p->f;
        struct triggers tr;
        size_t n = spans[si].end - spans[si].first, k = 0, ntrig = 0;
        int r;

        r = load_base(p, si, ss);
        if (r < 0)
                return r;
        tr = stage_triggers(p, si, spans, states);
        for (size_t i = tr.first; i < tr.end; i++)
                ntrig += tr.f->instrs[i].kind == BUILD_DF_ONBUILD && tr.f->instrs[i].sub;

        /* The starting environment: the base stage's ENV and ARGs, or the
         * image's ENV, and PATH when nothing set it. */
        if (st->base == BUILD_PLAN_BASE_STAGE) {
                vars_copy(&ss->env, &states[st->base_stage].env);
                vars_copy(&ss->args, &states[st->base_stage].args);
                st->base_unknown = p->plan->stages[st->base_stage].base_unknown;
        } else if (st->base == BUILD_PLAN_BASE_IMAGE) {
                vars_from_env(&ss->env, ss->img_env);
        }
        if (!vars_has(&ss->env, "PATH"))
                vars_set(&ss->env, "PATH", DEFAULT_PATH);
        p->env_unknown = st->base_unknown;

        /* Triggers first, with the base's environment (BuildKit runs them
         * as the stage's first commands, after the image's ENV is loaded). */
        st->instrs = xcalloc(n + ntrig + 1, sizeof(*st->instrs));
        for (size_t i = tr.first; i < tr.end; i++) {
                const struct build_df_instr *in = &tr.f->instrs[i];

                if (in->kind != BUILD_DF_ONBUILD || !in->sub)
                        continue;
                r = dispatch(p, si, ss, in->sub, true, &st->instrs[k]);
                st->n_instrs = ++k;
                if (r < 0)
                        goto out;
        }
        for (size_t i = spans[si].first; i < spans[si].end; i++) {
                r = dispatch(p, si, ss, &f->instrs[i], false, &st->instrs[k]);
                st->n_instrs = ++k;
                if (r < 0)
                        goto out;
        }
        st->final_env = vars_to_env(&ss->env, &st->n_final_env);
out:
        p->env_unknown = false;
        return r < 0 ? r : 0;
}

/* Dependencies of stage SI from COPY --from / RUN --mount in F's
 * instructions [first, end) (the triggers of ONBUILD lines when TRIGGERS),
 * without expanding anything: BuildKit resolves them from the raw flag
 * values before dispatching.  *ret_added (may be NULL) counts new ones. */
static int
deps_from(struct planner *p, size_t si, const struct build_df_file *f, size_t first, size_t end, bool triggers,
          size_t *ret_added)
{
        struct build_plan_stage *st = &p->plan->stages[si];

        for (size_t i = first; i < end; i++) {
                const struct build_df_instr *in = &f->instrs[i];
                const struct build_df_flag *fl = NULL;

                if (triggers) {
                        if (in->kind != BUILD_DF_ONBUILD || !in->sub)
                                continue;
                        in = in->sub;
                }
                if (in->kind != BUILD_DF_COPY && in->kind != BUILD_DF_RUN)
                        continue;
                while ((fl = build_df_flag_next(in, in->kind == BUILD_DF_COPY ? "from" : "mount", fl))) {
                        _cleanup_free_ char *from = NULL;
                        size_t before = st->n_deps;
                        int s;

                        if (!fl->value)
                                continue;
                        from = in->kind == BUILD_DF_COPY ? xstrdup(fl->value) : mount_from(fl->value);
                        if (!from || !*from)
                                continue;
                        if (resolve_source(p, in, si, from, false, &s) < 0)
                                return -ERR_PARSE;
                        if (s >= 0)
                                add_dep(st, s);
                        if (ret_added)
                                *ret_added += st->n_deps - before;
                }
        }
        return 0;
}

static int
collect_deps(struct planner *p, size_t si, const struct span *spans)
{
        const struct build_plan_stage *st = &p->plan->stages[si];

        if (st->base == BUILD_PLAN_BASE_STAGE &&
            deps_from(p, si, p->f, spans[st->base_stage].first, spans[st->base_stage].end, true, NULL) < 0)
                return -ERR_PARSE;
        return deps_from(p, si, p->f, spans[si].first, spans[si].end, false, NULL);
}

static void
mark_needed(struct build_plan *pl, int s)
{
        struct build_plan_stage *st = &pl->stages[s];

        if (st->needed)
                return;
        st->needed = true;
        for (size_t i = 0; i < st->n_deps; i++)
                mark_needed(pl, st->deps[i]);
}

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The name after AS of the last FROM, lower-cased (BuildKit keeps stage
 * names in lower case); NULL when the last stage has none. */
static char *
last_stage_name(const struct build_df_file *f)
{
        char *name = NULL;

        for (size_t i = 0; i < f->n_instrs; i++) {
                const struct build_df_instr *in = &f->instrs[i];

                if (in->kind != BUILD_DF_FROM)
                        continue;
                free(name);
                name = NULL;
                if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
                        name = xstrdup(in->args[2]);
                        for (char *c = name; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
                }
        }
        return name;
}

static int
plan_build(struct planner *p)
{
        const struct build_df_file *f = p->f;
        const struct build_plan_opts *o = p->opts;
        struct build_plan *pl = p->plan;
        _cleanup_free_ struct span *spans = NULL;
        struct stage_state *states = NULL;
        size_t i, ns = 0;
        int r = 0;

        /* Platforms and automatic ARGs. */
        if (o && o->platform && strchr(o->platform, ','))
                return err_set(p->err, EINVAL,
                               "--platform %s: multi-platform builds are not supported yet (build one platform at a "
                               "time, e.g. --platform %.*s)",
                               o->platform, (int) strcspn(o->platform, ","), o->platform);
        {
                _cleanup_free_ char *host = build_plan_host_platform();
                const char *bp = o && o->build_platform ? o->build_platform : host;
                const char *tp = o && o->platform ? o->platform : bp;

                pl->build_platform = platform_normalize(bp);
                if (!pl->build_platform)
                        return err_set(p->err, ERR_PARSE, "invalid build platform \"%s\" (want os/arch[/variant])", bp);
                pl->target_platform = platform_normalize(tp);
                if (!pl->target_platform)
                        return err_set(p->err, ERR_PARSE, "--platform: invalid platform \"%s\" (want os/arch[/variant])",
                                       tp);
        }
        if (platform_args(&p->build_args, "BUILD", pl->build_platform, p->err) < 0 ||
            platform_args(&p->build_args, "TARGET", pl->target_platform, p->err) < 0)
                return err_prefix(p->err, "--platform");
        {
                _cleanup_free_ char *last = last_stage_name(f);

                vars_set(&p->build_args, "TARGETSTAGE", o && o->target ? o->target : last ? last : "default");
        }
        for (i = 0; o && i < o->n_build_args; i++) {
                const char *kv = o->build_args[i], *eq = strchr(kv, '=');
                _cleanup_free_ char *k = eq ? xstrndup(kv, (size_t) (eq - kv)) : xstrdup(kv);

                if (!*k)
                        return err_set(p->err, EINVAL, "--build-arg \"%s\": missing name", kv);
                vars_set(&p->user_args, k, eq ? eq + 1 : "");
        }
        vars_copy(&p->build_args, &p->user_args);
        vars_copy(&p->global, &p->build_args);
        /* Only the automatic ones are global without a declaration. */
        {
                struct vars g = { 0 };

                for (i = 0; i < p->global.n; i++)
                        if (IS_AUTO_ARG(p->global.k[i]))
                                vars_set(&g, p->global.k[i], p->global.v[i]);
                vars_clear(&p->global);
                p->global = g;
        }

        /* Global ARGs, then the stages' spans. */
        for (i = 0; i < f->n_instrs && f->instrs[i].kind != BUILD_DF_FROM; i++) {
                const struct build_df_instr *in = &f->instrs[i];

                if (in->kind != BUILD_DF_ARG)
                        return err_set(p->err, ERR_PARSE, "%s:%d: %s before the first FROM (only ARG may come first)",
                                       fname(p), in->start_line, build_df_kind_name(in->kind));
                if (global_arg(p, in) < 0)
                        return -ERR_PARSE;
        }
        if (i == f->n_instrs)
                return err_set(p->err, ERR_PARSE, "%s: no FROM instruction: the Dockerfile has no stage to build",
                               fname(p));
        spans = xcalloc(f->n_instrs, sizeof(*spans));
        for (; i < f->n_instrs; i++) {
                if (f->instrs[i].kind == BUILD_DF_FROM) {
                        if (ns > 0)
                                spans[ns - 1].end = i;
                        spans[ns].from = i;
                        spans[ns].first = i + 1;
                        ns++;
                }
        }
        spans[ns - 1].end = f->n_instrs;
        pl->stages = xcalloc(ns, sizeof(*pl->stages));
        pl->n_stages = ns;
        for (i = 0; i < ns; i++) {
                r = setup_stage(p, i, &f->instrs[spans[i].from]);
                if (r < 0)
                        return r;
        }
        for (i = 0; i < ns; i++) {
                r = collect_deps(p, i, spans);
                if (r < 0)
                        return r;
        }

        /* Target and pruning. */
        if (o && o->target) {
                pl->target = build_plan_find_stage(pl, o->target);
                if (pl->target < 0)
                        return err_set(p->err, ERR_PARSE, "target stage \"%s\" could not be found", o->target);
        } else {
                pl->target = (int) ns - 1;
        }
        mark_needed(pl, pl->target);

        /* The configs of needed image bases; their ONBUILD triggers may
         * need more stages, whose bases may have triggers... (BuildKit's
         * resolveStages loop). */
        states = xcalloc(ns, sizeof(*states));
        for (bool grew = true; grew && r == 0;) {
                grew = false;
                for (i = 0; i < ns && r == 0; i++) {
                        const struct build_df_file *tf;
                        size_t added = 0;

                        if (states[i].loaded || !(pl->stages[i].needed || (o && o->all_stages)))
                                continue;
                        r = load_base(p, i, &states[i]);
                        tf = states[i].img_triggers;
                        if (r < 0 || !tf)
                                continue;
                        r = deps_from(p, i, tf, 1, tf->n_instrs, true, &added);
                        if (r < 0 || !added || !pl->stages[i].needed)
                                continue;
                        for (size_t d = 0; d < pl->stages[i].n_deps; d++)
                                if (!pl->stages[pl->stages[i].deps[d]].needed) {
                                        mark_needed(pl, pl->stages[i].deps[d]);
                                        grew = true;
                                }
                }
        }
        pl->order = xcalloc(ns, sizeof(*pl->order));
        for (i = 0; i < ns; i++)
                if (pl->stages[i].needed)
                        pl->order[pl->n_order++] = (int) i;

        /* Dispatch the needed stages in order (dependencies come first: a
         * stage can only use earlier ones). */
        if (o && o->all_stages) {
                for (i = 0; i < ns && r == 0; i++)
                        r = run_stage(p, i, spans, states);
        } else {
                for (i = 0; i < pl->n_order && r == 0; i++)
                        r = run_stage(p, (size_t) pl->order[i], spans, states);
        }
        for (i = 0; i < ns; i++) {
                vars_clear(&states[i].env);
                vars_clear(&states[i].args);
                build_shell_strv_free(states[i].img_env);
        }
        free(states);
        if (r < 0)
                return r;

        /* Build args nobody consumed. */
        {
                struct strv unused = { 0 };

                for (i = 0; i < p->user_args.n; i++) {
                        const char *k = p->user_args.k[i];

                        if (!strv_contains(&p->consumed, k) && !IS_PROXY(k) && !IS_AUTO_ARG(k))
                                strv_push(&unused, xstrdup(k));
                }
                if (unused.n)
                        sort_array(unused.v, unused.n, sizeof(char *), cmp_str);
                pl->unused_build_args = strv_steal(&unused, &pl->n_unused_build_args);
        }
        pl->global_args = vars_to_env(&p->global, &pl->n_global_args);
        pl->warnings = strv_steal(&p->warnings, &pl->n_warnings);
        return 0;
}

int
build_plan_new(const struct build_df_file *f, const struct build_plan_opts *opts, struct build_plan **ret_plan,
               struct err **err)
{
        struct planner p = { .f = f, .opts = opts, .err = err };
        int r;

        p.plan = xcalloc(1, sizeof(*p.plan));
        r = plan_build(&p);
        vars_clear(&p.build_args);
        vars_clear(&p.user_args);
        vars_clear(&p.global);
        strv_clear(&p.consumed);
        strv_clear(&p.warnings);
        if (r < 0) {
                build_plan_free(p.plan);
                return r;
        }
        *ret_plan = p.plan;
        return 0;
}
