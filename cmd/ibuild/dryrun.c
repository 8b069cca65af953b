/* `ibuild --dry-run [-f Dockerfile] [--build-arg K=V]... [--target STAGE]
 * [--platform P] [--store DIR] [--verbose] [CONTEXT]`: print the build
 * plan, stages in order with their dependencies and every instruction
 * expanded.  Base image configs (ENV, ONBUILD triggers) are read where they
 * are local (an oci: layout, the store), never pulled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/dockerignore.h"
#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "builder/exec/exec.h"
#include "builder/options/options.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"

#define PROG "ibuild"

static void
dry_run_usage(FILE *f)
{
        fputs("Usage: ibuild --dry-run [OPTIONS] [CONTEXT]\n"
              "\n"
              "Print the build plan without building: the stages that would run, in order,\n"
              "with their dependencies, and every instruction with ARG/ENV expanded.\n"
              "\n"
              "  -f, --file FILE        Dockerfile (default CONTEXT/Dockerfile; \"-\" reads stdin)\n"
              "  --build-arg NAME=VALUE set a build argument (NAME alone takes $NAME)\n"
              "  --target STAGE         build up to STAGE; stages it does not need are left out\n"
              "  --platform OS/ARCH     target platform (default: this machine's)\n"
              "  --store DIR            the local store base images are read from (default $IBUILD_STORE\n"
              "                         or ~/.local/share/ibuild); nothing is pulled\n"
              "  -v, --verbose          also print each instruction's environment and build args\n",
              f);
}


struct dry_bases {
        const char *store;    /* --store, NULL: the default */
        const char *platform; /* --platform, NULL when not given */
};

/* The plan's base_config: the image's config when it is local. */
static int
dry_base_config(void *data, const char *image, const char *platform, struct build_plan_base_config *ret,
                struct err **err)
{
        const struct dry_bases *d = data;
        _cleanup_free_ char *host = build_plan_host_platform();
        _cleanup_(oci_image_config_freep) struct oci_image_config *cfg = NULL;
        /* As the build: only a platform asked for must be the image's. */
        const char *want = d->platform || strcmp(platform, host) != 0 ? platform : NULL;
        int r = build_base_config_lookup_local(d->store, image, want, &cfg, err);

        if (r <= 0)
                return r;
        ret->env = oci_strv_dup(cfg->config.env);
        ret->onbuild = oci_strv_dup(cfg->config.on_build);
        return 1;
}

static void
print_stage_ref(const struct build_plan *p, int s)
{
        const struct build_plan_stage *st = &p->stages[s];

        if (st->name)
                printf("%d (%s)", s, st->name);
        else
                printf("%d", s);
}

static void
print_plan(const struct build_plan *p, bool verbose)
{
        for (size_t o = 0; o < p->n_order; o++) {
                const struct build_plan_stage *st = &p->stages[p->order[o]];

                printf("[stage %d%s%s] FROM %s", st->index, st->name ? ": " : "", st->name ? st->name : "",
                       st->base_image);
                if (st->platform)
                        printf(" --platform=%s", st->platform);
                fputs(" (", stdout);
                if (st->base == BUILD_PLAN_BASE_STAGE) {
                        fputs("base: stage ", stdout);
                        print_stage_ref(p, st->base_stage);
                        fputs("; ", stdout);
                } else if (st->base == BUILD_PLAN_BASE_SCRATCH) {
                        fputs("base: scratch; ", stdout);
                } else {
                        fputs("base: image; ", stdout);
                }
                fputs("deps: ", stdout);
                if (st->n_deps == 0)
                        fputs("none", stdout);
                for (size_t d = 0; d < st->n_deps; d++) {
                        if (d)
                                fputs(", ", stdout);
                        print_stage_ref(p, st->deps[d]);
                }
                fputs(")\n", stdout);
                if (st->base_unknown && st->base == BUILD_PLAN_BASE_IMAGE)
                        printf("  # base image config not available locally: ENV and ONBUILD triggers of %s "
                               "unknown (a build pulls it; expansions below assume none)\n",
                               st->base_image);
                else if (st->base_unknown)
                        printf("  # the base image config of stage %d is not available locally: its ENV is "
                               "unknown\n",
                               st->base_stage);
                for (size_t i = 0; i < st->n_instrs; i++) {
                        const struct build_plan_instr *in = &st->instrs[i];

                        printf("  %s%s\n", in->onbuild ? "(onbuild) " : "", in->text);
                        for (size_t h = 0; h < in->n_heredocs; h++) {
                                const char *s = in->heredocs[h], *nl;

                                while (*s) {
                                        nl = strchr(s, '\n');
                                        printf("    | %.*s\n", (int) (nl ? nl - s : (long) strlen(s)), s);
                                        s = nl ? nl + 1 : s + strlen(s);
                                }
                        }
                        if (!verbose)
                                continue;
                        printf("    # line %d", in->line);
                        if (in->n_build_args) {
                                fputs(", build args:", stdout);
                                for (size_t a = 0; a < in->n_build_args; a++)
                                        printf(" %s", in->build_args[a]);
                        }
                        fputc('\n', stdout);
                        if (in->kind == BUILD_DF_RUN)
                                for (size_t e = 0; e < in->n_env; e++)
                                        printf("    # env %s\n", in->env[e]);
                }
        }
        printf("target: stage %d%s%s, platform %s\n", p->target, p->stages[p->target].name ? " " : "",
               p->stages[p->target].name ? p->stages[p->target].name : "", p->target_platform);
}

int
ibuild_dry_run(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        _cleanup_free_ const char **build_args = NULL;
        _cleanup_free_ char *dockerfile_buf = NULL;
        const char *dockerfile = NULL, *target = NULL, *platform = NULL, *context = NULL, *store = NULL;
        struct build_df_file *f = NULL;
        struct build_plan *plan = NULL;
        struct build_ignore *ig = NULL;
        struct build_context *ctx = NULL;
        struct strv_holder {
                char **v;
                size_t n;
        } owned = { 0 };
        size_t n_build_args = 0;
        bool verbose = false;
        int rc = 1;

        build_args = xcalloc((size_t) argc + 1, sizeof(*build_args));
        owned.v = xcalloc((size_t) argc + 1, sizeof(char *));
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v;

                if (strcmp(a, "--dry-run") == 0)
                        continue;
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        dry_run_usage(stdout);
                        rc = 0;
                        goto out;
                }
                if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
                        verbose = true;
                } else if (cli_is_opt(a, "-f") || cli_is_opt(a, "--file")) {
                        v = cli_opt_value(argc, argv, &i, a[1] == 'f' ? "-f" : "--file");
                        if (!v)
                                goto missing;
                        dockerfile = v;
                } else if (cli_is_opt(a, "--build-arg")) {
                        int r;

                        v = cli_opt_value(argc, argv, &i, "--build-arg");
                        if (!v)
                                goto missing;
                        r = build_arg_parse(v, &owned.v[owned.n], &err);
                        if (r < 0) {
                                cli_print_err(PROG, &err);
                                rc = 2;
                                goto out;
                        }
                        if (r == 0)
                                continue; /* a bare NAME not in the environment */
                        build_args[n_build_args++] = owned.v[owned.n++];
                } else if (cli_is_opt(a, "--target")) {
                        v = cli_opt_value(argc, argv, &i, "--target");
                        if (!v)
                                goto missing;
                        target = v;
                } else if (cli_is_opt(a, "--platform")) {
                        v = cli_opt_value(argc, argv, &i, "--platform");
                        if (!v)
                                goto missing;
                        platform = v;
                } else if (cli_is_opt(a, "--store")) {
                        v = cli_opt_value(argc, argv, &i, "--store");
                        if (!v)
                                goto missing;
                        store = v;
                } else if (strcmp(a, "--") == 0) {
                        if (i + 1 < argc)
                                context = argv[++i];
                } else if (a[0] == '-' && a[1] != '\0') {
                        cli_fail(PROG, "--dry-run: unknown option %s", a);
                        dry_run_usage(stderr);
                        rc = 2;
                        goto out;
                } else if (context) {
                        cli_fail(PROG, "--dry-run: more than one context (%s and %s)", context, a);
                        rc = 2;
                        goto out;
                } else {
                        context = a;
                }
                continue;
missing:
                cli_fail(PROG, "%s needs a value", a);
                rc = 2;
                goto out;
        }
        if (!context)
                context = ".";
        if (!dockerfile)
                dockerfile = dockerfile_buf = xasprintf("%s/Dockerfile", context);

        if (build_df_parse_path(dockerfile, &f, &err) < 0 || build_df_validate(f, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        {
                struct dry_bases bases = { .store = store, .platform = platform };
                struct build_plan_opts o = {
                        .build_args = build_args,
                        .n_build_args = n_build_args,
                        .target = target,
                        .platform = platform,
                        .base_config = dry_base_config,
                        .base_config_data = &bases,
                };

                if (build_plan_new(f, &o, &plan, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
        }
        for (size_t i = 0; i < plan->n_warnings; i++)
                fprintf(stderr, "%s: warning: %s\n", PROG, plan->warnings[i]);
        if (plan->n_unused_build_args) {
                fprintf(stderr, "%s: warning: one or more build args were not consumed:", PROG);
                for (size_t i = 0; i < plan->n_unused_build_args; i++)
                        fprintf(stderr, " %s", plan->unused_build_args[i]);
                fputc('\n', stderr);
        }

        /* The context the build would send, after .dockerignore. */
        if (build_ignore_load(context, strcmp(dockerfile, "-") == 0 ? "-" : dockerfile, &ig, &err) < 0 ||
            build_context_walk(context, ig, &ctx, &err) < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        print_plan(plan, verbose);
        printf("context: %s (%zu entries after .dockerignore, %zu patterns)\n", context, ctx->n,
               build_ignore_count(ig));
        rc = 0;
out:
        build_context_free(ctx);
        build_ignore_free(ig);
        build_plan_free(plan);
        build_df_file_free(f);
        for (size_t i = 0; i < owned.n; i++)
                free(owned.v[i]);
        free(owned.v);
        return rc;
}
