/* `ibuild prune` (docker builder prune, buildah prune) and `ibuild rmi`
 * (remove image names from the local store). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/exec/exec.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"
#include "oci/store.h"

#define PROG "ibuild"

static void
prune_usage(FILE *f)
{
        fputs("Usage: ibuild prune [--all] [--grace SECONDS] [--no-wait] [--store DIR] [-q]\n"
              "\n"
              "Remove the build cache the images named in the store cannot use, then the\n"
              "blobs and unpacked layers nothing needs any more.\n"
              "  --all              remove the whole build cache (entries, RUN cache mounts,\n"
              "                     source digests, unpacked layers); named images stay\n"
              "  --grace SECONDS    keep blobs and unpacked layers written in the last SECONDS\n"
              "                     (default 600: a build running now may need them)\n"
              "  --no-wait          fail at once when builds, pulls or pushes are using the\n"
              "                     store (by default the prune waits for them to finish)\n"
              "  --store DIR        the local store (default $IBUILD_STORE or\n"
              "                     ~/.local/share/ibuild)\n"
              "  -q, --quiet        print nothing on success\n",
              f);
}

int
ibuild_prune(int argc, char **argv)
{
        struct build_prune_opts o;
        struct build_prune_result res = {0};
        struct oci_store *store = NULL;
        struct err *err = NULL;
        const char *store_path = NULL, *v;
        bool quiet = false, no_wait = false;
        int rc = 1;

        build_prune_opts_init(&o);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        prune_usage(stdout);
                        return 0;
                } else if (strcmp(a, "--all") == 0 || strcmp(a, "-a") == 0) {
                        o.all = true;
                } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
                        quiet = true;
                } else if (strcmp(a, "--no-wait") == 0) {
                        no_wait = true;
                } else if (cli_is_opt(a, "--grace")) {
                        char *end;

                        v = cli_opt_value(argc, argv, &i, "--grace");
                        if (!v)
                                return cli_fail(PROG, "--grace needs a value (seconds)");
                        errno = 0;
                        o.grace_seconds = strtoll(v, &end, 10);
                        if (errno || end == v || *end || o.grace_seconds < 0)
                                return cli_fail(PROG, "--grace %s: not a number of seconds", v);
                } else if (cli_is_opt(a, "--store")) {
                        store_path = cli_opt_value(argc, argv, &i, "--store");
                        if (!store_path)
                                return cli_fail(PROG, "--store needs a value");
                } else {
                        return cli_fail(PROG, "prune: unknown argument %s (try ibuild prune --help)", a);
                }
        }
        /* Running builds first: the prune holds the store exclusively. */
        if (oci_store_open(store_path, &store, &err) < 0 || cli_store_hold(PROG, store, true, no_wait, &err) < 0 ||
            build_exec_prune(store, &o, &res, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        if (!quiet)
                printf("removed %zu build cache entries (%zu kept), %zu blobs (%.1f MB), %zu unpacked layers\n",
                       res.entries_removed, res.entries_kept, res.blobs_removed, (double) res.bytes_freed / 1e6,
                       res.snapshots_removed);
        rc = 0;
out:
        err_clear(&err);
        oci_store_free(store);
        return rc;
}

int
ibuild_rmi(int argc, char **argv)
{
        struct oci_store *store = NULL;
        struct err *err = NULL;
        const char *store_path = NULL;
        int i, rc = 0, names = 0;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs("Usage: ibuild rmi [--store DIR] NAME...\n"
                              "\n"
                              "Remove image names from the local store (the blobs go with the next\n"
                              "ibuild prune).\n",
                              stdout);
                        return 0;
                }
                if (cli_is_opt(argv[i], "--store")) {
                        store_path = cli_opt_value(argc, argv, &i, "--store");
                        if (!store_path)
                                return cli_fail(PROG, "--store needs a value");
                } else if (argv[i][0] == '-') {
                        return cli_fail(PROG, "rmi: unknown option %s", argv[i]);
                } else {
                        names++;
                }
        }
        if (names == 0)
                return cli_fail(PROG, "rmi: name the images to remove (ibuild rmi NAME...)");
        if (oci_store_open(store_path, &store, &err) < 0) {
                cli_print_err(PROG, &err);
                return 1;
        }
        for (i = 1; i < argc; i++) {
                if (cli_is_opt(argv[i], "--store")) {
                        cli_opt_value(argc, argv, &i, "--store");
                        continue;
                }
                if (oci_store_untag(store, argv[i], &err) < 0) {
                        err_prefix(&err, "rmi %s", argv[i]);
                        cli_print_err(PROG, &err);
                        rc = 1;
                        continue;
                }
                printf("untagged %s\n", argv[i]);
        }
        oci_store_free(store);
        return rc;
}
