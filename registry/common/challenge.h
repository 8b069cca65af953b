/* WWW-Authenticate challenges (RFC 7235 section 4.1, RFC 9110 section 11.6.1):
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 *
 * Several challenges may share one header, separated by commas, so a comma
 * followed by "token SP" that is not "token =" starts the next challenge.
 * The parser is for hostile input: bounded by LIMIT_HTTP_HEADER, every
 * failure names the byte offset.
 */
#ifndef REGISTRY_COMMON_CHALLENGE_H
#define REGISTRY_COMMON_CHALLENGE_H

#include <stddef.h>

#include "common/err.h"

struct reg_challenge_param {
        char *name;  /* as sent; compare case-insensitively */
        char *value; /* unquoted, escapes removed */
};

struct reg_challenge {
        char *scheme;  /* as sent ("Bearer"); compare case-insensitively */
        char *token68; /* the token68 form, or NULL */
        size_t n_params;
        struct reg_challenge_param *params;
};

struct reg_challenges {
        size_t n;
        struct reg_challenge *v;
};

/* Parse HEADER (one or more challenges).  *ret owned by the caller (free with
 * reg_challenges_free).  A malformed header fails with EINVAL: "offset N:
 * what was expected". */
int reg_challenges_parse(const char *header, struct reg_challenges **ret, struct err **err);
void reg_challenges_free(struct reg_challenges *c);

/* The first challenge whose scheme equals SCHEME (case-insensitive), or NULL. */
const struct reg_challenge *reg_challenges_find(const struct reg_challenges *c, const char *scheme);

/* The value of parameter NAME (case-insensitive) of C, or NULL. */
const char *reg_challenge_param(const struct reg_challenge *c, const char *name);

/* Format `SCHEME name1="value1",name2="value2"` into BUF (LEN bytes, NUL
 * included) from PARAMS = {name1, value1, name2, value2, ..., NULL}; values
 * are quoted with '"' and '\' escaped.  A NULL value skips that pair.
 * ERANGE when it does not fit, EINVAL for a control character in a value or
 * a name that is not a token. */
int reg_challenge_format(char *buf, size_t len, const char *scheme, const char *const *params, struct err **err);

#endif
