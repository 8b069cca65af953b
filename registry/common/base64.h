/* Base64 (RFC 4648 section 4) and base64url (section 5) for both sides of
 * the registry protocol: Basic credentials, config.json "auth" values, JWT
 * segments, x5c certificates. */
#ifndef REGISTRY_COMMON_BASE64_H
#define REGISTRY_COMMON_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Encode LEN bytes of DATA.  URL false: the standard alphabet with '='
 * padding; URL true: the URL-safe alphabet without padding (as JWTs use).
 * Returns a NUL-terminated string owned by the caller (aborts on OOM; LEN
 * must already be capped by the caller). */
char *reg_b64_encode(const void *data, size_t len, bool url);

/* Decode the first N bytes of S, accepting either alphabet and optional
 * '=' padding (only at the end, at most two; non-zero trailing bits are
 * tolerated).  Anything else (whitespace, stray characters, a dangling
 * single character) fails with EINVAL naming the offset.  *ret_data is
 * NUL-terminated (for convenience) and owned by the caller; *ret_len is the
 * decoded length. */
int reg_b64_decode(const char *s, size_t n, unsigned char **ret_data, size_t *ret_len, struct err **err);

#endif
