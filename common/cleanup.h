/* Cleanup attributes, ownership helpers and abort-on-OOM allocation.
 *
 *     _cleanup_free_ char *s = xstrdup(x);
 *     _cleanup_close_ int fd = open(...);
 *     *ret = steal_ptr(&s);
 *     return steal_fd(&fd);
 */
#ifndef COMMON_CLEANUP_H
#define COMMON_CLEANUP_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void
cleanup_freep(void *p)
{
        free(*(void **) p);
}

static inline void
cleanup_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

static inline void
cleanup_fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void
cleanup_closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

/* Wipe a NUL-terminated secret (password, token) before freeing it.
 * Accepts NULL. */
static inline void
free_secret(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static inline void
cleanup_free_secretp(char **p)
{
        free_secret(*p);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_closedir_ _cleanup_(cleanup_closedirp)
#define _cleanup_secret_ _cleanup_(cleanup_free_secretp)

/* Declare `_cleanup_(T_freep)` for a type whose destructor is T_free(T *). */
#define DEFINE_FREEP(type, func)                                                                   \
        static inline __attribute__((unused)) void func##p(type **p)                                                     \
        {                                                                                          \
                func(*p);                                                                          \
        }

static inline void *
steal_ptr_impl(void **p)
{
        void *r = *p;
        *p = NULL;
        return r;
}
/* (typed: passing a pointer instead of its address does not compile) */
#define steal_ptr(pp) ((__typeof__(*(pp))) steal_ptr_impl((void **) (pp)))

static inline int
steal_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

/* Small fixed allocations abort on out-of-memory; anything sized by input
 * must be checked against a cap in common/limits.h first. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
