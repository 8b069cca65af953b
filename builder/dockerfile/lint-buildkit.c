/* BuildKit's build checks, with its names, semantics and messages
 * (moby/buildkit frontend/dockerfile/docs/rules/): stage and keyword
 * casing, reserved stage names, FROM --platform and FROM ARG checks,
 * WORKDIR, repeated CMD/ENTRYPOINT/HEALTHCHECK, legacy ENV/LABEL form,
 * EXPOSE format, copies of ignored files, and definition comments.
 * DuplicateStageName, UndefinedVar, UndefinedArgInFrom, JSONArgsRecommended,
 * MaintainerDeprecated, SecretsUsedInArgOrEnv and NoEmptyContinuation live
 * with the walk (lint.c, lint-vars.c, lint-image.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"
#include "oci/platform.h"
#include "oci/ref.h"

static bool
is_lower(const char *s)
{
        for (; *s; s++)
                if (isupper((unsigned char) *s))
                        return false;
        return true;
}

static bool
is_upper(const char *s)
{
        for (; *s; s++)
                if (islower((unsigned char) *s))
                        return false;
        return true;
}

/* The comment on the line just above LINE ("# text" → "text"), or NULL
 * when that line is no comment (or a parser directive). */
static const char *
comment_above(const struct lint *l, int line, size_t *ret_len)
{
        const char *s;
        size_t n, i = 0;
        int above = line - 1;

        if (l->lines == NULL || above < 1 || (size_t) above > l->n_lines)
                return NULL;
        if (above == l->f->syntax_line || above == l->f->check_line || above == l->f->escape_line)
                return NULL;
        s = l->lines[above - 1];
        n = l->line_lens[above - 1];
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        if (i >= n || s[i] != '#')
                return NULL;
        i++;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
        while (n > i && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        *ret_len = n - i;
        return s + i;
}

/* InvalidDefinitionDescription: a comment just above `FROM ... AS name`
 * or `ARG name` is its description (`--call=outline`), so it must start
 * with the name. */
static void
check_description(struct lint *l, const struct build_df_instr *in, const char *const *keys, const size_t *key_lens,
                  size_t n_keys)
{
        const char *c;
        size_t len, w;

        if (n_keys == 0 || (c = comment_above(l, in->start_line, &len)) == NULL)
                return;
        w = strcspn(c, " ");
        if (w > len)
                w = len;
        for (size_t k = 0; k < n_keys; k++)
                if (key_lens[k] == w && strncmp(keys[k], c, w) == 0)
                        return;
        if (n_keys == 1)
                lint_report(l, R_DEF_DESCRIPTION, in->start_line,
                            "Comment for %s should follow the format: `# %.*s <description>`",
                            build_df_kind_name(in->kind), (int) key_lens[0], keys[0]);
        else
                lint_report(l, R_DEF_DESCRIPTION, in->start_line,
                            "Comment for %s should follow the format: `# <arg_key> <description>`",
                            build_df_kind_name(in->kind));
}

const char *
lint_from_platform(const struct build_df_instr *in)
{
        const struct build_df_flag *p = build_df_flag(in, "platform");

        if (p == NULL || p->value == NULL || strchr(p->value, '$'))
                return NULL;
        return p->value;
}

static void
check_from_platform(struct lint *l, const struct build_df_instr *in, const char *name)
{
        const struct build_df_flag *p = build_df_flag(in, "platform");
        _cleanup_(oci_platform_freep) struct oci_platform *plat = NULL;
        struct err *e = NULL;

        if (p == NULL || p->value == NULL)
                return;
        if (strcmp(p->value, "$TARGETPLATFORM") == 0 || strcmp(p->value, "${TARGETPLATFORM}") == 0) {
                lint_report(l, R_REDUNDANT_PLATFORM, in->start_line,
                            "Setting platform to predefined %s in FROM is redundant as this is the default behavior",
                            p->value);
                return;
        }
        if (strchr(p->value, '$'))
                return;
        /* An invalid platform fails the build anyway. */
        if (oci_platform_parse(p->value, &plat, &e) < 0) {
                err_clear(&e);
                return;
        }
        /* A stage named for its platform ("build-arm64") means it. */
        if (name && ((plat->os && strstr(name, plat->os)) || (plat->architecture && strstr(name, plat->architecture))))
                return;
        lint_report(l, R_CONST_PLATFORM, in->start_line, "FROM --platform flag should not use constant value \"%s\"",
                    p->value);
}

static void
check_default_arg(struct lint *l, const struct build_df_instr *in)
{
        _cleanup_free_ char *img = NULL;
        struct oci_ref *ref = NULL;
        struct err *e = NULL;
        bool bad;

        if (in->n_args < 1 || !strchr(in->args[0], '$'))
                return;
        img = lint_expand_defaults(l->f, in->args[0]);
        if (img == NULL)
                return;
        if (*img == '\0') {
                bad = true;
        } else if (strcasecmp(img, "scratch") == 0 || lint_stage_by_name(l, img) >= 0) {
                bad = false;
        } else {
                bad = oci_ref_parse(img, &ref, &e) < 0;
                err_clear(&e);
                oci_ref_free(ref);
        }
        if (bad)
                lint_report(l, R_DEFAULT_ARG_FROM, in->start_line,
                            "Default value for ARG %s results in empty or invalid base image name", in->args[0]);
}

void
lint_bk_from(struct lint *l, const struct build_df_instr *in, const char *name)
{
        if (name) {
                static const char *const reserved[] = {"context", "scratch", NULL};
                size_t len = strlen(name);

                if (!is_lower(name))
                        lint_report(l, R_STAGE_CASING, in->start_line, "Stage name '%s' should be lowercase", name);
                for (size_t i = 0; reserved[i]; i++)
                        if (strcasecmp(name, reserved[i]) == 0)
                                lint_report(l, R_RESERVED_STAGE, in->start_line,
                                            "Stage name should not use the same name as reserved stage \"%s\"",
                                            reserved[i]);
                check_description(l, in, &name, &len, 1);
        }
        /* The keyword's own casing is ConsistentInstructionCasing's. */
        if (in->n_args >= 3 && (is_lower(in->keyword) || is_upper(in->keyword)) &&
            (is_lower(in->keyword) ? !is_lower(in->args[1]) : !is_upper(in->args[1])))
                lint_report(l, R_FROM_AS_CASING, in->start_line, "'%s' and '%s' keywords' casing do not match",
                            in->args[1], in->keyword);
        check_from_platform(l, in, name);
        check_default_arg(l, in);
}

void
lint_bk_base(struct lint *l, const struct build_df_instr *in, const char *image, const char *platform,
             const struct build_df_lint_base *base)
{
        _cleanup_(oci_platform_freep) struct oci_platform *want = NULL, *have = NULL;
        _cleanup_free_ char *want_s = NULL, *have_s = NULL;
        struct err *e = NULL;

        if (platform == NULL || base->os == NULL || base->arch == NULL)
                return;
        if (oci_platform_parse(platform, &want, &e) < 0) {
                err_clear(&e);
                return;
        }
        have = oci_platform_new(base->os, base->arch, base->variant);
        /* "linux" alone names no architecture to compare. */
        if (want->os == NULL || want->architecture == NULL || have->os == NULL || have->architecture == NULL)
                return;
        if (strcmp(want->os, have->os) == 0 && strcmp(want->architecture, have->architecture) == 0)
                return;
        want_s = oci_platform_format(want);
        have_s = oci_platform_format(have);
        lint_report(l, R_BASE_PLATFORM, in->start_line,
                    "Base image %s was pulled with platform \"%s\", expected \"%s\" for current build", image, have_s,
                    want_s);
}

void
lint_bk_arg(struct lint *l, const struct build_df_instr *in)
{
        _cleanup_free_ size_t *lens = xcalloc(in->n_args + 1, sizeof(*lens));

        for (size_t i = 0; i < in->n_args; i++)
                lens[i] = strcspn(in->args[i], "=");
        check_description(l, in, (const char *const *) in->args, lens, in->n_args);
}

static void
check_workdir(struct lint *l, const struct build_df_instr *in)
{
        struct lint_stage *cur = lint_cur(l);
        _cleanup_free_ char *path = NULL;
        size_t n;

        if (in->n_args < 1)
                return;
        path = xstrdup(in->args[0]);
        n = strlen(path);
        if (n >= 2 && (path[0] == '"' || path[0] == '\'') && path[n - 1] == path[0]) {
                memmove(path, path + 1, n - 2);
                path[n - 2] = '\0';
        }
        /* A variable may hold an absolute path; "C:\x" is absolute on Windows. */
        if (!cur->workdir && path[0] != '/' && path[0] != '$' && path[0] != '\\' &&
            !(isalpha((unsigned char) path[0]) && path[1] == ':'))
                lint_report(l, R_WORKDIR_REL, in->start_line,
                            "Relative workdir \"%s\" can have unexpected results if the base image changes", path);
        cur->workdir = true;
}

static void
check_once(struct lint *l, const struct build_df_instr *in, int which)
{
        struct lint_stage *cur = lint_cur(l);

        /* The earlier one is the one that has no effect. */
        if (cur->once[which])
                lint_report(l, R_MULTIPLE, cur->once[which]->start_line,
                            "Multiple %s instructions should not be used in the same stage because only the last one "
                            "will be used",
                            build_df_kind_name(in->kind));
        cur->once[which] = in;
}

static void
check_legacy_kv(struct lint *l, const struct build_df_instr *in)
{
        for (size_t j = 0; j + 2 < in->n_args; j += 3)
                if (in->args[j + 2][0] == '\0') {
                        lint_report(l, R_LEGACY_KV, in->start_line,
                                    "\"%s key=value\" should be used instead of legacy \"%s key value\" format",
                                    build_df_kind_name(in->kind), build_df_kind_name(in->kind));
                        return;
                }
}

static void
check_expose(struct lint *l, const struct build_df_instr *in)
{
        for (size_t i = 0; i < in->n_args; i++) {
                const char *a = in->args[i], *slash;

                if (strchr(a, '$'))
                        continue;
                slash = strchr(a, '/');
                if (slash && !is_lower(slash + 1))
                        lint_report(l, R_EXPOSE_CASING, in->start_line,
                                    "Defined protocol '%s' in EXPOSE instruction should be lowercase", a);
                /* [ip:]hostPort:containerPort */
                if (strchr(a, ':'))
                        lint_report(l, R_EXPOSE_FORMAT, in->start_line,
                                    "EXPOSE instruction should not define an IP address or host-port mapping, found "
                                    "'%s'",
                                    a);
        }
}

/* CopyIgnoredFile: a context source the .dockerignore excludes, which the
 * build will not find.  As BuildKit, only without exception patterns (an
 * excluded directory may hold re-included files); the context root is
 * reported only when every name is excluded. */
static void
check_copy_ignored(struct lint *l, const struct build_df_instr *in)
{
        const struct build_ignore *ig = l->opts->ignore;

        if (ig == NULL || build_ignore_count(ig) == 0 || build_ignore_has_exceptions(ig) || build_df_flag(in, "from"))
                return;
        for (size_t i = 0; i + 1 < in->n_args; i++) {
                const char *src = in->args[i];
                _cleanup_free_ char *clean = NULL;
                const char *rel;
                bool hit;

                if (strncmp(src, "<<", 2) == 0 || strchr(src, '$') || strstr(src, "://") ||
                    strncmp(src, "git@", 4) == 0)
                        continue;
                if (!in->json && (src[0] == '"' || src[0] == '\''))
                        continue;
                clean = build_path_clean(src);
                rel = clean;
                while (*rel == '/')
                        rel++;
                if (*rel == '\0' || strcmp(rel, ".") == 0)
                        hit = build_ignore_excludes(ig, "\x01ibuild-probe");
                else
                        hit = build_ignore_excludes(ig, rel);
                if (hit)
                        lint_report(l, R_COPY_IGNORED, in->start_line,
                                    "Attempting to %s file \"%s\" that is excluded by .dockerignore",
                                    in->kind == BUILD_DF_ADD ? "Add" : "Copy", *rel ? rel : ".");
        }
}

void
lint_bk_instr(struct lint *l, const struct build_df_instr *in)
{
        switch (in->kind) {
        case BUILD_DF_WORKDIR:
                check_workdir(l, in);
                break;
        case BUILD_DF_CMD:
                check_once(l, in, ONCE_CMD);
                break;
        case BUILD_DF_ENTRYPOINT:
                check_once(l, in, ONCE_ENTRYPOINT);
                break;
        case BUILD_DF_HEALTHCHECK:
                check_once(l, in, ONCE_HEALTHCHECK);
                break;
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
                check_legacy_kv(l, in);
                break;
        case BUILD_DF_EXPOSE:
                check_expose(l, in);
                break;
        case BUILD_DF_COPY:
        case BUILD_DF_ADD:
                check_copy_ignored(l, in);
                break;
        default:
                break;
        }
}

/* ConsistentInstructionCasing: every keyword from the first FROM on in the
 * casing most of them use (lower case only when strictly more are lower);
 * a mixed-case keyword ("From") is always reported. */
void
lint_bk_file(struct lint *l)
{
        const struct build_df_file *f = l->f;
        size_t first = 0, lower = 0, upper = 0;

        while (first < f->n_instrs && f->instrs[first].kind != BUILD_DF_FROM)
                first++;
        for (size_t i = first; i < f->n_instrs; i++) {
                const char *k = f->instrs[i].keyword;

                if (is_lower(k))
                        lower++;
                else if (is_upper(k))
                        upper++;
        }
        for (size_t i = first; i < f->n_instrs; i++) {
                const char *k = f->instrs[i].keyword;

                if (lower > upper ? !is_lower(k) : !is_upper(k))
                        lint_report(l, R_INSTR_CASING, f->instrs[i].start_line,
                                    "Command '%s' should match the case of the command majority (%s)", k,
                                    lower > upper ? "lowercase" : "uppercase");
        }
}
