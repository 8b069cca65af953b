#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"

/* The modes and debugging verbs; the build options come from build.c. */
static void
usage_modes(FILE *f)
{
        fputs("\n"
              "Other modes:\n"
              "  --check              lint the Dockerfile and report findings, build nothing\n"
              "  --dry-run            print the build plan, every instruction expanded\n"
              "\n"
              "Store housekeeping:\n"
              "  ibuild prune [--all]    remove build cache, blobs and unpacked layers no named\n"
              "                          image needs (ibuild prune --help)\n"
              "  ibuild rmi NAME...      remove image names from the store\n"
              "  ibuild sbom IMAGE       print the SPDX SBOM of an image (ibuild sbom --help)\n"
              "\n"
              "Debugging:\n"
              "  ibuild debug ast FILE   print the parsed Dockerfile, one instruction a line\n"
              "\n"
              "  --help, --version\n",
              f);
}

int
main(int argc, char **argv)
{
        int i;

        if (argc > 1 && strcmp(argv[1], "--version") == 0) {
                printf("ibuild %s\n", IBUILD_VERSION);
                return 0;
        }
        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                int r = ibuild_build(2, (char *[]){ argv[0], (char *) "--help", NULL });
                fflush(stdout);
                usage_modes(stdout);
                return r;
        }
        if (argc > 1 && strcmp(argv[1], "debug") == 0)
                return ibuild_debug(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "prune") == 0)
                return ibuild_prune(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "sbom") == 0)
                return ibuild_sbom(argc - 1, argv + 1);
        if (argc > 1 && strcmp(argv[1], "rmi") == 0)
                return ibuild_rmi(argc - 1, argv + 1);
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "--check") == 0)
                        return ibuild_check(argc, argv);
                if (strcmp(argv[i], "--dry-run") == 0)
                        return ibuild_dry_run(argc, argv);
        }
        if (argc < 2) {
                fputs("Usage: ibuild [OPTIONS] CONTEXT (try ibuild --help)\n", stderr);
                return 2;
        }
        return ibuild_build(argc, argv);
}
