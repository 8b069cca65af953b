/* Helpers shared by the four programs: error printing, version. */
#ifndef CMD_COMMON_CLI_H
#define CMD_COMMON_CLI_H

#include <stdbool.h>

#include "common/err.h"
#include "oci/store.h"

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

/* Hold STORE (oci_store_hold) shared for a build, pull or push, or
 * EXCLUSIVE for a removal.  When another process's hold is in the way: with
 * NO_WAIT fail at once (EWOULDBLOCK, the message names the store); else
 * print one line to stderr saying what it waits for, and wait. */
int cli_store_hold(const char *prog, struct oci_store *store, bool exclusive, bool no_wait, struct err **err);

#endif
