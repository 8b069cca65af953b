/* hadolint's most useful rules (github.com/hadolint/hadolint, src/Hadolint/
 * Rule/DLxxxx.hs), under CamelCase names; each rule's description names
 * its DL code.  Package pinning for apt-get/apk/pip/npm, -y for
 * apt-get/yum/dnf install, package caches left in the layer, cd and sudo
 * in RUN, COPY to a relative destination without WORKDIR, consecutive
 * RUNs that could be one. */
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"

static bool
has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool
in_list(const char *w, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(w, *list) == 0)
                        return true;
        return false;
}

/* The package words of C after its subcommand SUB (not flags, not the
 * values of the flags in TAKES_VALUE given as a separate word), one at a
 * time: *pos is the cursor (start at 0); NULL at the end. */
static const char *
next_package(const struct lint_cmd *c, size_t prog, const char *sub, const char *const *takes_value, size_t *pos)
{
        size_t i = *pos ? *pos : prog + 1;

        if (*pos == 0) {
                /* Skip to just after SUB. */
                while (i < c->argc && strcmp(c->argv[i], sub) != 0)
                        i++;
                if (i < c->argc)
                        i++;
        }
        for (; i < c->argc; i++) {
                const char *w = c->argv[i];

                if (w[0] == '-') {
                        if (takes_value && in_list(w, takes_value))
                                i++;
                        continue;
                }
                /* A variable may hold pinned names: do not guess. */
                if (strchr(w, '$'))
                        continue;
                *pos = i + 1;
                return w;
        }
        *pos = c->argc;
        return NULL;
}

/* DL3008 */
static bool
apt_unpinned(const struct lint_cmd *c, size_t p)
{
        static const char *const values[] = {"-t", "--target-release", "-o", "--option", NULL};
        size_t pos = 0;
        const char *w;

        while ((w = next_package(c, p, "install", values, &pos)))
                if (!strchr(w, '=') && !strchr(w, '/') && !has_suffix(w, ".deb"))
                        return true;
        return false;
}

/* DL3018 */
static bool
apk_unpinned(const struct lint_cmd *c, size_t p)
{
        static const char *const values[] = {"-t", "--virtual", "--repository", "-X", "--root", "-p", NULL};
        size_t pos = 0;
        const char *w;

        while ((w = next_package(c, p, "add", values, &pos)))
                if (!strchr(w, '=') && !strchr(w, '~') && !has_suffix(w, ".apk"))
                        return true;
        return false;
}

/* `pip`, `pip3`, `pip3.12`, or `python3 -m pip`: *ret_p is the word
 * before the pip arguments. */
static bool
is_pip(const struct lint_cmd *c, size_t *ret_p)
{
        size_t i = lint_cmd_prog(c);
        const char *b;

        if (i >= c->argc)
                return false;
        b = strrchr(c->argv[i], '/');
        b = b ? b + 1 : c->argv[i];
        if (strncmp(b, "pip", 3) == 0 && strspn(b + 3, "0123456789.") == strlen(b + 3)) {
                *ret_p = i;
                return true;
        }
        if (strncmp(b, "python", 6) == 0 && strspn(b + 6, "0123456789.") == strlen(b + 6) && i + 2 < c->argc &&
            strcmp(c->argv[i + 1], "-m") == 0 && strcmp(c->argv[i + 2], "pip") == 0) {
                *ret_p = i + 2;
                return true;
        }
        return false;
}

static bool
pip_vcs(const char *w)
{
        static const char *const schemes[] = {"git+", "git:", "hg+", "svn+", "svn:", "bzr+", NULL};

        for (size_t i = 0; schemes[i]; i++)
                if (strncmp(w, schemes[i], strlen(schemes[i])) == 0)
                        return true;
        return false;
}

/* DL3013 */
static bool
pip_unpinned(const struct lint_cmd *c, size_t p)
{
        static const char *const values[] = {"--abi",
                                             "-b",
                                             "--build",
                                             "-e",
                                             "--editable",
                                             "--extra-index-url",
                                             "-f",
                                             "--find-links",
                                             "-i",
                                             "--index-url",
                                             "--implementation",
                                             "--no-binary",
                                             "--only-binary",
                                             "--platform",
                                             "--prefix",
                                             "--progress-bar",
                                             "--proxy",
                                             "--python-version",
                                             "--root",
                                             "--src",
                                             "-t",
                                             "--target",
                                             "--trusted-host",
                                             "--upgrade-strategy",
                                             NULL};
        static const char *const req[] = {"-r", "--requirement", "-c", "--constraint", NULL};
        static const char *const ops[] = {"==", ">=", "<=", ">", "<", "!=", "~=", NULL};
        size_t pos = 0;
        const char *w;

        if (!lint_cmd_has(c, p, "install") || lint_cmd_flag(c, p, req) || lint_cmd_has(c, p, "."))
                return false;
        while ((w = next_package(c, p, "install", values, &pos))) {
                bool pinned = false;

                for (size_t k = 0; ops[k]; k++)
                        if (strstr(w, ops[k]))
                                pinned = true;
                if (pip_vcs(w))
                        pinned |= strchr(w, '@') != NULL;
                else
                        pinned |= strchr(w, '/') != NULL;
                pinned |= has_suffix(w, ".whl") || has_suffix(w, ".tar.gz");
                if (!pinned)
                        return true;
        }
        return false;
}

/* DL3016: `npm install` with package arguments. */
static bool
npm_unpinned(const struct lint_cmd *c, size_t p)
{
        static const char *const git[] = {"git://", "git+ssh://", "git+http://", "git+https://", NULL};
        static const char *const dirs[] = {"/", "./", "../", "~/", NULL};
        size_t pos = 0;
        const char *w;

        if (!lint_cmd_sub(c, p, "install"))
                return false;
        while ((w = next_package(c, p, "install", NULL, &pos))) {
                bool pinned = false;
                const char *name = w;

                for (size_t k = 0; git[k]; k++)
                        if (strncmp(w, git[k], strlen(git[k])) == 0)
                                goto git;
                for (size_t k = 0; dirs[k]; k++)
                        if (strncmp(w, dirs[k], strlen(dirs[k])) == 0)
                                pinned = true;
                if (has_suffix(w, ".tar") || has_suffix(w, ".tar.gz") || has_suffix(w, ".tgz"))
                        pinned = true;
                /* "@scope/name@1.0": the scope's '@' is no version. */
                if (name[0] == '@' && strchr(name, '/'))
                        name = strchr(name, '/');
                if (strchr(name, '@'))
                        pinned = true;
                if (!pinned)
                        return true;
                continue;
        git:
                if (!strchr(w, '#'))
                        return true;
        }
        return false;
}

static const char *const yes_apt[] = {"-y", "--yes", "--assume-yes", "-qq", "-q=2", "--quiet=2", NULL};
static const char *const yes_rpm[] = {"-y", "--assumeyes", NULL};

/* Package-manager rules over one RUN. */
static void
check_packages(struct lint *l, const struct build_df_instr *in, const struct lint_cmds *cmds)
{
        static const char *const rpm_install[] = {"install", "groupinstall", "localinstall", "reinstall", NULL};
        static const char *const no_cache[] = {"--no-cache", NULL};
        static const char *const no_cache_dir[] = {"--no-cache-dir", NULL};
        bool pin_apt = false, pin_apk = false, pin_pip = false, pin_npm = false;
        bool apk_cache = false, pip_cache = false;
        const char *no_yes = NULL;
        bool yum = false, dnf = false, yum_clean = false, dnf_clean = false;

        for (size_t k = 0; k < cmds->n; k++) {
                const struct lint_cmd *c = &cmds->v[k];
                size_t p;

                if ((lint_cmd_is(c, "apt-get", &p) || lint_cmd_is(c, "apt", &p)) && lint_cmd_has(c, p, "install")) {
                        pin_apt |= apt_unpinned(c, p);
                        if (!lint_cmd_flag(c, p, yes_apt) && !no_yes)
                                no_yes = c->argv[p];
                } else if (lint_cmd_is(c, "apk", &p) && lint_cmd_has(c, p, "add")) {
                        pin_apk |= apk_unpinned(c, p);
                        apk_cache |= !lint_cmd_flag(c, p, no_cache);
                } else if (is_pip(c, &p) && lint_cmd_has(c, p, "install")) {
                        pin_pip |= pip_unpinned(c, p);
                        pip_cache |= !lint_cmd_flag(c, p, no_cache_dir);
                } else if (lint_cmd_is(c, "npm", &p)) {
                        pin_npm |= npm_unpinned(c, p);
                } else if (lint_cmd_is(c, "yum", &p) || lint_cmd_is(c, "dnf", &p) || lint_cmd_is(c, "microdnf", &p)) {
                        bool is_yum = lint_cmd_is(c, "yum", NULL);
                        bool inst = false;

                        for (size_t i = p + 1; i < c->argc; i++)
                                inst |= in_list(c->argv[i], rpm_install);
                        if (inst) {
                                if (is_yum)
                                        yum = true;
                                else
                                        dnf = true;
                                /* microdnf never asks. */
                                if (!lint_cmd_is(c, "microdnf", NULL) && !lint_cmd_flag(c, p, yes_rpm) && !no_yes)
                                        no_yes = c->argv[p];
                        }
                        if (lint_cmd_has(c, p, "clean") && lint_cmd_has(c, p, "all")) {
                                if (is_yum)
                                        yum_clean = true;
                                else
                                        dnf_clean = true;
                        }
                } else if (lint_cmd_is(c, "rm", &p)) {
                        for (size_t i = p + 1; i < c->argc; i++) {
                                yum_clean |= strncmp(c->argv[i], "/var/cache/yum", 14) == 0;
                                dnf_clean |= strncmp(c->argv[i], "/var/cache/dnf", 14) == 0;
                        }
                }
        }
        if (pin_apt)
                lint_report(l, R_PIN_APT, in->start_line,
                            "pin versions in apt-get install: apt-get install <package>=<version>");
        if (pin_apk)
                lint_report(l, R_PIN_APK, in->start_line, "pin versions in apk add: apk add <package>=<version>");
        if (pin_pip)
                lint_report(l, R_PIN_PIP, in->start_line,
                            "pin versions in pip install: pip install <package>==<version>, or pip install -r "
                            "<requirements file>");
        if (pin_npm)
                lint_report(l, R_PIN_NPM, in->start_line,
                            "pin versions in npm install: npm install <package>@<version>");
        if (no_yes)
                lint_report(l, R_YES, in->start_line,
                            "%s install without -y waits for an answer nobody gives: use %s install -y", no_yes,
                            no_yes);
        if (apk_cache && !lint_run_mounts(in, "/var/cache/apk"))
                lint_report_final(l, R_APK_CACHE, in->start_line,
                                  "apk add without --no-cache keeps the package index in the layer: use apk add "
                                  "--no-cache");
        if (pip_cache && !lint_run_mounts(in, "/root/.cache/pip") && !set_has(&l->scope, "PIP_NO_CACHE_DIR", 16))
                lint_report_final(l, R_PIP_CACHE, in->start_line,
                                  "pip install without --no-cache-dir keeps pip's cache in the layer: use pip install "
                                  "--no-cache-dir");
        if ((yum && !yum_clean && !lint_run_mounts(in, "/var/cache/yum")) ||
            (dnf && !dnf_clean && !lint_run_mounts(in, "/var/cache/dnf")))
                lint_report_final(l, R_YUM_CLEAN, in->start_line,
                                  "%s install without %s clean all in the same RUN keeps the package cache in the "
                                  "layer",
                                  yum && !yum_clean ? "yum" : "dnf", yum && !yum_clean ? "yum" : "dnf");
}

/* DL3059: hadolint leaves RUNs with more than two commands alone (they
 * were split on purpose), and RUNs with different flags (--mount...). */
static bool
same_flags(const struct build_df_instr *a, const struct build_df_instr *b)
{
        if (a->n_flags != b->n_flags)
                return false;
        for (size_t i = 0; i < a->n_flags; i++)
                if (strcmp(a->flags[i].raw, b->flags[i].raw) != 0)
                        return false;
        return true;
}

void
lint_hl_run(struct lint *l, const struct build_df_instr *in, const struct lint_cmds *cmds)
{
        struct lint_stage *cur = lint_cur(l);
        bool cd = false, sudo = false;

        check_packages(l, in, cmds);
        for (size_t k = 0; k < cmds->n; k++) {
                const struct lint_cmd *c = &cmds->v[k];

                cd |= lint_cmd_is(c, "cd", NULL);
                for (size_t i = 0; i < c->argc && i <= lint_cmd_prog(c); i++) {
                        const char *b = strrchr(c->argv[i], '/');
                        sudo |= strcmp(b ? b + 1 : c->argv[i], "sudo") == 0;
                }
        }
        if (cd)
                lint_report(l, R_CD, in->start_line, "use WORKDIR to switch to a directory, not cd in RUN");
        if (sudo)
                lint_report(l, R_SUDO, in->start_line,
                            "do not use sudo in RUN: the build runs as root already, or as the USER set; sudo's "
                            "tty and environment handling is unpredictable");
        if (cur->prev_run && cur->prev_run_cmds <= 2 && cmds->n <= 2 && same_flags(cur->prev_run, in))
                lint_report(l, R_CONSECUTIVE_RUN, in->start_line,
                            "multiple consecutive RUN instructions: consider joining them into one (one layer)");
        cur->prev_run = in;
        cur->prev_run_cmds = cmds->n;
}

void
lint_hl_other(struct lint *l, const struct build_df_instr *in)
{
        struct lint_stage *cur = lint_cur(l);

        if (cur && in->kind != BUILD_DF_RUN)
                cur->prev_run = NULL;
}

/* DL3045 */
void
lint_hl_copy(struct lint *l, const struct build_df_instr *in)
{
        struct lint_stage *cur = lint_cur(l);
        _cleanup_free_ char *dest = NULL;
        size_t n;

        if (in->n_args < 2 || cur->workdir)
                return;
        dest = xstrdup(in->args[in->n_args - 1]);
        n = strlen(dest);
        if (!in->json && n >= 2 && (dest[0] == '"' || dest[0] == '\'') && dest[n - 1] == dest[0]) {
                memmove(dest, dest + 1, n - 2);
                dest[n - 2] = '\0';
        }
        if (dest[0] == '/' || dest[0] == '$' || (dest[0] && dest[1] == ':' && (dest[2] == '\\' || dest[2] == '/')))
                return;
        lint_report(l, R_COPY_RELATIVE, in->start_line,
                    "COPY to a relative destination (%s) without WORKDIR set: it depends on the base image's "
                    "working directory",
                    dest);
}
