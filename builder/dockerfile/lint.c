/* Dockerfile lint: the rule table, the walk over the file (stages, scopes,
 * the order checks run in), the `# check=` directive and the result.  The
 * checks themselves live by family: lint-image.c (ours), lint-buildkit.c,
 * lint-hadolint.c, lint-vars.c (variables); nothing here does I/O, what
 * needs the outside world comes in through build_df_lint_opts. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"
#include "common/sort.h"

#define BK(name, kebab, desc)                                                                                          \
        {                                                                                                              \
                name, desc, "https://docs.docker.com/go/dockerfile/rule/" kebab "/", BUILD_DF_LINT_BUILDKIT, false     \
        }
#define BK_EXP(name, kebab, desc)                                                                                      \
        {                                                                                                              \
                name, desc, "https://docs.docker.com/go/dockerfile/rule/" kebab "/", BUILD_DF_LINT_BUILDKIT, true      \
        }
#define HL(name, code, desc)                                                                                           \
        {                                                                                                              \
                name, desc " (hadolint " code ")", "https://github.com/hadolint/hadolint/wiki/" code,                  \
                    BUILD_DF_LINT_HADOLINT, false                                                                      \
        }
#define OURS(name, desc)                                                                                               \
        {                                                                                                              \
                name, desc, NULL, BUILD_DF_LINT_IBUILD, false                                                          \
        }

const struct build_df_lint_rule lint_rules[R_COUNT] = {
    [R_UNPINNED] = OURS("UnpinnedBaseImage", "FROM an image without a tag, or with \"latest\", and no digest"),
    [R_ROOT] = OURS("RunAsRoot", "the final stage sets no USER, or USER root/0: the container runs as root"),
    [R_ADD] = OURS("AddInsteadOfCopy", "ADD of local files or directories, where COPY would do"),
    [R_SECRETS] = BK("SecretsUsedInArgOrEnv", "secrets-used-in-arg-or-env",
                     "ARG/ENV with a secret-looking name: the value stays in the image config and history"),
    [R_APT_RECOMMENDS] =
        OURS("AptGetNoInstallRecommends", "apt-get install without --no-install-recommends (hadolint DL3015)"),
    [R_APT_LISTS] = OURS("AptGetListsNotCleaned",
                         "apt-get install without rm -rf /var/lib/apt/lists in the same RUN, in a stage of the final "
                         "image (hadolint DL3009)"),
    [R_MAINTAINER] =
        BK("MaintainerDeprecated", "maintainer-deprecated", "MAINTAINER is deprecated: use LABEL maintainer=..."),
    [R_JSONARGS] = BK("JSONArgsRecommended", "json-args-recommended",
                      "CMD/ENTRYPOINT in shell form: signals do not reach the program; use JSON form"),
    [R_DUPSTAGE] = BK("DuplicateStageName", "duplicate-stage-name", "two stages with the same name"),
    [R_UNDEFVAR] = BK("UndefinedVar", "undefined-var",
                      "a variable used where it is expanded but no ARG/ENV in scope (or the base image) defines it"),
    [R_PORT] = OURS("ExposePrivilegedPort", "EXPOSE of a port below 1024"),
    [R_EMPTYCONT] = BK("NoEmptyContinuation", "no-empty-continuation",
                       "an empty line inside a line continuation (BuildKit will reject it)"),
    [R_BADJSON] = OURS("JSONArgsInvalid",
                       "arguments that look like a JSON array but are not valid JSON: Docker runs them as shell form"),
    [R_STAGE_CASING] = BK("StageNameCasing", "stage-name-casing", "Stage names should be lowercase"),
    [R_FROM_AS_CASING] =
        BK("FromAsCasing", "from-as-casing", "The 'as' keyword should match the case of the 'from' keyword"),
    [R_INSTR_CASING] = BK("ConsistentInstructionCasing", "consistent-instruction-casing",
                          "All commands within the Dockerfile should use the same casing (either upper or lower)"),
    [R_RESERVED_STAGE] = BK("ReservedStageName", "reserved-stage-name",
                            "Reserved words (context, scratch) should not be used as stage names"),
    [R_UNDEF_ARG_FROM] = BK("UndefinedArgInFrom", "undefined-arg-in-from", "FROM command must use declared ARGs"),
    [R_WORKDIR_REL] = BK("WorkdirRelativePath", "workdir-relative-path",
                         "Relative workdir without an absolute workdir declared within the build can have unexpected "
                         "results if the base image changes"),
    [R_MULTIPLE] = BK("MultipleInstructionsDisallowed", "multiple-instructions-disallowed",
                      "Multiple CMD, ENTRYPOINT or HEALTHCHECK instructions should not be used in the same stage"),
    [R_LEGACY_KV] = BK("LegacyKeyValueFormat", "legacy-key-value-format",
                       "Legacy key/value format with whitespace separator should not be used"),
    [R_BASE_PLATFORM] = BK("InvalidBaseImagePlatform", "invalid-base-image-platform",
                           "Base image platform does not match expected target platform (checked only when the base "
                           "image is available locally)"),
    [R_REDUNDANT_PLATFORM] = BK("RedundantTargetPlatform", "redundant-target-platform",
                                "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
                                "default behavior"),
    [R_DEFAULT_ARG_FROM] = BK("InvalidDefaultArgInFrom", "invalid-default-arg-in-from",
                              "Default value for global ARG results in an empty or invalid base image name"),
    [R_CONST_PLATFORM] = BK("FromPlatformFlagConstDisallowed", "from-platform-flag-const-disallowed",
                            "FROM --platform flag should not use a constant value"),
    [R_COPY_IGNORED] = BK_EXP("CopyIgnoredFile", "copy-ignored-file",
                              "Attempting to Copy file that is excluded by .dockerignore (experimental)"),
    [R_DEF_DESCRIPTION] = BK_EXP("InvalidDefinitionDescription", "invalid-definition-description",
                                 "Comment for build stage or argument should follow the format: `# <arg/stage name> "
                                 "<description>` (experimental)"),
    [R_EXPOSE_CASING] =
        BK("ExposeProtoCasing", "expose-proto-casing", "Protocol in EXPOSE instruction should be lowercase"),
    [R_EXPOSE_FORMAT] = BK("ExposeInvalidFormat", "expose-invalid-format",
                           "IP address and host-port mapping should not be used in EXPOSE instruction"),
    [R_PIN_APT] = HL("AptGetInstallUnpinned", "DL3008", "apt-get install of a package without =<version>"),
    [R_PIN_APK] = HL("ApkAddUnpinned", "DL3018", "apk add of a package without =<version>"),
    [R_PIN_PIP] =
        HL("PipInstallUnpinned", "DL3013", "pip install of a package without ==<version> (or a requirements file)"),
    [R_PIN_NPM] = HL("NpmInstallUnpinned", "DL3016", "npm install of a package without @<version>"),
    [R_YES] = HL("InstallWithoutYes", "DL3014, DL3030, DL3038", "apt-get, yum or dnf install without -y"),
    [R_APK_CACHE] = HL("ApkAddWithoutNoCache", "DL3019", "apk add without --no-cache, in a stage of the final image"),
    [R_PIP_CACHE] = HL("PipInstallWithoutNoCacheDir", "DL3042",
                       "pip install without --no-cache-dir, in a stage of the final image"),
    [R_YUM_CLEAN] = HL("YumDnfCacheNotCleaned", "DL3032, DL3040",
                       "yum/dnf install without yum/dnf clean all in the same RUN, in a stage of the final image"),
    [R_CD] = HL("CdInsteadOfWorkdir", "DL3003", "cd in RUN: use WORKDIR to switch to a directory"),
    [R_SUDO] = HL("SudoInRun", "DL3004", "sudo in RUN"),
    [R_COPY_RELATIVE] =
        HL("CopyRelativeDestination", "DL3045", "COPY to a relative destination in a stage without WORKDIR"),
    [R_CONSECUTIVE_RUN] = HL("ConsecutiveRunInstructions", "DL3059",
                             "consecutive RUN instructions with the same flags and at most two commands each"),
};

const struct build_df_lint_rule *
build_df_lint_rules(size_t *ret_n)
{
        *ret_n = R_COUNT;
        return lint_rules;
}

const struct build_df_lint_rule *
build_df_lint_rule_find(const char *name)
{
        for (size_t r = 0; r < R_COUNT; r++)
                if (strcmp(lint_rules[r].name, name) == 0)
                        return &lint_rules[r];
        return NULL;
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

/* The most ENV names copied from parent stages into child stages. */
#define LINT_COPY_BUDGET (1u << 20)

static bool
rule_off(const struct lint *l, enum rule_id r)
{
        return l->skip[r] || (lint_rules[r].experimental && !l->experimental[r]);
}

static void
add_finding(struct lint *l, enum rule_id r, int line, char *msg)
{
        struct build_df_finding *fd;

        if (l->out->n_findings == l->alloc) {
                l->alloc = l->alloc ? l->alloc * 2 : 16;
                l->out->findings = xrealloc(l->out->findings, l->alloc * sizeof(*l->out->findings));
        }
        fd = &l->out->findings[l->out->n_findings++];
        fd->rule = lint_rules[r].name;
        fd->line = line;
        fd->message = msg;
}

void
lint_report(struct lint *l, enum rule_id r, int line, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        if (rule_off(l, r))
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        add_finding(l, r, line, msg);
}

void
lint_report_final(struct lint *l, enum rule_id r, int line, const char *fmt, ...)
{
        struct lint_pending *p;
        va_list ap;
        char *msg;

        if (rule_off(l, r) || l->n_stages == 0)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (l->n_pending == l->a_pending) {
                l->a_pending = l->a_pending ? l->a_pending * 2 : 8;
                l->pending = xrealloc(l->pending, l->a_pending * sizeof(*l->pending));
        }
        p = &l->pending[l->n_pending++];
        p->rule = r;
        p->stage = (int) l->n_stages - 1;
        p->line = line;
        p->message = msg;
}

/* Keep the pending findings of the final image's stages: the last one and
 * those it builds on. */
static void
flush_pending(struct lint *l)
{
        _cleanup_free_ bool *final = xcalloc(l->n_stages + 1, sizeof(*final));

        for (int s = (int) l->n_stages - 1; s >= 0; s = l->stages[s].parent)
                final[s] = true;
        for (size_t i = 0; i < l->n_pending; i++) {
                if (final[l->pending[i].stage])
                        add_finding(l, l->pending[i].rule, l->pending[i].line, l->pending[i].message);
                else
                        free(l->pending[i].message);
        }
        free(l->pending);
        l->pending = NULL;
        l->n_pending = 0;
}

/* ---- stages by name ---------------------------------------------------- */

/* The slot for stage NAME (case-insensitive), or the empty slot where it
 * would go. */
static size_t *
stage_slot(const struct lint *l, const char *name)
{
        size_t mask = l->n_stage_slots - 1, i = lint_name_hash(name, strlen(name), true) & mask;

        for (;; i = (i + 1) & mask) {
                if (l->stage_slots[i] == 0 || strcasecmp(l->stages[l->stage_slots[i] - 1].name, name) == 0)
                        return &l->stage_slots[i];
        }
}

int
lint_stage_by_name(const struct lint *l, const char *name)
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

/* ---- the walk ---------------------------------------------------------- */

/* What the caller knows of stage CUR's base image IN->args[0]. */
static void
load_base(struct lint *l, struct lint_stage *cur, const struct build_df_instr *in)
{
        const struct build_df_flag *pf = build_df_flag(in, "platform");
        _cleanup_free_ char *image = NULL;
        struct build_df_lint_base b = {0};
        const char *platform;

        if (l->opts->base == NULL || cur->parent >= 0 || cur->scratch || in->n_args < 1)
                return;
        image = lint_resolve_meta(l->f, in->args[0]);
        if (image == NULL || *image == '\0')
                return;
        /* --platform=$BUILDPLATFORM: the build platform, not the target. */
        platform = pf ? lint_from_platform(in) : l->opts->platform;
        if (l->opts->base(l->opts->base_data, image, platform, &b) != 1)
                return;
        for (size_t i = 0; i < b.n_env; i++) {
                size_t len = strcspn(b.env[i], "=");

                set_add(&l->scope, b.env[i], len);
                set_add(&cur->env, b.env[i], len);
        }
        if (b.workdir && *b.workdir)
                cur->workdir = true;
        if (b.user && *b.user)
                cur->base_user = xstrdup(b.user);
        if (pf == NULL || lint_from_platform(in))
                lint_bk_base(l, in, image, platform, &b);
}

static void
begin_stage(struct lint *l, const struct build_df_instr *in)
{
        const char *name = in->n_args == 3 && strcasecmp(in->args[1], "as") == 0 ? in->args[2] : NULL;
        struct lint_stage *st;

        lint_check_vars(l, &l->meta, LINT_VARS_FROM, in->n_args ? in->args[0] : "", in->start_line);
        lint_check_flags_vars(l, in, &l->meta, LINT_VARS_FROM);
        lint_check_unpinned(l, in);
        lint_bk_from(l, in, name);
        if (name && lint_stage_by_name(l, name) >= 0)
                lint_report(l, R_DUPSTAGE, in->start_line, "duplicate stage name %s: stage names must be unique", name);
        if (l->n_stages == l->a_stages) {
                l->a_stages = l->a_stages ? l->a_stages * 2 : 8;
                l->stages = xrealloc(l->stages, l->a_stages * sizeof(*l->stages));
        }
        st = &l->stages[l->n_stages];
        memset(st, 0, sizeof(*st));
        st->from = in;
        st->parent = in->n_args ? lint_stage_by_name(l, in->args[0]) : -1;
        if (st->parent < 0 && in->n_args && strspn(in->args[0], "0123456789") == strlen(in->args[0]) &&
            (size_t) atoi(in->args[0]) < l->n_stages)
                st->parent = atoi(in->args[0]);
        if (name) {
                st->name = xstrdup(name);
                for (size_t j = 0; st->name[j]; j++)
                        st->name[j] = (char) tolower((unsigned char) st->name[j]);
        }
        if (st->parent >= 0) {
                st->scratch = l->stages[st->parent].scratch;
                st->workdir = l->stages[st->parent].workdir;
        } else if (in->n_args) {
                _cleanup_free_ char *img = lint_resolve_meta(l->f, in->args[0]);
                st->scratch = img && strcasecmp(img, "scratch") == 0;
        }
        stage_index(l, l->n_stages);
        l->n_stages++;
        set_free(&l->scope);
        /* Each stage starts from a copy of its parent's ENV names: a long
         * chain of stages under many names would copy quadratically, so
         * past a budget such stages' variables are no longer tracked
         * (UndefinedVar stays quiet there) instead. */
        l->untracked = false;
        if (st->parent >= 0) {
                size_t n = l->stages[st->parent].env.n;

                if (l->stages[st->parent].untracked || l->copied + 2 * n > LINT_COPY_BUDGET) {
                        st->untracked = l->untracked = true;
                } else {
                        set_copy(&l->scope, &l->stages[st->parent].env);
                        set_copy(&st->env, &l->scope);
                        l->copied += 2 * n;
                }
        }
        load_base(l, st, in);
}

static void
check_env(struct lint *l, const struct build_df_instr *in)
{
        struct lint_stage *cur = lint_cur(l);

        /* Every value is expanded with the environment from before the
         * instruction, then the keys are defined. */
        for (size_t j = 0; j + 2 < in->n_args; j += 3)
                lint_check_vars(l, &l->scope, LINT_VARS_STAGE, in->args[j + 1], in->start_line);
        if (in->kind != BUILD_DF_ENV)
                return;
        for (size_t j = 0; j + 2 < in->n_args; j += 3) {
                lint_check_secret(l, in, in->args[j], strlen(in->args[j]));
                set_add(&l->scope, in->args[j], strlen(in->args[j]));
                set_add(&cur->env, in->args[j], strlen(in->args[j]));
        }
}

static void
check_run(struct lint *l, const struct build_df_instr *in)
{
        struct lint_cmds cmds;

        lint_cmds_of_run(in, &cmds);
        lint_check_apt(l, in, &cmds);
        lint_hl_run(l, in, &cmds);
        lint_cmds_free(&cmds);
}

static void
stage_instr(struct lint *l, const struct build_df_instr *in)
{
        struct lint_stage *cur = lint_cur(l);

        if (build_df_kind_expands(in->kind) && in->kind != BUILD_DF_ONBUILD && in->kind != BUILD_DF_ARG &&
            in->kind != BUILD_DF_ENV && in->kind != BUILD_DF_LABEL) {
                for (size_t j = 0; j < in->n_args; j++)
                        lint_check_vars(l, &l->scope, LINT_VARS_STAGE, in->args[j], in->start_line);
                lint_check_flags_vars(l, in, &l->scope, LINT_VARS_STAGE);
        }
        lint_hl_other(l, in);
        if (in->kind == BUILD_DF_CMD || in->kind == BUILD_DF_ENTRYPOINT)
                cur->runs = true;
        if (lint_check_bad_json(l, in))
                return;
        lint_bk_instr(l, in);
        switch (in->kind) {
        case BUILD_DF_ARG:
                lint_bk_arg(l, in);
                lint_declare_arg(l, in, &l->scope, false);
                break;
        case BUILD_DF_ENV:
        case BUILD_DF_LABEL:
                check_env(l, in);
                break;
        case BUILD_DF_ADD:
                lint_check_add(l, in);
                break;
        case BUILD_DF_COPY:
                lint_hl_copy(l, in);
                break;
        case BUILD_DF_RUN:
                check_run(l, in);
                break;
        case BUILD_DF_MAINTAINER:
                lint_report(l, R_MAINTAINER, in->start_line,
                            "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=\"...\"");
                break;
        case BUILD_DF_CMD:
        case BUILD_DF_ENTRYPOINT:
                if (!in->json && in->n_args > 0)
                        lint_report(l, R_JSONARGS, in->start_line,
                                    "%s in shell form runs under /bin/sh -c and does not receive signals: use %s "
                                    "[\"prog\", \"arg\"]",
                                    build_df_kind_name(in->kind), build_df_kind_name(in->kind));
                break;
        case BUILD_DF_EXPOSE:
                lint_check_expose_port(l, in);
                break;
        case BUILD_DF_USER:
                cur->user = in;
                break;
        default:
                break;
        }
}

static void
walk(struct lint *l)
{
        const struct build_df_file *f = l->f;

        for (size_t i = 0; i < f->n_instrs; i++) {
                const struct build_df_instr *in = &f->instrs[i];

                if (in->kind == BUILD_DF_FROM) {
                        begin_stage(l, in);
                } else if (l->n_stages == 0) {
                        if (in->kind == BUILD_DF_ARG) {
                                lint_bk_arg(l, in);
                                lint_declare_arg(l, in, &l->meta, true);
                        }
                } else {
                        stage_instr(l, in);
                }
        }
        for (size_t i = 0; i < f->n_warnings; i++)
                lint_report(l, R_EMPTYCONT, f->warning_lines[i],
                            "empty continuation line: remove it, or end it with the escape character too");
        if (l->n_stages == 0 && f->n_instrs > 0)
                return;
        lint_check_final_user(l);
        lint_bk_file(l);
        flush_pending(l);
}

/* ---- options and the directive ----------------------------------------- */

/* Set FLAGS[r] for NAME ("all": every rule); false when NAME is no rule. */
static bool
mark_rule(bool *flags, const char *name)
{
        bool all = strcasecmp(name, "all") == 0, found = all;

        for (size_t r = 0; r < R_COUNT; r++)
                if (all || strcasecmp(name, lint_rules[r].name) == 0) {
                        flags[r] = true;
                        found = true;
                }
        return found;
}

/* `# check=skip=A,B;error=true;experimental=C` */
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
                for (char *e = eq; e > key && isspace((unsigned char) e[-1]);)
                        *--e = '\0';
                val = eq + 1;
                while (isspace((unsigned char) *val))
                        val++;
                if (strcasecmp(key, "skip") == 0 || strcasecmp(key, "experimental") == 0) {
                        bool *flags = strcasecmp(key, "skip") == 0 ? l->skip : l->experimental;
                        char *name, *save2 = NULL;

                        for (name = strtok_r(val, ",", &save2); name; name = strtok_r(NULL, ",", &save2)) {
                                size_t e = strlen(name);
                                while (*name == ' ')
                                        name++, e--;
                                while (e > 0 && isspace((unsigned char) name[e - 1]))
                                        name[--e] = '\0';
                                mark_rule(flags, name);
                        }
                } else if (strcasecmp(key, "error") == 0) {
                        if (strncasecmp(val, "true", 4) == 0)
                                l->out->error = true;
                }
        }
}

static void
split_lines(struct lint *l)
{
        const char *s = l->opts->source, *end;
        size_t n = 0, a = 0;

        if (s == NULL)
                return;
        end = s + l->opts->source_len;
        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t len = nl ? (size_t) (nl - s) : (size_t) (end - s);

                if (n == a) {
                        a = a ? a * 2 : 64;
                        l->lines = xrealloc(l->lines, a * sizeof(*l->lines));
                        l->line_lens = xrealloc(l->line_lens, a * sizeof(*l->line_lens));
                }
                l->lines[n] = s;
                l->line_lens[n++] = len;
                s += len + 1;
        }
        l->n_lines = n;
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
        static const struct build_df_lint_opts none = {0};
        _cleanup_(build_df_lint_freep) struct build_df_lint *out = xcalloc(1, sizeof(*out));
        struct lint l = {.f = f, .out = out, .opts = opts ? opts : &none};
        size_t i;

        out->error = l.opts->error;
        for (i = 0; i < l.opts->n_skip; i++)
                if (!mark_rule(l.skip, l.opts->skip[i]))
                        return err_set(err, EINVAL, "unknown check %s (ibuild --check --help lists them)",
                                       l.opts->skip[i]);
        for (i = 0; i < l.opts->n_experimental; i++)
                if (!mark_rule(l.experimental, l.opts->experimental[i]))
                        return err_set(err, EINVAL, "unknown check %s (ibuild --check --help lists them)",
                                       l.opts->experimental[i]);
        if (f->check)
                apply_directive(&l, f->check);
        split_lines(&l);
        walk(&l);
        for (i = 0; i < l.n_stages; i++) {
                free(l.stages[i].name);
                free(l.stages[i].base_user);
                set_free(&l.stages[i].env);
        }
        for (i = 0; i < l.n_pending; i++)
                free(l.pending[i].message);
        free(l.pending);
        free(l.stages);
        free(l.stage_slots);
        free(l.lines);
        free(l.line_lens);
        set_free(&l.meta);
        set_free(&l.scope);
        if (out->n_findings > 1)
                sort_array(out->findings, out->n_findings, sizeof(*out->findings), cmp_finding);
        *ret_lint = steal_ptr(&out);
        return 0;
}
