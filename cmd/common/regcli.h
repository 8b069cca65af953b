/* Options shared by ipull and ipush: parsing, help text, progress output,
 * and opening the source/destination (store, oci:DIR[:NAME]). */
#ifndef CMD_COMMON_REGCLI_H
#define CMD_COMMON_REGCLI_H

#include <stdbool.h>

#include "registry/client/client.h"

struct regcli {
        const char *prog;
        struct reg_client_opts client;
        const char *store;         /* --store DIR or NULL (default store) */
        const char *output;        /* ipull --output */
        bool quiet;
        bool list_tags;
        bool inspect;
        bool raw;
        bool referrers;            /* ipull --inspect --referrers */
        const char *sign_key;         /* ipush --sign-key FILE */
        unsigned sign_as;             /* ipush --sign-as: REGCLI_SIGN_* bits (0: tag) */
        const char *verify_keys[16];  /* ipull --verify-key FILE (repeatable) */
        size_t n_verify_keys;
        int n_args;
        char **args;               /* positional arguments */
};

enum {
        REGCLI_SIGN_TAG = 1,
        REGCLI_SIGN_REFERRER = 2,
};

enum {
        REGCLI_PULL = 1,
        REGCLI_PUSH = 2,
};

/* Parse ARGV for program KIND (REGCLI_PULL or REGCLI_PUSH).  Returns 0 to
 * go on, or an exit code + 1 (so 1 means exit 0: --help/--version printed,
 * 3 means exit 2: usage error printed). */
int regcli_parse(int kind, int argc, char **argv, struct regcli *o);

/* The progress callback for reg_client_opts.log: lines on stderr. */
void regcli_log(const char *line, void *userdata);
/* The warning callback for reg_client_opts.warn: "PROG: warning: LINE" on
 * stderr, with -q too (USERDATA: the program name). */
void regcli_warn(const char *line, void *userdata);

#endif
