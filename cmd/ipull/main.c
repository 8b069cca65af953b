#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"

int
main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("ipull %s\n", IBUILD_VERSION);
                return 0;
        }
        fputs("Usage: ipull [OPTIONS] SRC\n\nPull an image from a registry into the local store or an OCI layout.\n(not implemented yet)\n", argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return 2;
}
