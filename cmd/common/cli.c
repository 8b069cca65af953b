#include "cmd/common/cli.h"

#include <stdarg.h>
#include <stdio.h>

void
cli_print_err(const char *prog, struct err **err)
{
        const char *name = err_code_name(err_code(err));

        if (name)
                fprintf(stderr, "%s: error: %s (%s)\n", prog, err_msg(err), name);
        else
                fprintf(stderr, "%s: error: %s\n", prog, err_msg(err));
}

int
cli_fail(const char *prog, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: error: ", prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return 1;
}
