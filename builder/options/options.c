/* ibuild's build input option values (see options.h). */
#include "builder/options/options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int
build_ssh_parse(const char *value, const struct build_ssh *prev, size_t n_prev, struct build_ssh *ret,
                char ***owned, struct err **err)
{
        const char *eq = strchr(value, '=');
        _cleanup_free_ char *id = eq ? xstrndup(value, (size_t) (eq - value)) : xstrdup(value);
        const char *paths = eq && eq[1] ? eq + 1 : getenv("SSH_AUTH_SOCK");
        _cleanup_free_ const char **keys = NULL;
        struct build_ssh s = { 0 };

        if (!*id)
                return err_set(err, EINVAL, "--ssh %s: the id is empty", value);
        if (strchr(id, ','))
                return err_set(err, EINVAL, "--ssh %s: the id has a ','", value);
        for (size_t k = 0; k < n_prev; k++)
                if (strcmp(prev[k].id, id) == 0)
                        return err_set(err, EINVAL, "--ssh %s: id '%s' given twice", value, id);
        if (!paths || !*paths)
                return err_set(err, EINVAL, "--ssh %s: no socket or key given and SSH_AUTH_SOCK is not set", value);
        for (const char *p = paths;;) {
                const char *comma = strchr(p, ',');
                _cleanup_free_ char *path = comma ? xstrndup(p, (size_t) (comma - p)) : xstrdup(p);
                struct stat st;

                if (!*path)
                        return err_set(err, EINVAL, "--ssh %s: an empty path in the list", value);
                if (stat(path, &st) < 0)
                        return err_set(err, errno, "--ssh %s: %s: %s", value, path, strerror(errno));
                if (S_ISSOCK(st.st_mode)) {
                        if (s.socket || s.n_keys)
                                return err_set(err, EINVAL,
                                               "--ssh %s: %s is an agent socket, which must be the only path (not "
                                               "mixed with key files or another socket)",
                                               value, path);
                        s.socket = own(owned, path);
                } else {
                        int fd;

                        if (s.socket)
                                return err_set(err, EINVAL,
                                               "--ssh %s: %s is a key file after an agent socket (a socket must be "
                                               "the only path)",
                                               value, path);
                        if (!S_ISREG(st.st_mode))
                                return err_set(err, EINVAL, "--ssh %s: %s is neither an agent socket nor a key file",
                                               value, path);
                        /* Readable now, so a typo fails before the build. */
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                return err_set(err, errno, "--ssh %s: key %s: %s", value, path, strerror(errno));
                        close(fd);
                        keys = xrealloc(keys, (s.n_keys + 2) * sizeof(*keys));
                        keys[s.n_keys++] = own(owned, path);
                        keys[s.n_keys] = NULL;
                }
                if (!comma)
                        break;
                p = comma + 1;
        }
        s.id = own(owned, id);
        s.keys = steal_ptr(&keys);
        *ret = s;
        return 0;
}
