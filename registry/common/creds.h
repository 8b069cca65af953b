/* Registry credentials the way docker, podman and skopeo find them.
 *
 * Sources, first hit wins:
 *   1. opts->creds ("user:pass", the --creds flag; the password may hold ':')
 *   2. opts->authfile (--authfile): when set, the only file consulted
 *   3. $REGISTRY_AUTH_FILE
 *   4. $XDG_RUNTIME_DIR/containers/auth.json (podman/skopeo)
 *   5. $XDG_CONFIG_HOME/containers/auth.json, else ~/.config/containers/auth.json
 *   6. $DOCKER_CONFIG/config.json
 *   7. ~/.docker/config.json
 * A missing file is skipped; a malformed one is an error naming it.
 *
 * In each file, Docker's precedence (docker/cli configfile
 * GetCredentialsStore): "credHelpers" {HOST: NAME}, else "credsStore" NAME,
 * names the helper `docker-credential-NAME get` that alone answers for
 * HOST; its "not found" means no credentials (the "auths" entry is not
 * consulted then).  Without a helper, "auths" {KEY: {"auth":
 * base64("user:pass"), "identitytoken": ...}} answers.  A helper reads the
 * server URL on stdin and prints {"ServerURL","Username","Secret"};
 * Username "<token>" means Secret is an identity (OAuth2 refresh) token; a
 * non-zero exit whose output says "credentials not found" means no entry.
 * A "credsStore" helper that is not installed is skipped with a warning
 * (opts->warn) and "auths" answers, as in Docker; a missing "credHelpers"
 * helper is an error (Docker would fall back to "auths" quietly).
 *
 * Host names follow Docker's rules: a key may be "host", "host:port",
 * "https://host", "http://host/v2/"...; only the host[:port] part is
 * compared (case-insensitively).  docker.io, index.docker.io and
 * registry-1.docker.io are one registry, whose helper/server URL is
 * "https://index.docker.io/v1/".
 */
#ifndef REGISTRY_COMMON_CREDS_H
#define REGISTRY_COMMON_CREDS_H

#include "common/err.h"

struct reg_creds {
        char *username;       /* may be NULL with an identity token */
        char *password;       /* NULL when identity_token is set */
        char *identity_token; /* OAuth2 refresh token for POST /token, or NULL */
        char *source;         /* "--creds", a file path, or "docker-credential-NAME" */
};

/* A warning for the user (MSG names the file and helper; no secrets). */
typedef void (*reg_creds_warn_fn)(const char *msg, void *userdata);

struct reg_creds_opts {
        const char *creds;    /* "user:pass" or NULL */
        const char *authfile; /* or NULL */
        reg_creds_warn_fn warn; /* or NULL */
        void *warn_data;
};

/* Find credentials for REGISTRY ("docker.io", "ghcr.io", "localhost:5000").
 * Returns 1 with *ret set (caller frees with reg_creds_free), 0 with *ret
 * NULL when there are none, negative on a malformed file or a failing
 * helper.  OPTS may be NULL. */
int reg_creds_lookup(const char *registry, const struct reg_creds_opts *opts, struct reg_creds **ret, struct err **err);

/* The same, looking only in the config file PATH (no env, no fallbacks,
 * no warnings). */
int reg_creds_from_file(const char *path, const char *registry, struct reg_creds **ret, struct err **err);

/* Split "user:pass" (at the first ':'; the user may not be empty). */
int reg_creds_parse_userpass(const char *s, struct reg_creds **ret, struct err **err);

/* Wipes the secrets, then frees.  NULL is a no-op. */
void reg_creds_free(struct reg_creds *c);

/* The host[:port] a config key or registry name designates, lower-cased,
 * with the Docker Hub aliases folded to "docker.io".  Caller frees. */
char *reg_creds_host(const char *key);

#endif
