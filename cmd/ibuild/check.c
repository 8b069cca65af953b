/* `ibuild --check [-f Dockerfile] [--check-skip NAME]... [--check-error]
 *  [--check-experimental NAME]... [--format text|json|sarif] [--store DIR]
 *  [--platform P] [CONTEXT]`: lint the Dockerfile, build nothing.
 * Exit 0 (findings are printed but do not fail), 1 when findings must fail
 * (--check-error or `# check=error=true`), 2 on usage or parse errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/dockerfile/dockerignore.h"
#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/check.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "oci/platform.h"

static void
check_usage(FILE *f)
{
        static const char *const origin[] = {"", " [BuildKit]", " [hadolint]"};
        const struct build_df_lint_rule *rules;
        size_t n, i;

        fputs("Usage: ibuild --check [-f Dockerfile] [--check-skip NAME]... [--check-error]\n"
              "                      [--check-experimental NAME]... [--format text|json|sarif]\n"
              "                      [--store DIR] [--platform OS/ARCH] [CONTEXT]\n"
              "\n"
              "Lint the Dockerfile (default CONTEXT/Dockerfile) without building.\n"
              "  -f, --file FILE            the Dockerfile (\"-\" for stdin)\n"
              "  --check-skip NAME          skip a check (repeatable, or NAME,NAME; \"all\" skips every check)\n"
              "  --check-experimental NAME  run an experimental check (repeatable, NAME,NAME or \"all\")\n"
              "  --check-error              exit 1 when there are findings\n"
              "  --format text|json|sarif   text: FILE:LINE: NAME: message; json: an array of\n"
              "                             {rule, line, file, message, severity, url}; sarif: SARIF 2.1.0\n"
              "  --store DIR                the local store base images are looked up in (never pulled;\n"
              "                             default $IBUILD_STORE or ~/.local/share/ibuild)\n"
              "  --platform OS/ARCH         the target platform base images are checked against\n"
              "                             (default: this machine's)\n"
              "The file's `# check=skip=A,B;error=true;experimental=C` directive does the same.\n"
              "Base images found locally (oci:DIR[:TAG] or in the store) lend their ENV, USER,\n"
              "WORKDIR and platform to the checks; other bases are not looked up.\n"
              "Exit status: 0 ok, 1 findings with --check-error, 2 usage or parse error.\n"
              "\n"
              "Checks:\n",
              f);
        rules = build_df_lint_rules(&n);
        for (i = 0; i < n; i++)
                fprintf(f, "  %-32s %s%s\n", rules[i].name, rules[i].description, origin[rules[i].origin]);
}

/* The value of option NAME at argv[*i] ("--name VALUE" or "--name=VALUE"),
 * advancing *i; NULL when argv[*i] is not that option. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, const char *short_name, bool *missing)
{
        size_t n = strlen(name);

        if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
                return argv[*i] + n + 1;
        if (strcmp(argv[*i], name) == 0 || (short_name && strcmp(argv[*i], short_name) == 0)) {
                if (*i + 1 >= argc) {
                        *missing = true;
                        return NULL;
                }
                return argv[++*i];
        }
        return NULL;
}

/* Comma-separated names, appended to *list (growing it). */
static void
add_names(const char ***list, size_t *n, char *v)
{
        char *tok, *save = NULL;

        for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                *list = xrealloc(*list, (*n + 1) * sizeof(**list));
                (*list)[(*n)++] = tok;
        }
}

struct check_args {
        const char *file, *context, *format, *store, *platform;
        const char **skip, **experimental;
        size_t n_skip, n_experimental;
        char **owned; /* copies of the comma lists, strtok'd */
        size_t n_owned;
        bool error, help;
};

static void
check_args_clear(struct check_args *a)
{
        for (size_t i = 0; i < a->n_owned; i++)
                free(a->owned[i]);
        free(a->owned);
        free(a->skip);
        free(a->experimental);
}

/* A copy of V that lives as long as A. */
static char *
own(struct check_args *a, const char *v)
{
        a->owned = xrealloc(a->owned, (a->n_owned + 1) * sizeof(*a->owned));
        return a->owned[a->n_owned++] = xstrdup(v);
}

/* 0 ok, 2 usage error (printed). */
static int
parse_args(int argc, char **argv, struct check_args *a)
{
        a->format = "text";
        for (int i = 1; i < argc; i++) {
                const char *v;
                bool missing = false;

                if (strcmp(argv[i], "--check") == 0)
                        continue;
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        a->help = true;
                        return 0;
                }
                if (strcmp(argv[i], "--check-error") == 0) {
                        a->error = true;
                        continue;
                }
                if ((v = opt_value(argc, argv, &i, "--file", "-f", &missing)) != NULL) {
                        a->file = v;
                } else if (!missing && (v = opt_value(argc, argv, &i, "--format", NULL, &missing)) != NULL) {
                        a->format = v;
                } else if (!missing && (v = opt_value(argc, argv, &i, "--store", NULL, &missing)) != NULL) {
                        a->store = v;
                } else if (!missing && (v = opt_value(argc, argv, &i, "--platform", NULL, &missing)) != NULL) {
                        a->platform = v;
                } else if (!missing && (v = opt_value(argc, argv, &i, "--check-skip", NULL, &missing)) != NULL) {
                        add_names(&a->skip, &a->n_skip, own(a, v));
                } else if (!missing &&
                           (v = opt_value(argc, argv, &i, "--check-experimental", NULL, &missing)) != NULL) {
                        add_names(&a->experimental, &a->n_experimental, own(a, v));
                } else if (missing) {
                        fprintf(stderr, "ibuild: error: %s needs a value\n", argv[i]);
                        return 2;
                } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
                        fprintf(stderr, "ibuild: error: unknown option %s for --check\n", argv[i]);
                        check_usage(stderr);
                        return 2;
                } else if (a->context) {
                        fprintf(stderr, "ibuild: error: more than one CONTEXT (%s, %s)\n", a->context, argv[i]);
                        return 2;
                } else {
                        a->context = argv[i];
                }
        }
        if (strcmp(a->format, "text") != 0 && strcmp(a->format, "json") != 0 && strcmp(a->format, "sarif") != 0) {
                fprintf(stderr, "ibuild: error: --format must be text, json or sarif, not %s\n", a->format);
                return 2;
        }
        return 0;
}

/* Read and parse the Dockerfile; *ret_data keeps its bytes (for the
 * comment checks). */
static int
read_dockerfile(const char *path, char **ret_data, size_t *ret_len, struct build_df_file **ret_f, struct err **err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        if (strcmp(path, "-") == 0) {
                r = fs_read_fd(STDIN_FILENO, LIMIT_DOCKERFILE_SIZE, &data, &len, err);
                if (r < 0)
                        return err_prefix(err, "reading Dockerfile from stdin");
        } else if ((r = fs_read_file(path, LIMIT_DOCKERFILE_SIZE, &data, &len, err)) < 0) {
                return r;
        }
        r = build_df_parse(data, len, strcmp(path, "-") == 0 ? "<stdin>" : path, ret_f, err);
        if (r < 0)
                return r;
        *ret_data = steal_ptr(&data);
        *ret_len = len;
        return 0;
}

int
ibuild_check(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        _cleanup_free_ char *default_path = NULL, *data = NULL, *host = NULL;
        struct check_args a = {0};
        struct build_df_lint_opts opts = {0};
        struct build_df_file *f = NULL;
        struct build_df_lint *l = NULL;
        struct build_ignore *ig = NULL;
        struct check_bases *bases = NULL;
        const char *file;
        size_t len = 0;
        int rc = 2;

        if (parse_args(argc, argv, &a) != 0)
                goto out;
        if (a.help) {
                check_usage(stdout);
                rc = 0;
                goto out;
        }
        if (a.file == NULL) {
                default_path = xasprintf("%s/Dockerfile", a.context ? a.context : ".");
                file = default_path;
        } else {
                file = a.file;
        }
        if (read_dockerfile(file, &data, &len, &f, &err) < 0 || build_df_validate(f, &err) < 0 ||
            build_ignore_load(a.context ? a.context : ".", a.file, &ig, &err) < 0) {
                cli_print_err("ibuild", &err);
                goto out;
        }
        if (a.platform == NULL) {
                struct oci_platform *p = NULL;

                if (oci_platform_host(&p, &err) < 0) {
                        err_clear(&err);
                } else {
                        host = oci_platform_format(p);
                        oci_platform_free(p);
                }
        }
        bases = check_bases_new(a.store);
        opts = (struct build_df_lint_opts){
            .skip = a.skip,
            .n_skip = a.n_skip,
            .experimental = a.experimental,
            .n_experimental = a.n_experimental,
            .error = a.error,
            .source = data,
            .source_len = len,
            .ignore = ig,
            .platform = a.platform ? a.platform : host,
            .base = check_base_lookup,
            .base_data = bases,
        };
        if (build_df_lint_run(f, &opts, &l, &err) < 0) {
                cli_print_err("ibuild", &err);
                goto out;
        }
        if (strcmp(a.format, "json") == 0)
                check_print_json(f->name, l);
        else if (strcmp(a.format, "sarif") == 0)
                check_print_sarif(f->name, l);
        else
                check_print_text(f->name, l);
        rc = l->error && l->n_findings > 0 ? 1 : 0;
out:
        build_df_lint_free(l);
        build_df_file_free(f);
        build_ignore_free(ig);
        check_bases_free(bases);
        check_args_clear(&a);
        return rc;
}
