#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"

int
main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("ibuild %s\n", IBUILD_VERSION);
                return 0;
        }
        fputs("Usage: ibuild [OPTIONS] CONTEXT\n\nBuild an OCI image from a Dockerfile without a daemon or root.\n(not implemented yet)\n", argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return 2;
}
