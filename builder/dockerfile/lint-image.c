/* Our own checks: image security and hygiene (UnpinnedBaseImage,
 * RunAsRoot, AddInsteadOfCopy, SecretsUsedInArgOrEnv, the apt-get checks,
 * ExposePrivilegedPort, JSONArgsInvalid). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"

void
lint_check_unpinned(struct lint *l, const struct build_df_instr *in)
{
        _cleanup_free_ char *img = NULL;
        const char *slash, *colon;

        if (in->n_args < 1)
                return;
        if (strcasecmp(in->args[0], "scratch") == 0 || lint_stage_by_name(l, in->args[0]) >= 0)
                return;
        img = lint_resolve_meta(l->f, in->args[0]);
        if (img == NULL || strcasecmp(img, "scratch") == 0 || lint_stage_by_name(l, img) >= 0)
                return;
        if (strchr(img, '@'))
                return; /* pinned by digest */
        slash = strrchr(img, '/');
        colon = strrchr(slash ? slash : img, ':');
        if (colon == NULL)
                lint_report(l, R_UNPINNED, in->start_line,
                            "base image %s has no tag: pin a version (%s:1.2.3) or a digest (%s@sha256:...)", img, img,
                            img);
        else if (strcmp(colon + 1, "latest") == 0)
                lint_report(l, R_UNPINNED, in->start_line,
                            "base image %s uses \"latest\": pin a version or a digest (%.*s@sha256:...)", img,
                            (int) (colon - img), img);
}

static bool
is_remote_or_archive(const char *src)
{
        static const char *const exts[] = {".tar",    ".tar.gz", ".tgz",     ".tar.bz2", ".tbz2",   ".tbz",
                                           ".tar.xz", ".txz",    ".tar.zst", ".tzst",    ".tar.lz", ".gz",
                                           ".bz2",    ".xz",     ".zst",     NULL};
        size_t n = strlen(src), i;

        if (strstr(src, "://") || strncmp(src, "git@", 4) == 0)
                return true;
        for (i = 0; exts[i]; i++) {
                size_t e = strlen(exts[i]);
                if (n > e && strcasecmp(src + n - e, exts[i]) == 0)
                        return true;
        }
        /* A variable could name either; do not guess. */
        return strchr(src, '$') != NULL;
}

void
lint_check_add(struct lint *l, const struct build_df_instr *in)
{
        if (in->n_args < 2 || build_df_flag(in, "checksum") || build_df_flag(in, "keep-git-dir"))
                return;
        /* `ADD <<EOT /dest`: inline content, which is no local file. */
        if (in->n_heredocs > 0)
                return;
        for (size_t i = 0; i + 1 < in->n_args; i++)
                if (is_remote_or_archive(in->args[i]))
                        return;
        lint_report(l, R_ADD, in->start_line, "ADD %s copies local files: use COPY (ADD is for URLs and tar archives)",
                    in->args[0]);
}

/* BuildKit's rule: a name is secret-looking when one of its words (split
 * at '_', any case) is a secret token, unless one is a token that marks
 * public data or a reference to it (GPG_PUBLIC_KEY, PASSWORD_FILE,
 * TOKEN_VERSION). */
static bool
secret_name(const char *name, size_t len)
{
        static const char *const deny[] = {"apikey", "auth",   "credential", "credentials", "key", "password",
                                           "pword",  "passwd", "secret",     "token",       NULL};
        static const char *const allow[] = {"public", "file", "version", NULL};
        bool secret = false;
        size_t i = 0;

        while (i <= len) {
                size_t w = 0;

                while (i + w < len && name[i + w] != '_')
                        w++;
                for (size_t k = 0; allow[k]; k++)
                        if (strlen(allow[k]) == w && strncasecmp(name + i, allow[k], w) == 0)
                                return false;
                for (size_t k = 0; deny[k]; k++)
                        if (strlen(deny[k]) == w && strncasecmp(name + i, deny[k], w) == 0)
                                secret = true;
                i += w + 1;
        }
        return secret;
}

void
lint_check_secret(struct lint *l, const struct build_df_instr *in, const char *name, size_t len)
{
        if (!secret_name(name, len))
                return;
        if (in->kind == BUILD_DF_ENV)
                lint_report(l, R_SECRETS, in->start_line,
                            "ENV %.*s looks like a secret: it stays in the image config; use RUN --mount=type=secret",
                            (int) len, name);
        else
                lint_report(l, R_SECRETS, in->start_line,
                            "ARG %.*s looks like a secret: build args stay in the image history; use RUN "
                            "--mount=type=secret",
                            (int) len, name);
}

static bool
no_recommends(const struct lint_cmd *c, size_t p)
{
        for (size_t i = p + 1; i < c->argc; i++) {
                const char *w = c->argv[i];

                if (strncmp(w, "--no-install-recommends", 23) == 0 || strstr(w, "APT::Install-Recommends=false") ||
                    strstr(w, "APT::Install-Recommends=0"))
                        return true;
        }
        return false;
}

void
lint_check_apt(struct lint *l, const struct build_df_instr *in, const struct lint_cmds *cmds)
{
        bool install = false, recommends_ok = true, cleaned = false;

        for (size_t k = 0; k < cmds->n; k++) {
                const struct lint_cmd *c = &cmds->v[k];
                size_t p;

                if (lint_cmd_is(c, "apt-get", &p) || lint_cmd_is(c, "apt", &p)) {
                        if (lint_cmd_has(c, p, "install")) {
                                install = true;
                                if (!no_recommends(c, p))
                                        recommends_ok = false;
                        }
                        /* apt 2.7+: removes the lists as rm -rf would. */
                        if (lint_cmd_has(c, p, "dist-clean"))
                                cleaned = true;
                } else if (lint_cmd_is(c, "rm", &p)) {
                        for (size_t i = p + 1; i < c->argc; i++)
                                if (strncmp(c->argv[i], "/var/lib/apt/lists", 18) == 0)
                                        cleaned = true;
                }
        }
        if (!install)
                return;
        if (!recommends_ok)
                lint_report(
                    l, R_APT_RECOMMENDS, in->start_line,
                    "apt-get install without --no-install-recommends pulls in packages the image does not need");
        /* Lists on a cache or tmpfs mount never reach the layer. */
        if (!cleaned && !lint_run_mounts(in, "/var/lib/apt/lists"))
                lint_report_final(l, R_APT_LISTS, in->start_line,
                                  "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN keeps the "
                                  "package lists in the layer");
}

void
lint_check_expose_port(struct lint *l, const struct build_df_instr *in)
{
        for (size_t i = 0; i < in->n_args; i++) {
                const char *a = in->args[i];
                char *end;
                long port;

                if (strchr(a, '$') || strchr(a, ':'))
                        continue;
                port = strtol(a, &end, 10);
                if (end == a || (*end && *end != '/' && *end != '-'))
                        continue;
                if (port >= 0 && port < 1024)
                        lint_report(
                            l, R_PORT, in->start_line,
                            "EXPOSE %s: ports below 1024 need privileges to bind; listen on a port >= 1024 and map it",
                            a);
        }
}

static bool
is_root_user(const char *u)
{
        size_t n = strcspn(u, ":");
        return (n == 4 && strncmp(u, "root", 4) == 0) || (n == 1 && u[0] == '0');
}

void
lint_check_final_user(struct lint *l)
{
        int s = (int) l->n_stages - 1, root = s;
        bool runs = false;

        if (s < 0)
                return;
        /* Follow FROM <stage> chains: a base stage's USER carries over. */
        for (int k = s; k >= 0; k = l->stages[k].parent) {
                runs |= l->stages[k].runs;
                root = k;
        }
        while (s >= 0 && l->stages[s].user == NULL)
                s = l->stages[s].parent;
        if (s < 0) {
                const struct lint_stage *last = &l->stages[l->n_stages - 1];

                /* A scratch stage without CMD or ENTRYPOINT exports files
                 * (`--output`); nothing runs it as a container. */
                if (l->stages[root].scratch && !runs)
                        return;
                /* The base image's own USER, when its config is known. */
                if (l->stages[root].base_user && !is_root_user(l->stages[root].base_user))
                        return;
                lint_report(l, R_ROOT, last->from->start_line,
                            "the final stage sets no USER: the container runs as root (add USER with a non-root user)");
        } else if (l->stages[s].user->n_args > 0 && is_root_user(l->stages[s].user->args[0])) {
                lint_report(l, R_ROOT, l->stages[s].user->start_line,
                            "the final stage runs as %s: switch to a non-root USER", l->stages[s].user->args[0]);
        }
}

/* Whether the text after `[` reads as a JSON array gone wrong rather than
 * the shell's test command: the first element is a quoted string followed
 * by a comma, by the closing bracket at the end of the text, or by
 * nothing.  `RUN [ "$X" = "true" ] && ...` is a test. */
static bool
json_intended(const char *s)
{
        char q;

        if (*s++ != '[')
                return false;
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s != '"' && *s != '\'')
                return false;
        q = *s++;
        while (*s && *s != q) {
                if (*s == '\\' && s[1])
                        s++;
                s++;
        }
        if (*s == '\0')
                return true; /* an unterminated string */
        s++;
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == ',' || *s == '\0')
                return true;
        if (*s != ']')
                return false;
        s++;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        return *s == '\0';
}

/* Shell-form arguments that were meant as JSON (`CMD ['a', 'b']`, a
 * missing bracket): Docker silently runs them through the shell. */
bool
lint_check_bad_json(struct lint *l, const struct build_df_instr *in)
{
        _cleanup_free_ char *text = NULL;
        struct df_buf b = {0};
        size_t first;

        switch (in->kind) {
        case BUILD_DF_RUN:
        case BUILD_DF_CMD:
        case BUILD_DF_ENTRYPOINT:
        case BUILD_DF_SHELL:
        case BUILD_DF_COPY:
        case BUILD_DF_ADD:
        case BUILD_DF_VOLUME:
        case BUILD_DF_HEALTHCHECK:
                break;
        default:
                return false;
        }
        if (in->json || in->n_args == 0)
                return false;
        first = in->kind == BUILD_DF_HEALTHCHECK && in->n_args > 1 ? 1 : 0;
        if (in->args[first][0] != '[')
                return false;
        /* COPY/ADD/VOLUME split words: join them back. */
        for (size_t i = first; i < in->n_args; i++) {
                if (i > first)
                        df_buf_addc(&b, ' ');
                df_buf_adds(&b, in->args[i]);
        }
        text = df_buf_steal(&b);
        if (!json_intended(text))
                return false;
        lint_report(l, R_BADJSON, in->start_line,
                    "%s arguments look like a JSON array but are not valid JSON (use double quotes, close the "
                    "bracket): they run as a shell command",
                    build_df_kind_name(in->kind));
        return true;
}
