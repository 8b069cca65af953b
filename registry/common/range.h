/* Strict parsing of the numbers and byte ranges in registry HTTP headers,
 * for both sides: the server reads an upload PATCH's Content-Range, the
 * client reads an upload session's Range ("0-<end>", distribution-spec
 * end-5/end-13 responses) and a resumed blob GET's Content-Range
 * ("bytes <start>-<end>/<total>", RFC 9110 section 14.4).
 *
 * A peer's header is untrusted: a sign, a blank inside a number, a value
 * past UINT64_MAX or a range whose length does not fit in a uint64 is an
 * error, never a wrapped or partial number (sscanf("%lu") takes "-1" and
 * "5abc"). */
#ifndef REGISTRY_COMMON_RANGE_H
#define REGISTRY_COMMON_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Parse the LEN characters at S as a non-negative decimal: ASCII digits
 * only (no sign, no blanks), at most 20 of them, fitting in a uint64.
 * Returns 0 and sets *ret, -EINVAL when empty or not all digits, -ERANGE
 * when too long or past UINT64_MAX; no error message (callers name the
 * header). */
int reg_parse_u64(const char *s, size_t len, uint64_t *ret);

/* "No complete length": a Content-Range without a total or with the
 * total "*". */
#define REG_RANGE_TOTAL_UNKNOWN UINT64_MAX

/* Parse a byte range header VALUE "<start>-<end>[/<total>]" (both ends
 * inclusive), with optional blanks around it and an optional "bytes " or
 * "bytes=" unit prefix.  TOTAL is digits or "*".  Fails with
 * ERR_RANGE_INVALID, the message quoting VALUE (cut at 64 characters),
 * when VALUE is NULL or malformed, when end < start, when end is
 * UINT64_MAX (the length end - start + 1 would wrap), or when a total is
 * given and end >= total (RFC 9110 14.4: such a Content-Range is invalid).
 * *ret_start, *ret_end and *ret_total (REG_RANGE_TOTAL_UNKNOWN when
 * absent or "*"; RET_TOTAL may be NULL) are written only on success. */
int reg_byte_range_parse(const char *value, uint64_t *ret_start, uint64_t *ret_end, uint64_t *ret_total,
                         struct err **err);

/* An upload session's Range VALUE "0-<end>" (what the client reads after
 * POST, PATCH and a status GET): *ret_next is end + 1, the offset of the
 * next chunk.  The range must start at 0 (a session holds one prefix of
 * the blob).  Fails with ERR_RANGE_INVALID like reg_byte_range_parse(). */
int reg_upload_range_parse(const char *value, uint64_t *ret_next, struct err **err);

#endif
