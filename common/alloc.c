#include "common/cleanup.h"

#include <stdio.h>

static void
oom(void)
{
        fputs("fatal: out of memory\n", stderr);
        abort();
}

void *
xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *
xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *
xrealloc(void *p, size_t n)
{
        void *r = realloc(p, n ? n : 1);
        if (!r)
                oom();
        return r;
}

char *
xstrdup(const char *s)
{
        char *r = strdup(s);
        if (!r)
                oom();
        return r;
}

char *
xstrndup(const char *s, size_t n)
{
        char *r = strndup(s, n);
        if (!r)
                oom();
        return r;
}

char *
xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *r;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&r, fmt, ap);
        va_end(ap);
        if (n < 0)
                oom();
        return r;
}
