/* ireg: a self-hosted OCI Distribution registry.  One file per verb. */
#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"
#include "cmd/ireg/ireg.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *help;
} verbs[] = {
        { "serve", ireg_serve, "run the registry server" },
        { "gc", ireg_gc, "delete unreferenced manifests, blobs and stale uploads" },
};

static void
usage(FILE *f)
{
        size_t i;

        fputs("Usage: ireg COMMAND [OPTIONS]\n\nA self-hosted OCI Distribution (registry v2) server.\n\n"
              "Commands:\n",
              f);
        for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].help);
        fputs("\nRun 'ireg COMMAND --help' for a command's options.\n", f);
}

int
main(int argc, char **argv)
{
        size_t i;

        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("ireg %s\n", IBUILD_VERSION);
                return 0;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].fn(argc - 1, argv + 1);
        fprintf(stderr, "ireg: error: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
