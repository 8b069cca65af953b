/* Credential lookup: config files and docker-credential helpers. */
#include "registry/common/creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/common/base64.h"

extern char **environ;

#define HELPER_OUTPUT_MAX LIMIT_CRED_HELPER_OUTPUT
#define HELPER_TIMEOUT_MS 30000
#define DOCKER_HUB_URL "https://index.docker.io/v1/"

void
reg_creds_free(struct reg_creds *c)
{
        if (!c)
                return;
        free_secret(c->username);
        free_secret(c->password);
        free_secret(c->identity_token);
        free(c->source);
        free(c);
}
DEFINE_FREEP(struct reg_creds, reg_creds_free)

char *
reg_creds_host(const char *key)
{
        const char *p = key;
        char *h;
        size_t n;

        if (strncasecmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncasecmp(p, "http://", 7) == 0)
                p += 7;
        n = strcspn(p, "/");
        h = xstrndup(p, n);
        for (char *q = h; *q; q++)
                *q = (char) tolower((unsigned char) *q);
        if (strcmp(h, "index.docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0 ||
            strcmp(h, "registry.hub.docker.com") == 0) {
                free(h);
                h = xstrdup("docker.io");
        }
        return h;
}

int
reg_creds_parse_userpass(const char *s, struct reg_creds **ret, struct err **err)
{
        const char *colon = strchr(s, ':');
        struct reg_creds *c;

        if (!colon || colon == s)
                return err_set(err, EINVAL, "credentials must be USER:PASSWORD");
        c = xcalloc(1, sizeof(*c));
        c->username = xstrndup(s, (size_t) (colon - s));
        c->password = xstrdup(colon + 1);
        c->source = xstrdup("--creds");
        *ret = c;
        return 0;
}

/* Wipe every string value in J (an auth file or a helper's answer holds
 * passwords and tokens; jansson frees its copies without clearing them).
 * Depth is bounded by jansson's parser. */
static void
json_wipe_strings(json_t *j)
{
        const char *key;
        json_t *v;
        size_t i;

        if (json_is_string(j)) {
                explicit_bzero((char *) json_string_value(j), json_string_length(j));
        } else if (json_is_object(j)) {
                json_object_foreach(j, key, v)
                        json_wipe_strings(v);
        } else if (json_is_array(j)) {
                json_array_foreach(j, i, v)
                        json_wipe_strings(v);
        }
}

/* ---- credential helpers ---- */

static bool
helper_name_ok(const char *name)
{
        if (!*name || strlen(name) > 64)
                return false;
        for (const char *p = name; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.')
                        return false;
        return true;
}

/* Run `docker-credential-NAME get` with SERVER on stdin; collect stdout and
 * stderr (each capped), wait for the exit status. */
static int
run_helper(const char *name, const char *server, char **ret_out, char **ret_errout, int *ret_status, struct err **err)
{
        _cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
        int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
        char *obuf = xcalloc(1, HELPER_OUTPUT_MAX + 1), *ebuf = xcalloc(1, 4096 + 1);
        size_t olen = 0, elen = 0;
        posix_spawn_file_actions_t fa;
        char *argv[] = {prog, (char *) "get", NULL};
        struct timespec start, now;
        pid_t pid;
        int r, status = 0;
        bool timed_out = false;

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
                r = err_set(err, errno, "pipe: %s", strerror(errno));
                goto fail;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
        r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]), close(out[1]), close(errp[1]);
        in[0] = out[1] = errp[1] = -1;
        if (r != 0) {
                r = err_set(err, r, "credential helper %s: %s", prog, strerror(r));
                goto fail;
        }
        /* The server URL is tiny: one write cannot block on a fresh pipe. */
        {
                sigset_t set, old;
                sigemptyset(&set);
                sigaddset(&set, SIGPIPE);
                pthread_sigmask(SIG_BLOCK, &set, &old);
                sigset_t pending;
                if (write(in[1], server, strlen(server)) < 0) {
                        /* A helper that exits without reading is judged by its status. */
                }
                /* Its SIGPIPE is then pending on this thread (blocked, not
                 * ignored): take it before the old mask returns, or it kills
                 * the process (found by fuzz_creds). */
                if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
                        struct timespec zero = {0, 0};
                        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                                ;
                }
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        close(in[1]);
        in[1] = -1;

        clock_gettime(CLOCK_MONOTONIC, &start);
        while (out[0] >= 0 || errp[0] >= 0) {
                struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
                long left;
                clock_gettime(CLOCK_MONOTONIC, &now);
                left =
                    HELPER_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0) {
                        timed_out = true;
                        kill(pid, SIGKILL);
                        break;
                }
                if (poll(p, 2, (int) left) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &out[0] : &errp[0];
                        char *buf = i == 0 ? obuf : ebuf;
                        size_t *len = i == 0 ? &olen : &elen, cap = i == 0 ? HELPER_OUTPUT_MAX : 4096;
                        char scratch[4096];
                        ssize_t n;
                        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(*fd, scratch, sizeof(scratch));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                close(*fd);
                                *fd = -1;
                                continue;
                        }
                        if (*len + (size_t) n > cap) {
                                kill(pid, SIGKILL);
                                explicit_bzero(scratch, sizeof(scratch));
                                waitpid(pid, &status, 0);
                                r = err_set(err, EMSGSIZE, "credential helper %s: output larger than %zu bytes", prog,
                                            cap);
                                goto fail;
                        }
                        memcpy(buf + *len, scratch, (size_t) n);
                        *len += (size_t) n;
                        explicit_bzero(scratch, sizeof(scratch));
                }
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (timed_out) {
                r = err_set(err, ETIMEDOUT, "credential helper %s: no answer within %d s", prog,
                            HELPER_TIMEOUT_MS / 1000);
                goto fail;
        }
        obuf[olen] = '\0';
        ebuf[elen] = '\0';
        *ret_out = obuf;
        *ret_errout = ebuf;
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        for (int i = 0; i < 2; i++) {
                if (out[i] >= 0)
                        close(out[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
        }
        return 0;

fail:
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0)
                        close(in[i]);
                if (out[i] >= 0)
                        close(out[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
        }
        free_secret(obuf);
        free(ebuf);
        return r;
}

/* Strip control characters and cut at 200 bytes for an error message. */
static void
sanitize(char *s)
{
        size_t n = 0;
        for (char *p = s; *p && n < 200; p++)
                s[n++] = (*p < 0x20 || *p == 0x7f) ? ' ' : *p;
        s[n] = '\0';
}

static int
helper_get(const char *name, const char *registry, struct reg_creds **ret, struct err **err)
{
        _cleanup_free_ char *errout = NULL;
        char *out = NULL;
        const char *server = strcmp(registry, "docker.io") == 0 ? DOCKER_HUB_URL : registry;
        const char *user, *secret;
        json_t *j;
        int status, r;
        struct reg_creds *c;

        if (!helper_name_ok(name))
                return err_set(err, EINVAL, "credential helper name '%.64s' is not valid", name);
        r = run_helper(name, server, &out, &errout, &status, err);
        if (r < 0)
                return r;
        if (status != 0) {
                /* docker-credential-helpers print this text for a missing entry. */
                bool missing = strcasestr(out, "credentials not found") || strcasestr(errout, "credentials not found");
                free_secret(out);
                if (missing)
                        return 0;
                sanitize(errout);
                return err_set(err, EIO, "credential helper docker-credential-%s get %s: exit status %d: %s", name,
                               server, status, errout);
        }
        j = json_loads(out, 0, NULL);
        free_secret(out);
        user = json_string_value(json_object_get(j, "Username"));
        secret = json_string_value(json_object_get(j, "Secret"));
        if (!json_is_object(j) || !user || !secret) {
                json_wipe_strings(j);
                json_decref(j);
                return err_set(err, EINVAL,
                               "credential helper docker-credential-%s: output is not {\"Username\",\"Secret\"} JSON",
                               name);
        }
        c = xcalloc(1, sizeof(*c));
        if (strcmp(user, "<token>") == 0) {
                c->identity_token = xstrdup(secret);
        } else {
                c->username = xstrdup(user);
                c->password = xstrdup(secret);
        }
        c->source = xasprintf("docker-credential-%s", name);
        /* jansson keeps its own copy of the secret: wipe it. */
        json_wipe_strings(j);
        json_decref(j);
        *ret = c;
        return 1;
}

/* ---- config files ---- */

/* The value in OBJ whose key designates REGISTRY: an exact key first, then
 * Docker's normalised comparison. */
static json_t *
match_host(json_t *obj, const char *registry)
{
        const char *key;
        json_t *v, *exact = json_object_get(obj, registry);

        if (exact)
                return exact;
        json_object_foreach(obj, key, v)
        {
                _cleanup_free_ char *h = reg_creds_host(key);
                if (strcmp(h, registry) == 0)
                        return v;
        }
        return NULL;
}

static int
from_auths(json_t *entry, const char *path, const char *key, struct reg_creds **ret, struct err **err)
{
        const char *auth = json_string_value(json_object_get(entry, "auth"));
        const char *idtok = json_string_value(json_object_get(entry, "identitytoken"));
        _cleanup_(reg_creds_freep) struct reg_creds *c = xcalloc(1, sizeof(*c));

        if (!json_is_object(entry))
                return err_set(err, EINVAL, "%s: auths.%s: expected an object", path, key);
        if (auth && *auth) {
                unsigned char *raw = NULL;
                size_t len;
                struct err *e2 = NULL;
                char *colon;

                if (reg_b64_decode(auth, strlen(auth), &raw, &len, &e2) < 0) {
                        err_clear(&e2);
                        return err_set(err, EINVAL, "%s: auths.%s.auth: not base64", path, key);
                }
                colon = memchr(raw, ':', len);
                if (!colon || strlen((char *) raw) != len) {
                        explicit_bzero(raw, len);
                        free(raw);
                        return err_set(err, EINVAL, "%s: auths.%s.auth: not base64 of USER:PASSWORD", path, key);
                }
                *colon = '\0';
                c->username = xstrdup((char *) raw);
                c->password = xstrdup(colon + 1);
                explicit_bzero(raw, len);
                free(raw);
        }
        if (idtok && *idtok) {
                free_secret(c->password);
                c->password = NULL;
                c->identity_token = xstrdup(idtok);
        }
        if (!c->username && !c->identity_token)
                return 0; /* an empty placeholder (credsStore keeps the secret) */
        c->source = xstrdup(path);
        *ret = steal_ptr(&c);
        return 1;
}

/* Tell about a credsStore helper that is not installed.  Docker goes on
 * without it and so do we, but out loud: unexplained, the 401 that may
 * follow reads like a wrong password. */
static void
warn_missing_store(const struct reg_creds_opts *opts, const char *path, const char *name)
{
        if (!opts || !opts->warn)
                return;
        _cleanup_free_ char *msg = xasprintf("docker-credential-%s not found on PATH (credsStore \"%s\" in %s); "
                                             "going on without it",
                                             name, name, path);
        opts->warn(msg, opts->warn_data);
}

/* Docker's choice (docker/cli configfile GetCredentialsStore and the
 * native store's Get): a helper configured for the host -- credHelpers[HOST],
 * else credsStore -- is the only source for it; its "credentials not found"
 * means no credentials, and the inline auths entry is not consulted.  The
 * auths entry serves hosts without a helper, and (as Docker ends up doing
 * when the store's program cannot run) hosts whose credsStore is not
 * installed. */
static int
from_file(const char *path, const char *registry, const struct reg_creds_opts *opts, struct reg_creds **ret,
          struct err **err)
{
        _cleanup_free_ char *host = reg_creds_host(registry);
        _cleanup_free_ char *text = NULL;
        json_t *j, *helpers, *auths, *v;
        json_error_t je;
        const char *store;
        size_t len;
        int r;

        r = fs_read_file(path, LIMIT_JSON_SIZE, &text, &len, err);
        if (r < 0)
                return r;
        j = json_loadb(text, len, 0, &je);
        explicit_bzero(text, len);
        if (!j || !json_is_object(j)) {
                r = j ? err_set(err, EINVAL, "%s: expected a JSON object", path)
                      : err_set(err, EINVAL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
                json_wipe_strings(j);
                json_decref(j);
                return r;
        }
        r = 0;
        auths = json_object_get(j, "auths");
        if (auths && !json_is_object(auths)) {
                r = err_set(err, EINVAL, "%s: auths: expected an object", path);
                goto out;
        }
        helpers = json_object_get(j, "credHelpers");
        if (json_is_object(helpers) && (v = match_host(helpers, host))) {
                /* A credHelpers entry names this host explicitly: a helper
                 * that cannot run stays an error (Docker would quietly
                 * fall back to the auths entry). */
                if (!json_is_string(v))
                        r = err_set(err, EINVAL, "%s: credHelpers.%s: expected a helper name", path, host);
                else
                        r = helper_get(json_string_value(v), host, ret, err);
                goto out;
        }
        store = json_string_value(json_object_get(j, "credsStore"));
        if (store && *store) {
                r = helper_get(store, host, ret, err);
                /* A config copied from another machine often names a store
                 * ("desktop", "osxkeychain") that is not installed here;
                 * that must not block anonymous pulls. */
                if (r != -ENOENT)
                        goto out;
                err_clear(err);
                r = 0;
                warn_missing_store(opts, path, store);
        }
        if (auths && (v = match_host(auths, host)))
                r = from_auths(v, path, host, ret, err);
out:
        if (r < 0)
                err_prefix(err, "credentials for %s", host);
        json_wipe_strings(j);
        json_decref(j);
        return r;
}

int
reg_creds_from_file(const char *path, const char *registry, struct reg_creds **ret, struct err **err)
{
        return from_file(path, registry, NULL, ret, err);
}

static int
try_file(const char *path, const char *registry, const struct reg_creds_opts *opts, struct reg_creds **ret,
         struct err **err)
{
        int r = from_file(path, registry, opts, ret, err);
        if (r == -ENOENT || r == -ENOTDIR) {
                err_clear(err);
                return 0;
        }
        return r;
}

int
reg_creds_lookup(const char *registry, const struct reg_creds_opts *opts, struct reg_creds **ret, struct err **err)
{
        const char *env;
        int r;

        *ret = NULL;
        if (opts && opts->creds)
                return reg_creds_parse_userpass(opts->creds, ret, err) < 0 ? -EINVAL : 1;
        if (opts && opts->authfile) {
                r = from_file(opts->authfile, registry, opts, ret, err);
                return r;
        }
        if ((env = getenv("REGISTRY_AUTH_FILE")) && *env && (r = try_file(env, registry, opts, ret, err)) != 0)
                return r;
        if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
                _cleanup_free_ char *p = xasprintf("%s/containers/auth.json", env);
                if ((r = try_file(p, registry, opts, ret, err)) != 0)
                        return r;
        }
        {
                /* podman's per-user file: $XDG_CONFIG_HOME or ~/.config. */
                const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
                _cleanup_free_ char *p = xdg && *xdg     ? xasprintf("%s/containers/auth.json", xdg)
                                         : home && *home ? xasprintf("%s/.config/containers/auth.json", home)
                                                         : NULL;
                if (p && (r = try_file(p, registry, opts, ret, err)) != 0)
                        return r;
        }
        _cleanup_free_ char *docker_config = NULL;
        if ((env = getenv("DOCKER_CONFIG")) && *env) {
                docker_config = xasprintf("%s/config.json", env);
                if ((r = try_file(docker_config, registry, opts, ret, err)) != 0)
                        return r;
        }
        if ((env = getenv("HOME")) && *env) {
                _cleanup_free_ char *p = xasprintf("%s/.docker/config.json", env);
                /* DOCKER_CONFIG=~/.docker names the same file: once is
                 * enough (a helper would run, and warn, twice). */
                if ((!docker_config || strcmp(p, docker_config) != 0) &&
                    (r = try_file(p, registry, opts, ret, err)) != 0)
                        return r;
        }
        return 0;
}
