#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

void
strv_push(struct strv *l, char *s)
{
        if (l->n + 2 > l->cap) {
                l->cap = l->cap ? l->cap * 2 : 8;
                l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
        }
        l->v[l->n++] = s;
        l->v[l->n] = NULL;
}

bool
strv_contains(const struct strv *l, const char *s)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->v[i], s) == 0)
                        return true;
        return false;
}

void
strv_clear(struct strv *l)
{
        strv_free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

char **
strv_steal(struct strv *l, size_t *ret_n)
{
        char **v = l->v ? l->v : xcalloc(1, sizeof(char *));

        if (ret_n)
                *ret_n = l->n;
        l->v = NULL;
        l->n = l->cap = 0;
        return v;
}

void
strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}
