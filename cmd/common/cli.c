#include "cmd/common/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

const char *
cli_opt_value(int argc, char **argv, int *i, const char *name)
{
        size_t l = strlen(name);
        const char *a = argv[*i];

        if (strncmp(a, name, l) == 0 && a[l] == '=')
                return a + l + 1;
        if (strcmp(a, name) == 0) {
                if (*i + 1 >= argc)
                        return NULL;
                return argv[++*i];
        }
        return NULL;
}

bool
cli_is_opt(const char *a, const char *name)
{
        size_t l = strlen(name);

        return strncmp(a, name, l) == 0 && (a[l] == '\0' || a[l] == '=');
}
