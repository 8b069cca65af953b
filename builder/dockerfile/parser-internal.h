/* Helpers shared by the Dockerfile parser's files (parser.c, json.c, dump.c,
 * validate.c, lint.c, shell.c).  Not part of the public API. */
#ifndef BUILDER_DOCKERFILE_PARSER_INTERNAL_H
#define BUILDER_DOCKERFILE_PARSER_INTERNAL_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/dockerfile/parser.h"

/* A growable byte buffer, always NUL-terminated once anything was added.
 * Growth aborts on out-of-memory (xrealloc); callers cap sizes by input. */
struct df_buf {
        char *s;
        size_t len;
        size_t alloc;
};

void df_buf_add(struct df_buf *b, const void *p, size_t n);
void df_buf_addc(struct df_buf *b, char c);
void df_buf_adds(struct df_buf *b, const char *s);
void df_buf_addf(struct df_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand out the string (never NULL: "" when empty); the buffer is reset. */
char *df_buf_steal(struct df_buf *b);
void df_buf_free(struct df_buf *b);

/* Go's unicode.IsSpace for code point R: '\t' '\n' '\v' '\f' '\r' ' '
 * U+0085 U+00A0 and the Z-category spaces. */
bool df_is_uspace(uint32_t r);

/* The C.UTF-8 locale, made once (thread-safe), for classifying non-ASCII
 * characters; (locale_t) 0 when the system lacks it. */
locale_t df_utf8_locale(void);

/* The byte length of the Unicode white space (Go's unicode.IsSpace) that
 * starts at P (before END), or 0 when P starts no white space. */
size_t df_uspace_len(const char *p, const char *end);

/* Append S (LEN bytes) to B quoted as Go's strconv.Quote does. */
void df_quote_go(struct df_buf *b, const char *s, size_t len);

/* Decode a JSON array of strings (Go's encoding/json rules: the whole text
 * is one value plus white space).  Returns 1 with the elements in
 * *ret_args, *ret_lens and *ret_n on success, 0 when TEXT is not valid JSON (the
 * caller falls back to shell form), -1 when it is a valid JSON array with a
 * non-string element (an error, as in BuildKit). */
int df_json_string_array(const char *text, size_t len, char ***ret_args, size_t **ret_lens, size_t *ret_n);

/* Levenshtein distance between A and B, case-insensitive (ASCII). */
size_t df_levenshtein(const char *a, const char *b);

#endif
