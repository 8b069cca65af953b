/* UTF-8 decoding shared by the Dockerfile expander and .dockerignore matcher. */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length and code point of the UTF-8 sequence at S (N > 0 bytes left).  An
 * invalid sequence (truncated, bad continuation, overlong, a surrogate,
 * past U+10FFFF) counts as one byte decoding to U+FFFD, so input is never
 * lost or over-read.  A return of 1 with U+FFFD thus means invalid (the
 * real U+FFFD is 3 bytes). */
size_t utf8_next(const char *s, size_t n, uint32_t *ret_cp);

#endif
