/* Walk a build context with its .dockerignore and print the entry count and
 * the time taken (bench/context-walk.sh drives it). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "builder/dockerfile/dockerignore.h"

int
main(int argc, char **argv)
{
        struct build_ignore *ig = NULL;
        struct build_context *c = NULL;
        struct err *e = NULL;
        struct timespec a, b;

        if (argc != 2) {
                fputs("usage: context-walk CONTEXT\n", stderr);
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (build_ignore_load(argv[1], NULL, &ig, &e) < 0 || build_context_walk(argv[1], ig, &c, &e) < 0) {
                fprintf(stderr, "context-walk: %s\n", err_msg(&e));
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%zu entries, %zu directories read, %.1f ms\n", c->n, c->n_dirs_read,
               (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
        build_context_free(c);
        build_ignore_free(ig);
        err_clear(&e);
        return 0;
}
