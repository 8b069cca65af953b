/* Dockerfile lint (`ibuild --check`): image-security and hygiene checks,
 * BuildKit's build checks (same names and meaning) and hadolint's most
 * useful rules, over the parser's tree, without building anything.
 *
 * Each check has a stable name in BuildKit's style; a check can be skipped
 * by the caller or by the file's `# check=skip=A,B` directive ("all" skips
 * every check), and `# check=error=true` (or opts->error) turns findings
 * into a failure.  Checks BuildKit marks experimental run only when asked
 * for (`# check=experimental=A,B` or "all", or opts->experimental).
 * Findings come out sorted by line.
 *
 * The linter does no I/O.  What it would need from outside the Dockerfile
 * comes in through the options: the source text (for comments), the
 * context's .dockerignore, and a callback for base image configs. */
#ifndef BUILDER_DOCKERFILE_LINT_H
#define BUILDER_DOCKERFILE_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/dockerfile/dockerignore.h"
#include "builder/dockerfile/parser.h"
#include "common/err.h"

/* Where a rule comes from. */
enum build_df_lint_origin {
        BUILD_DF_LINT_IBUILD,   /* ours: image security and hygiene */
        BUILD_DF_LINT_BUILDKIT, /* BuildKit's build checks, same name */
        BUILD_DF_LINT_HADOLINT, /* hadolint's DLxxxx rules, under a CamelCase name */
};

struct build_df_lint_rule {
        const char *name;        /* "MaintainerDeprecated" */
        const char *description; /* one line; hadolint rules name their DLxxxx code */
        const char *url;         /* documentation, or NULL */
        enum build_df_lint_origin origin;
        bool experimental; /* off unless asked for (BuildKit's experimental checks) */
};

struct build_df_finding {
        const char *rule; /* static: one of the rule names */
        int line;
        char *message;
};

/* What the caller knows of a base image, from its config.  Strings are
 * borrowed: they must stay valid until build_df_lint_run returns. */
struct build_df_lint_base {
        const char *const *env; /* config.Env, "K=V" each */
        size_t n_env;
        const char *workdir; /* config.WorkingDir, NULL or "" when unset */
        const char *user;    /* config.User, NULL or "" when unset */
        const char *os;      /* the config's platform; NULL when unknown */
        const char *arch;
        const char *variant; /* NULL when none */
};

/* Look up base image IMAGE (the FROM name with global ARG defaults applied)
 * for PLATFORM (the FROM's constant --platform, else opts->platform; may be
 * NULL).  Return 1 with *ret filled when its config is known, 0 when it is
 * not (the checks then assume nothing about it).  Must not fail the run. */
typedef int (*build_df_lint_base_fn)(void *data, const char *image, const char *platform,
                                     struct build_df_lint_base *ret);

struct build_df_lint_opts {
        const char *const *skip; /* rule names to skip (case-insensitive) or "all" */
        size_t n_skip;
        const char *const *experimental; /* experimental rules to run, or "all" */
        size_t n_experimental;
        bool error; /* findings are errors (--check-error) */
        /* The Dockerfile's bytes, for the checks that read comments
         * (InvalidDefinitionDescription); NULL: those checks do nothing. */
        const char *source;
        size_t source_len;
        /* The context's .dockerignore (CopyIgnoredFile); NULL: none. */
        const struct build_ignore *ignore;
        /* The target platform ("linux/amd64") InvalidBaseImagePlatform
         * compares base images with; NULL: only a constant FROM --platform
         * is compared. */
        const char *platform;
        /* Optional base image configs: their ENV defines variables for
         * UndefinedVar, their WorkingDir counts as a WORKDIR, their User
         * as a USER, their platform is checked by InvalidBaseImagePlatform. */
        build_df_lint_base_fn base;
        void *base_data;
};

struct build_df_lint {
        struct build_df_finding *findings;
        size_t n_findings;
        bool error; /* opts->error or `# check=error=true`: findings must fail the run */
};

/* Every check, in a fixed order; *ret_n gets the count. */
const struct build_df_lint_rule *build_df_lint_rules(size_t *ret_n);

/* The rule named NAME (exact), or NULL. */
const struct build_df_lint_rule *build_df_lint_rule_find(const char *name);

/* Run every check not skipped over F.  OPTS may be NULL.  A name in
 * opts->skip or opts->experimental that is no check is an error (EINVAL,
 * naming it); unknown names in the file's directive are ignored, as
 * BuildKit does.  On success *ret_lint is owned by the caller
 * (build_df_lint_free). */
int build_df_lint_run(const struct build_df_file *f, const struct build_df_lint_opts *opts,
                      struct build_df_lint **ret_lint, struct err **err);

/* Free a result; NULL is a no-op. */
void build_df_lint_free(struct build_df_lint *l);

#endif
