#include "cmd/common/cli.h"

#include <errno.h>
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

int
cli_store_hold(const char *prog, struct oci_store *store, bool exclusive, bool no_wait, struct err **err)
{
        int r, n;

        r = oci_store_hold(store, exclusive, false, err);
        if (r >= 0 || err_code(err) != EWOULDBLOCK)
                return r;
        if (no_wait)
                return err_prefix(err, "not waiting (--no-wait)");
        err_clear(err);
        n = exclusive ? oci_store_users(store) : -1;
        if (!exclusive)
                fprintf(stderr, "%s: waiting for the prune of %s to finish\n", prog, oci_store_path(store));
        else if (n > 0)
                fprintf(stderr, "%s: waiting for %d running build(s), pull(s) or push(es) using %s to finish\n", prog,
                        n, oci_store_path(store));
        else
                fprintf(stderr, "%s: waiting for the running builds, pulls or pushes using %s to finish\n", prog,
                        oci_store_path(store));
        fflush(stderr);
        return oci_store_hold(store, exclusive, true, err);
}
