/* A growable, always NULL-terminated list of owned strings. */
#ifndef COMMON_STRV_H
#define COMMON_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
        char **v; /* NULL until the first push; then NULL-terminated */
        size_t n, cap;
};

/* Append S, taking ownership of it. */
void strv_push(struct strv *l, char *s);
/* True when an element equals S. */
bool strv_contains(const struct strv *l, const char *s);
/* Free every element and the array; L is empty again. */
void strv_clear(struct strv *l);
/* Hand the array to the caller (an empty list gives a valid empty array,
 * never NULL); L is empty again.  *ret_n (if not NULL) gets the count. */
char **strv_steal(struct strv *l, size_t *ret_n);
/* Free a NULL-terminated array of strings and the strings.  Accepts NULL. */
void strv_free(char **v);

#endif
