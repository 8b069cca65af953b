#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"

int
main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("ipush %s\n", IBUILD_VERSION);
                return 0;
        }
        fputs("Usage: ipush [OPTIONS] SRC DEST\n\nPush an image from the local store or an OCI layout to a registry.\n(not implemented yet)\n", argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return 2;
}
