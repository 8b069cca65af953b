/* ibuild's build input option values (see options.h). */
#include "builder/options/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "oci/model.h"

int
build_arg_parse(const char *value, char **ret_arg, struct err **err)
{
        const char *eq = strchr(value, '=');
        size_t name_len = eq ? (size_t) (eq - value) : strlen(value);
        const char *env;

        if (name_len == 0)
                return err_set(err, EINVAL, "--build-arg '%s': the name is empty", value);
        /* A blank in a name could never match an ARG instruction. */
        if (strcspn(value, " \t\r\n") < name_len)
                return err_set(err, EINVAL, "--build-arg '%s': the name has a blank", value);
        if (eq) {
                *ret_arg = xstrdup(value);
                return 1;
        }
        env = getenv(value);
        if (!env)
                return 0;
        *ret_arg = xasprintf("%s=%s", value, env);
        return 1;
}

/* Append S to *OWNED and return the copy. */
static const char *
own(char ***owned, const char *s)
{
        *owned = oci_strv_append(*owned, s);
        return (*owned)[oci_strv_len(*owned) - 1];
}

int
build_secret_parse(const char *value, struct build_secret *ret, char ***owned, struct err **err)
{
        _cleanup_free_ char *c = xstrdup(value);
        struct build_secret s = {0};
        char *save = NULL, *tok;

        for (tok = strtok_r(c, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');

                if (!eq)
                        return err_set(err, EINVAL, "--secret %s: '%s' is not KEY=VALUE", value, tok);
                *eq = '\0';
                if (strcmp(tok, "id") == 0)
                        s.id = own(owned, eq + 1);
                else if (strcmp(tok, "src") == 0 || strcmp(tok, "source") == 0)
                        s.src = own(owned, eq + 1);
                else if (strcmp(tok, "env") == 0)
                        s.env = own(owned, eq + 1);
                else if (strcmp(tok, "type") != 0)
                        return err_set(err, EINVAL, "--secret %s: unknown key '%s'", value, tok);
        }
        if (!s.id)
                return err_set(err, EINVAL, "--secret %s: id= is required", value);
        if (!*s.id)
                return err_set(err, EINVAL, "--secret %s: the id is empty", value);
        if ((s.src && !*s.src) || (s.env && !*s.env))
                return err_set(err, EINVAL, "--secret %s: %s= is empty", value, s.src && !*s.src ? "src" : "env");
        if (!s.src && !s.env && !getenv(s.id))
                return err_set(err, EINVAL, "--secret %s: src=FILE or env=VAR is required", value);
        if (s.src && access(s.src, R_OK) < 0)
                return err_set(err, errno, "--secret %s: %s: %s", value, s.src, strerror(errno));
        if (!s.src && !s.env)
                s.env = s.id;
        *ret = s;
        return 0;
}
