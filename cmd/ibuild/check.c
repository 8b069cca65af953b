#include <stdio.h>

#include "cmd/ibuild/ibuild.h"

int
ibuild_check(int argc, char **argv)
{
        (void) argc;
        (void) argv;
        fputs("ibuild: not implemented yet\n", stderr);
        return 2;
}
