/* `ibuild debug ast [--verbose] FILE|-`: print the parsed Dockerfile in the
 * BuildKit test-vector dump format; --verbose adds lines, JSON form,
 * heredocs, directives and warnings. */
#include <stdio.h>
#include <string.h>

#include "builder/dockerfile/parser.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"

static void
debug_usage(FILE *f)
{
        fputs("Usage: ibuild debug ast [--verbose] FILE\n"
              "\n"
              "Parse the Dockerfile FILE (\"-\" for stdin) and print one line per instruction:\n"
              "  (kind [\"--flag\" ...] \"arg\" ...)   as BuildKit's parser test vectors do.\n"
              "  --verbose   also print line numbers, exec form, heredocs, directives, warnings\n",
              f);
}

static void
print_verbose_instr(const struct build_df_instr *in, const char *indent)
{
        size_t i;

        printf("%s%s lines %d-%d col %d%s\n", indent, build_df_kind_name(in->kind), in->start_line, in->end_line,
               in->pos.col, in->json ? " json" : "");
        for (i = 0; i < in->n_flags; i++)
                printf("%s  flag %s = %s (line %d col %d)\n", indent, in->flags[i].name,
                       in->flags[i].value ? in->flags[i].value : "(none)", in->flags[i].pos.line, in->flags[i].pos.col);
        for (i = 0; i < in->n_heredocs; i++) {
                const struct build_df_heredoc *h = &in->heredocs[i];
                printf("%s  heredoc %s fd=%d expand=%s chomp=%s lines %d-%d\n", indent, h->name, h->fd,
                       h->expand ? "yes" : "no", h->chomp ? "yes" : "no", h->start_line, h->end_line);
                fputs(h->content, stdout);
        }
        if (in->sub)
                print_verbose_instr(in->sub, "    ");
}

int
ibuild_debug(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        struct build_df_file *f = NULL;
        _cleanup_free_ char *dump = NULL;
        const char *path = NULL;
        bool verbose = false;
        size_t i;
        int a;

        if (argc < 2 || strcmp(argv[1], "ast") != 0) {
                debug_usage(stderr);
                return 2;
        }
        for (a = 2; a < argc; a++) {
                if (strcmp(argv[a], "--verbose") == 0 || strcmp(argv[a], "-v") == 0) {
                        verbose = true;
                } else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                        debug_usage(stdout);
                        return 0;
                } else if (path == NULL) {
                        path = argv[a];
                } else {
                        debug_usage(stderr);
                        return 2;
                }
        }
        if (path == NULL) {
                debug_usage(stderr);
                return 2;
        }
        if (build_df_parse_path(path, &f, &err) < 0) {
                cli_print_err("ibuild", &err);
                return 1;
        }
        dump = build_df_dump(f);
        fputs(dump, stdout);
        if (verbose) {
                printf("-- escape %c", f->escape);
                if (f->syntax)
                        printf(", syntax %s (line %d)", f->syntax, f->syntax_line);
                if (f->check)
                        printf(", check %s (line %d)", f->check, f->check_line);
                putchar('\n');
                for (i = 0; i < f->n_instrs; i++)
                        print_verbose_instr(&f->instrs[i], "");
                for (i = 0; i < f->n_warnings; i++)
                        printf("warning: %s\n", f->warnings[i]);
        }
        build_df_file_free(f);
        return 0;
}
