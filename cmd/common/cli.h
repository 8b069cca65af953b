/* Helpers shared by the four programs: error printing, version. */
#ifndef CMD_COMMON_CLI_H
#define CMD_COMMON_CLI_H

#include "common/err.h"

#define IBUILD_VERSION "0.1.0"

/* Print "PROG: error: MESSAGE" for ERR to stderr. */
void cli_print_err(const char *prog, struct err **err);

/* Print "PROG: error: ..." from a format and return EXIT code 1. */
int cli_fail(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
