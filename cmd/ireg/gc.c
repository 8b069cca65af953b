/* ireg gc */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/common/cli.h"
#include "cmd/ireg/ireg.h"
#include "cmd/ireg/serve-config.h"
#include "registry/auth/auth.h"
#include "registry/s3/s3.h"
#include "common/cleanup.h"
#include "registry/server/gc.h"
#include "registry/server/storage.h"

static const char gc_help[] =
        "Usage: ireg gc [OPTIONS]\n"
        "\n"
        "Delete manifests, blob links and blobs nothing references, and stale upload\n"
        "sessions.  Safe while 'ireg serve' runs on the same root.\n"
        "\n"
        "Kept: tagged manifests; manifests named by a kept index; referrers (manifests\n"
        "whose subject is kept); anything younger than the grace period.  Untagged\n"
        "manifests outside those are deleted (unless --keep-untagged), then blobs no\n"
        "kept manifest or blob link references.\n"
        "\n"
        "Options:\n"
        "  --root DIR               storage directory (default /var/lib/ireg)\n"
        "  --config FILE.json       ireg serve's settings file: its \"root\" or its\n"
        "                           \"storage\" (an S3 bucket, see Scale out in the README)\n"
        "  --dry-run                print what would be deleted, delete nothing\n"
        "  --grace DURATION         keep content younger than this (default 1h;\n"
        "                           DURATION is N, Ns, Nm, Nh or Nd)\n"
        "  --upload-max-age DURATION  delete upload sessions idle this long (default 24h)\n"
        "  --keep-untagged          never delete manifests, only unreferenced blobs\n"
        "  -q, --quiet              no per-item lines, only the summary\n"
        "  -h, --help               show this help\n";

int
ireg_gc(int argc, char **argv)
{
        enum { O_ROOT = 256, O_CONFIG, O_DRY, O_GRACE, O_UPL, O_KEEP };
        static const struct option opts[] = {
                { "root", required_argument, NULL, O_ROOT },
                { "config", required_argument, NULL, O_CONFIG },
                { "dry-run", no_argument, NULL, O_DRY },
                { "grace", required_argument, NULL, O_GRACE },
                { "upload-max-age", required_argument, NULL, O_UPL },
                { "keep-untagged", no_argument, NULL, O_KEEP },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct reg_gc_options o = { .grace = 3600, .upload_max_age = 86400, .report = stdout };
        struct reg_gc_stats st;
        const char *root = NULL, *config = NULL;
        struct serve_settings ss = { 0 };
        json_t *conf = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct reg_store *store;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                switch (c) {
                case O_ROOT: root = optarg; break;
                case O_CONFIG: config = optarg; break;
                case O_DRY: o.dry_run = true; break;
                case O_GRACE:
                        if (reg_parse_duration(optarg, &o.grace, &e) < 0)
                                return cli_fail("ireg", "--grace: %s", err_msg(&e));
                        break;
                case O_UPL:
                        if (reg_parse_duration(optarg, &o.upload_max_age, &e) < 0)
                                return cli_fail("ireg", "--upload-max-age: %s", err_msg(&e));
                        break;
                case O_KEEP: o.keep_untagged = true; break;
                case 'q': o.report = NULL; break;
                case 'h': fputs(gc_help, stdout); return 0;
                default: fputs(gc_help, stderr); return 2;
                }
        }
        if (optind < argc)
                return cli_fail("ireg", "gc: unexpected argument '%s'", argv[optind]);
        if (config) {
                ss.root = root;
                if (serve_config_load(config, &ss, &conf) < 0)
                        return 1;
                root = ss.root;
                reg_auth_config_free(ss.auth);
        }
        if (ss.have_s3) {
                struct s3_config s3c;
                struct reg_store_config sc = { .s3 = &s3c };

                serve_settings_s3(&ss, &s3c);
                store = reg_store_new(&sc, &e);
        } else {
                store = reg_store_fs_new(root ? root : "/var/lib/ireg", &e);
        }
        json_decref(conf);
        if (!store) {
                cli_print_err("ireg", &e);
                return 1;
        }
        r = reg_gc_run(store, &o, &st, &e);
        reg_store_free(store);
        if (r < 0) {
                cli_print_err("ireg", &e);
                return 1;
        }
        printf("%s%llu manifests, %llu blob links, %llu blobs (%llu bytes), %llu upload sessions "
               "deleted; %llu blobs kept; %llu index entries repaired\n",
               o.dry_run ? "dry run: would have " : "", (unsigned long long) st.manifests_deleted,
               (unsigned long long) st.links_deleted, (unsigned long long) st.blobs_deleted,
               (unsigned long long) st.bytes_freed, (unsigned long long) st.uploads_deleted,
               (unsigned long long) st.blobs_kept, (unsigned long long) st.index_repaired);
        return 0;
}
