/* Pieces of `ibuild --check` (check.c): reading base image configs that
 * are available locally (check-base.c) and printing findings
 * (check-output.c). */
#ifndef CMD_IBUILD_CHECK_H
#define CMD_IBUILD_CHECK_H

#include "builder/dockerfile/lint.h"

struct check_bases;

/* A resolver of base images for the lint's base callback: `oci:DIR[:TAG]`
 * layouts and images already in the local store at STORE_PATH (NULL: the
 * default path).  Nothing is pulled, and a store that does not exist is
 * not created.  Free with check_bases_free. */
struct check_bases *check_bases_new(const char *store_path);
void check_bases_free(struct check_bases *b);

/* build_df_lint_base_fn over a struct check_bases: 1 with the config of
 * IMAGE for PLATFORM (NULL: this machine's) when it can be read locally,
 * 0 otherwise (any error counts as "unknown"). */
int check_base_lookup(void *data, const char *image, const char *platform, struct build_df_lint_base *ret);

/* Print L's findings for FILE: "FILE:LINE: NAME: message" lines. */
void check_print_text(const char *file, const struct build_df_lint *l);
/* A JSON array of {rule, line, file, message, severity[, url]}. */
void check_print_json(const char *file, const struct build_df_lint *l);
/* A SARIF 2.1.0 log: one run, every rule in tool.driver.rules, one result
 * per finding. */
void check_print_sarif(const char *file, const struct build_df_lint *l);

#endif
