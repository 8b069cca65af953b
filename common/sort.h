/* qsort that accepts an empty (NULL, 0) array: qsort's base is declared
 * nonnull, so qsort(NULL, 0, ...) is undefined behaviour (UBSan reports it). */
#ifndef COMMON_SORT_H
#define COMMON_SORT_H

#include <stdlib.h>

static inline void
sort_array(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
        if (n > 1)
                qsort(base, n, size, cmp);
}

#endif
