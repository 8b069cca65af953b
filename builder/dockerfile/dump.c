/* The dump format of BuildKit's parser test vectors (Node.Dump): one
 * "(kind [flags] "arg" ...)" line per instruction, strings quoted as Go's
 * strconv.Quote does, ONBUILD's trigger nested in parentheses. */
#include <ctype.h>
#include <string.h>

#include "builder/dockerfile/parser-internal.h"

static void
dump_instr(struct df_buf *b, const struct build_df_instr *in)
{
        size_t i;

        for (i = 0; in->keyword[i]; i++)
                df_buf_addc(b, (char) tolower((unsigned char) in->keyword[i]));
        if (in->n_flags > 0) {
                df_buf_adds(b, " [");
                for (i = 0; i < in->n_flags; i++) {
                        if (i)
                                df_buf_addc(b, ' ');
                        df_quote_go(b, in->flags[i].raw, strlen(in->flags[i].raw));
                }
                df_buf_addc(b, ']');
        }
        for (i = 0; i < in->n_args; i++) {
                df_buf_addc(b, ' ');
                df_quote_go(b, in->args[i], in->arg_lens[i]);
        }
        if (in->sub) {
                df_buf_adds(b, " (");
                dump_instr(b, in->sub);
                df_buf_addc(b, ')');
        }
}

char *
build_df_dump(const struct build_df_file *f)
{
        struct df_buf b = {0};
        size_t i;

        for (i = 0; i < f->n_instrs; i++) {
                df_buf_addc(&b, '(');
                dump_instr(&b, &f->instrs[i]);
                df_buf_adds(&b, ")\n");
        }
        return df_buf_steal(&b);
}
