/* What the server checks of a raw HTTP request before routing it: the
 * request target's percent-escapes and the message framing headers.  Pure
 * functions over strings (no I/O, no libmicrohttpd), so they are unit-tested
 * and fuzzed on their own; server.c applies them to each request.
 */
#ifndef REGISTRY_SERVER_REQUEST_H
#define REGISTRY_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Decode the percent-escapes of S in place (RFC 3986 2.1; '+' is left as
 * it is, as libmicrohttpd's own decoder does) and return the new length.
 * An escape that would decode to a control byte (%00-%1F, %7F) is left
 * encoded, so no NUL or newline ever enters a decoded path or query value
 * (an encoded NUL used to cut "v1%00x" to "v1"), and *RET_CONTROL is set
 * (it is never cleared).  A '%' not followed by two hex digits stays. */
size_t reg_target_unescape(char *s, bool *ret_control);

/* One request header as the server received it. */
struct reg_header_field {
        const char *name;
        const char *value;
};

/* HTTP statuses reg_framing_check answers. */
enum {
        REG_FRAMING_OK = 0,
        REG_FRAMING_BAD = 400,         /* ambiguous or malformed framing */
        REG_FRAMING_UNSUPPORTED = 501, /* a transfer coding we do not implement */
};

/* Check the framing headers of a request (RFC 9112 6.1-6.3) given all its
 * header fields H[0..N) in arrival order; HTTP10 for an HTTP/1.0 request.
 * Returns REG_FRAMING_OK, or the status to answer with ERR naming the
 * header; either way other than OK the connection must be closed after the
 * answer, since where this request ends is not known:
 *   - Transfer-Encoding together with Content-Length (request smuggling),
 *     Transfer-Encoding more than once, Transfer-Encoding in HTTP/1.0,
 *     two different Content-Lengths or one that is not a plain decimal
 *     number, or a
 *     header name that is not an RFC 9110 token ("Transfer-Encoding :"):
 *     400.
 *   - A Transfer-Encoding other than exactly "chunked" ("xchunked",
 *     "gzip, chunked"): 501. */
int reg_framing_check(const struct reg_header_field *h, size_t n, bool http10, struct err **err);

#endif
