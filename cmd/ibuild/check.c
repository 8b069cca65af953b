/* `ibuild --check [-f Dockerfile] [--check-skip NAME]... [--check-error]
 *  [--format text|json] [CONTEXT]`: lint the Dockerfile, build nothing.
 * Exit 0 (findings are printed but do not fail), 1 when findings must fail
 * (--check-error or `# check=error=true`), 2 on usage or parse errors. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"

static void
check_usage(FILE *f)
{
        const struct build_df_lint_rule *rules;
        size_t n, i;

        fputs("Usage: ibuild --check [-f Dockerfile] [--check-skip NAME]... [--check-error]\n"
              "                      [--format text|json] [CONTEXT]\n"
              "\n"
              "Lint the Dockerfile (default CONTEXT/Dockerfile) without building.\n"
              "  -f, --file FILE      the Dockerfile (\"-\" for stdin)\n"
              "  --check-skip NAME    skip a check (repeatable, or NAME,NAME; \"all\" skips every check)\n"
              "  --check-error        exit 1 when there are findings\n"
              "  --format text|json   text: FILE:LINE: NAME: message; json: an array of\n"
              "                       {rule, line, file, message, severity}\n"
              "The file's `# check=skip=A,B;error=true` directive does the same.\n"
              "Exit status: 0 ok, 1 findings with --check-error, 2 usage or parse error.\n"
              "\n"
              "Checks:\n",
              f);
        rules = build_df_lint_rules(&n);
        for (i = 0; i < n; i++)
                fprintf(f, "  %-26s %s\n", rules[i].name, rules[i].description);
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

static void
print_json(const char *file, const struct build_df_lint *l)
{
        json_t *arr = json_array();
        char *s;
        size_t i;

        for (i = 0; i < l->n_findings; i++) {
                const struct build_df_finding *fd = &l->findings[i];
                json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:s, s:s}", "rule", fd->rule, "line", fd->line,
                                                     "file", file, "message", fd->message, "severity",
                                                     l->error ? "error" : "warning"));
        }
        s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) {
                fputs(s, stdout);
                putchar('\n');
        }
        free(s);
        json_decref(arr);
}

int
ibuild_check(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        _cleanup_free_ const char **skip = NULL;
        _cleanup_free_ char *default_path = NULL;
        _cleanup_free_ char *skip_buf = NULL;
        struct build_df_lint_opts opts = {0};
        struct build_df_file *f = NULL;
        struct build_df_lint *l = NULL;
        const char *file = NULL, *context = NULL, *format = "text";
        size_t n_skip = 0, i, total_len = 0;
        int a, rc;

        /* Room for every comma-separated name of every --check-skip. */
        for (a = 1; a < argc; a++)
                total_len += strlen(argv[a]) + 1;
        skip = calloc(total_len + 1, sizeof(*skip));
        skip_buf = calloc(total_len + 1, 1);
        if (skip == NULL || skip_buf == NULL) {
                cli_fail("ibuild", "out of memory");
                return 2;
        }
        {
                char *w = skip_buf;
                for (a = 1; a < argc; a++) {
                        const char *v;
                        bool missing = false;

                        if (strcmp(argv[a], "--check") == 0)
                                continue;
                        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                                check_usage(stdout);
                                return 0;
                        }
                        if (strcmp(argv[a], "--check-error") == 0) {
                                opts.error = true;
                                continue;
                        }
                        if ((v = opt_value(argc, argv, &a, "--file", "-f", &missing)) != NULL) {
                                file = v;
                                continue;
                        }
                        if (!missing && (v = opt_value(argc, argv, &a, "--format", NULL, &missing)) != NULL) {
                                format = v;
                                continue;
                        }
                        if (!missing && (v = opt_value(argc, argv, &a, "--check-skip", NULL, &missing)) != NULL) {
                                char *tok, *save = NULL;
                                strcpy(w, v);
                                for (tok = strtok_r(w, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                                        skip[n_skip++] = tok;
                                w += strlen(v) + 1;
                                continue;
                        }
                        if (missing) {
                                fprintf(stderr, "ibuild: error: %s needs a value\n", argv[a]);
                                return 2;
                        }
                        if (argv[a][0] == '-' && argv[a][1] != '\0') {
                                fprintf(stderr, "ibuild: error: unknown option %s for --check\n", argv[a]);
                                check_usage(stderr);
                                return 2;
                        }
                        if (context) {
                                fprintf(stderr, "ibuild: error: more than one CONTEXT (%s, %s)\n", context, argv[a]);
                                return 2;
                        }
                        context = argv[a];
                }
        }
        if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
                fprintf(stderr, "ibuild: error: --format must be text or json, not %s\n", format);
                return 2;
        }
        if (file == NULL) {
                default_path = xasprintf("%s/Dockerfile", context ? context : ".");
                file = default_path;
        }
        opts.skip = skip;
        opts.n_skip = n_skip;

        if (build_df_parse_path(file, &f, &err) < 0 || build_df_validate(f, &err) < 0) {
                cli_print_err("ibuild", &err);
                build_df_file_free(f);
                return 2;
        }
        if (build_df_lint_run(f, &opts, &l, &err) < 0) {
                cli_print_err("ibuild", &err);
                build_df_file_free(f);
                return 2;
        }
        if (strcmp(format, "json") == 0) {
                print_json(f->name, l);
        } else {
                for (i = 0; i < l->n_findings; i++)
                        printf("%s:%d: %s: %s\n", f->name, l->findings[i].line, l->findings[i].rule,
                               l->findings[i].message);
        }
        rc = l->error && l->n_findings > 0 ? 1 : 0;
        build_df_lint_free(l);
        build_df_file_free(f);
        return rc;
}
