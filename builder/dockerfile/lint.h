/* Dockerfile lint (`ibuild --check`): image-security and hygiene checks over
 * the parser's tree, without building anything.
 *
 * Each check has a stable name in BuildKit's style; a check can be skipped
 * by the caller or by the file's `# check=skip=A,B` directive ("all" skips
 * every check), and `# check=error=true` (or opts->error) turns findings
 * into a failure.  Findings come out sorted by line. */
#ifndef BUILDER_DOCKERFILE_LINT_H
#define BUILDER_DOCKERFILE_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/dockerfile/parser.h"
#include "common/err.h"

struct build_df_lint_rule {
        const char *name;        /* "MaintainerDeprecated" */
        const char *description; /* one line */
};

struct build_df_finding {
        const char *rule; /* static: one of the rule names */
        int line;
        char *message;
};

struct build_df_lint_opts {
        const char *const *skip; /* rule names to skip (case-insensitive) or "all" */
        size_t n_skip;
        bool error; /* findings are errors (--check-error) */
};

struct build_df_lint {
        struct build_df_finding *findings;
        size_t n_findings;
        bool error; /* opts->error or `# check=error=true`: findings must fail the run */
};

/* Every check, in a fixed order; *ret_n gets the count. */
const struct build_df_lint_rule *build_df_lint_rules(size_t *ret_n);

/* Run every check not skipped over F.  OPTS may be NULL.  A name in
 * opts->skip that is no check is an error (EINVAL, naming it); unknown
 * names in the file's directive are ignored, as BuildKit does.  On success
 * *ret_lint is owned by the caller (build_df_lint_free). */
int build_df_lint_run(const struct build_df_file *f, const struct build_df_lint_opts *opts,
                      struct build_df_lint **ret_lint, struct err **err);

/* Free a result; NULL is a no-op. */
void build_df_lint_free(struct build_df_lint *l);

#endif
