/* The values of ibuild's build options that configure a build's inputs:
 * --build-arg, --secret, --ssh (docker build's syntax), turned into the
 * fields of struct build_exec_opts.  Pure functions over one value each (plus the
 * environment and a file check that the CLI would do anyway), so they can
 * be unit-tested and fuzzed apart from argv handling in cmd/ibuild. */
#ifndef BUILDER_OPTIONS_OPTIONS_H
#define BUILDER_OPTIONS_OPTIONS_H

#include "builder/exec/exec.h"
#include "common/err.h"

/* --build-arg VALUE: "NAME=VALUE" as given, or a bare "NAME" that takes
 * NAME's value from the environment (docker's rule).  Returns 1 with
 * *ret_arg a new "NAME=VALUE" string (the caller frees it), 0 when a bare
 * NAME is not set in the environment (the option is then ignored, as
 * docker does), and EINVAL naming VALUE when the name is empty or holds a
 * blank. */
int build_arg_parse(const char *value, char **ret_arg, struct err **err);

/* --secret VALUE: comma-separated KEY=VALUE pairs, keys id (required, not
 * empty), src or source (a readable file), env (an environment variable;
 * a src wins over it) and type (accepted, ignored: the keys decide).
 * Neither src nor env: the environment variable named like the id, which
 * must be set.  The strings *ret points into
 * are appended to *OWNED (an oci strv the caller frees; it may be moved
 * by the append).  Errors (EINVAL, or the errno of an unreadable src)
 * quote VALUE and name the offending pair.  *ret is written only on
 * success. */
int build_secret_parse(const char *value, struct build_secret *ret, char ***owned, struct err **err);

/* --ssh VALUE: "default" or an ID, alone or "=PATH[,PATH...]" (docker
 * buildx's syntax and BuildKit's rules): no paths or an empty list is
 * $SSH_AUTH_SOCK; an agent socket must be the only path; other paths must
 * be readable regular files, private keys for a build's own agent.  The
 * id must not be empty, hold a ',' or be one of PREV's N_PREV.  Strings go
 * to *OWNED as for build_secret_parse; ret->keys (NULL-terminated, NULL
 * when there are none) is a new array the caller frees.  Errors quote
 * VALUE and name the path.  *ret is written only on success. */
int build_ssh_parse(const char *value, const struct build_ssh *prev, size_t n_prev, struct build_ssh *ret,
                    char ***owned, struct err **err);

#endif
