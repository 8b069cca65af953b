/* Name sets for the lint checks: ARG/ENV names in insertion order, hashed
 * (lint-internal.h). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"

size_t
lint_name_hash(const char *name, size_t len, bool fold)
{
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) name[i];
                h ^= fold ? (unsigned char) tolower(c) : c;
                h *= 1099511628211ULL;
        }
        return (size_t) (h ^ (h >> 32));
}

/* The slot holding NAME, or the empty slot where it would go. */
static size_t *
set_slot(const struct strset *s, const char *name, size_t len)
{
        size_t mask = s->n_slots - 1, i = lint_name_hash(name, len, false) & mask;

        for (;; i = (i + 1) & mask) {
                const char *v;

                if (s->slots[i] == 0)
                        return &s->slots[i];
                v = s->v[s->slots[i] - 1];
                if (strncmp(v, name, len) == 0 && v[len] == '\0')
                        return &s->slots[i];
        }
}

bool
set_has(const struct strset *s, const char *name, size_t len)
{
        return s->n_slots && *set_slot(s, name, len) != 0;
}

void
set_add(struct strset *s, const char *name, size_t len)
{
        size_t *slot;

        if (set_has(s, name, len))
                return;
        if (2 * (s->n + 1) > s->n_slots) {
                size_t n_slots = s->n_slots ? s->n_slots * 2 : 16;

                free(s->slots);
                s->slots = xcalloc(n_slots, sizeof(*s->slots));
                s->n_slots = n_slots;
                for (size_t i = 0; i < s->n; i++)
                        *set_slot(s, s->v[i], strlen(s->v[i])) = i + 1;
        }
        if (s->n == s->alloc) {
                s->alloc = s->alloc ? s->alloc * 2 : 8;
                s->v = xrealloc(s->v, s->alloc * sizeof(*s->v));
        }
        s->v[s->n++] = xstrndup(name, len);
        slot = set_slot(s, name, len);
        *slot = s->n;
}

void
set_copy(struct strset *dst, const struct strset *src)
{
        for (size_t i = 0; i < src->n; i++)
                set_add(dst, src->v[i], strlen(src->v[i]));
}

void
set_free(struct strset *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        free(s->slots);
        memset(s, 0, sizeof(*s));
}
