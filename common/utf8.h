/* UTF-8 decoding shared by the Dockerfile expander and .dockerignore
 * matcher, and the sanitizer for text that must be valid UTF-8 (JSON
 * error bodies built with jansson). */
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

/* A valid UTF-8 copy of the NUL-terminated S, at most MAX bytes long (not
 * counting the NUL; SIZE_MAX for no cap): valid sequences pass through
 * unchanged, each byte utf8_next() rejects (truncated, bad continuation,
 * stray continuation, overlong, a surrogate, past U+10FFFF, 0xF8-0xFF)
 * becomes one '?'.  A valid sequence that would cross MAX is left out
 * whole, never cut.  Returns a new string the caller frees (aborts on
 * out-of-memory, like xmalloc).  Meant for quoting untrusted text in
 * JSON: jansson's json_string() refuses invalid UTF-8 outright. */
char *utf8_sanitize(const char *s, size_t max);

#endif
