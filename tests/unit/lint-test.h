/* Helpers for the lint tests (builder_lint*.c): lint a Dockerfile text and
 * expect a rule at a line, or nowhere. */
#ifndef TESTS_UNIT_LINT_TEST_H
#define TESTS_UNIT_LINT_TEST_H

#include <stdio.h>

#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser.h"
#include "tests/unit/test.h"

/* A final stage that satisfies RunAsRoot, appended where a test does not
 * care about it. */
#define OK_TAIL "USER app\n"

/* Lint TEXT with OPTS (NULL: defaults); opts->source is filled in with
 * TEXT when the caller left it NULL. */
static inline struct build_df_lint *
lint_opts(const char *text, const struct build_df_lint_opts *opts)
{
        struct build_df_file *f = NULL;
        struct build_df_lint *l = NULL;
        struct build_df_lint_opts o = {0};
        _cleanup_err_ struct err *err = NULL;

        if (opts)
                o = *opts;
        if (o.source == NULL) {
                o.source = text;
                o.source_len = strlen(text);
        }
        if (build_df_parse(text, strlen(text), "Dockerfile", &f, &err) < 0)
                fail_msg("parse failed: %s", err_msg(&err));
        if (build_df_lint_run(f, &o, &l, &err) < 0)
                fail_msg("lint failed: %s", err_msg(&err));
        build_df_file_free(f);
        return l;
}

static inline size_t
count(const struct build_df_lint *l, const char *rule, int line)
{
        size_t i, n = 0;
        for (i = 0; i < l->n_findings; i++)
                if (strcmp(l->findings[i].rule, rule) == 0 && (line == 0 || l->findings[i].line == line))
                        n++;
        return n;
}

/* The message of the first finding of RULE (borrowed from L), or NULL. */
static inline const char *
message_of(const struct build_df_lint *l, const char *rule)
{
        for (size_t i = 0; i < l->n_findings; i++)
                if (strcmp(l->findings[i].rule, rule) == 0)
                        return l->findings[i].message;
        return NULL;
}

static inline void
dump_findings(const struct build_df_lint *l)
{
        for (size_t i = 0; i < l->n_findings; i++)
                fprintf(stderr, "  %d: %s: %s\n", l->findings[i].line, l->findings[i].rule, l->findings[i].message);
}

/* TEXT must yield RULE at LINE (exactly once there). */
static inline void
expect_opts(const char *text, const struct build_df_lint_opts *opts, const char *rule, int line)
{
        struct build_df_lint *l = lint_opts(text, opts);

        if (count(l, rule, line) != 1) {
                dump_findings(l);
                build_df_lint_free(l);
                fail_msg("expected one %s at line %d in:\n%s", rule, line, text);
        }
        build_df_lint_free(l);
}

/* TEXT must not yield RULE anywhere. */
static inline void
expect_none_opts(const char *text, const struct build_df_lint_opts *opts, const char *rule)
{
        struct build_df_lint *l = lint_opts(text, opts);

        if (count(l, rule, 0) != 0) {
                dump_findings(l);
                build_df_lint_free(l);
                fail_msg("unexpected %s in:\n%s", rule, text);
        }
        build_df_lint_free(l);
}

static inline void
expect(const char *text, const char *rule, int line)
{
        expect_opts(text, NULL, rule, line);
}

static inline void
expect_none(const char *text, const char *rule)
{
        expect_none_opts(text, NULL, rule);
}

#endif
