/* Helpers shared by the four programs: error printing, version. */
#ifndef CMD_COMMON_CLI_H
#define CMD_COMMON_CLI_H

#include <stdbool.h>

#include "common/err.h"

#define IBUILD_VERSION "0.1.0"

/* Print "PROG: error: MESSAGE" for ERR to stderr. */
void cli_print_err(const char *prog, struct err **err);

/* Print "PROG: error: ..." from a format and return EXIT code 1. */
int cli_fail(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option ARGV[*I] as "--opt VALUE" or "--opt=VALUE" for NAME: returns the
 * value (advancing *I past a separate value), or NULL when ARGV[*I] is not
 * NAME or its value is missing (tell them apart with cli_is_opt). */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name);

/* True when A is NAME or starts with "NAME=". */
bool cli_is_opt(const char *a, const char *name);

#endif
