/* libFuzzer: the Dockerfile parser, validator, dumper and lint on arbitrary
 * bytes.  Any input must either fail with a message or give a consistent
 * tree, and everything must be freed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/lint.h"
#include "builder/dockerfile/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_instr(const struct build_df_instr *in, int max_line)
{
        size_t i;

        if (in->start_line < 1 || in->end_line < in->start_line || in->end_line > max_line)
                abort();
        if ((in->kind == BUILD_DF_ENV || in->kind == BUILD_DF_LABEL) && in->n_args % 3 != 0)
                abort();
        for (i = 0; i < in->n_args; i++)
                if (in->args[i] == NULL || in->args[i][in->arg_lens[i]] != '\0')
                        abort();
        for (i = 0; i < in->n_flags; i++)
                if (strncmp(in->flags[i].raw, "--", 2) != 0 || in->flags[i].pos.line < in->start_line)
                        abort();
        for (i = 0; i < in->n_heredocs; i++)
                if (in->heredocs[i].name[0] == '\0' || in->heredocs[i].end_line > max_line)
                        abort();
        if (in->sub)
                check_instr(in->sub, max_line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct build_df_file *f = NULL;
        struct build_df_lint *l = NULL;
        struct err *e = NULL;
        int lines = 1;
        size_t i;
        char *dump;

        for (i = 0; i < size; i++)
                if (data[i] == '\n')
                        lines++;
        if (build_df_parse((const char *) data, size, "fuzz", &f, &e) < 0) {
                if (e == NULL || strncmp(e->msg, "fuzz", 4) != 0)
                        abort();
                err_clear(&e);
                return 0;
        }
        if (f->n_instrs == 0)
                abort();
        for (i = 0; i < f->n_instrs; i++)
                check_instr(&f->instrs[i], lines);
        dump = build_df_dump(f);
        free(dump);
        (void) build_df_validate(f, &e);
        err_clear(&e);
        if (build_df_lint_run(f, NULL, &l, &e) < 0)
                abort();
        build_df_lint_free(l);
        build_df_file_free(f);
        return 0;
}
