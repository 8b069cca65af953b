/* Variables in the lint checks: UndefinedVar (inside stages and in global
 * ARG values), UndefinedArgInFrom (FROM lines), and expanding FROM names
 * with the global ARG defaults for the checks that need the base name. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile/lint-internal.h"
#include "common/cleanup.h"

/* Variables a base image usually defines, or the runtime does: without the
 * base image's config we cannot tell, so these are never "undefined". */
static const char *const ambient_vars[] = {"PATH", "HOME", "HOSTNAME", "PWD", "TERM", "SHELL", "USER", "LANG", NULL};
/* BuildKit's predefined ARGs (usable without declaring them). */
static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                         "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                         "ALL_PROXY",  "all_proxy",  NULL};
/* The automatic platform ARGs: defined in the global scope (FROM lines and
 * global ARG values), inside a stage only once declared there. */
static const char *const platform_args[] = {"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
                                            "BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
                                            "TARGETSTAGE",    NULL};

static bool
in_list(const char *const *list, const char *name, size_t len)
{
        for (; *list; list++)
                if (strlen(*list) == len && memcmp(*list, name, len) == 0)
                        return true;
        return false;
}

bool
lint_is_name_start(char c)
{
        return isalpha((unsigned char) c) || c == '_';
}

bool
lint_is_name_char(char c)
{
        return isalnum((unsigned char) c) || c == '_';
}

#define SUGGEST_MAX_NAMES 256

/* " (did you mean PREFIX NAME?)" for the closest name of S, or "". */
static void
suggest(const struct strset *s, const char *prefix, const char *name, size_t len, char *out, size_t size)
{
        _cleanup_free_ char *n = xstrndup(name, len);
        size_t i, best = (size_t) -1;
        const char *b = NULL;

        out[0] = '\0';
        /* Suggestions are a courtesy: look at the first names only, so a
         * file with thousands of names and undefined uses stays linear. */
        for (i = 0; i < s->n && i < SUGGEST_MAX_NAMES; i++) {
                size_t vl = strlen(s->v[i]), d;

                /* The distance is at least the difference in length. */
                if (vl > len + 2 || len > vl + 2)
                        continue;
                d = df_levenshtein(n, s->v[i]);
                if (d < best) {
                        best = d;
                        b = s->v[i];
                }
        }
        if (b && best <= 2 && best < len)
                snprintf(out, size, " (did you mean %s%s?)", prefix, b);
}

/* Escaped `$` and single-quoted text are not expanded; `${V:-x}`,
 * `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?x}` and `${V?x}` handle an unset
 * variable on purpose. */
void
lint_check_vars(struct lint *l, const struct strset *scope, enum lint_vars_ctx ctx, const char *s, int line)
{
        bool dq = false;
        size_t i = 0, n = strlen(s);
        char esc = l->f->escape;

        /* Scopes no longer tracked would only give false reports. */
        if (l->untracked && ctx == LINT_VARS_STAGE)
                return;

        while (i < n) {
                size_t ns, ne;
                bool defaulted = false;

                if (s[i] == esc && i + 1 < n) {
                        i += 2;
                        continue;
                }
                if (s[i] == '\'' && !dq) {
                        const char *q = memchr(s + i + 1, '\'', n - i - 1);
                        i = q ? (size_t) (q - s) + 1 : n;
                        continue;
                }
                if (s[i] == '"') {
                        dq = !dq;
                        i++;
                        continue;
                }
                if (s[i] != '$' || i + 1 >= n) {
                        i++;
                        continue;
                }
                if (s[i + 1] == '{') {
                        int depth = 1;
                        ns = i + 2;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        if (ne < n && (s[ne] == '-' || s[ne] == '+' || s[ne] == '?' ||
                                       (s[ne] == ':' && ne + 1 < n &&
                                        (s[ne + 1] == '-' || s[ne + 1] == '+' || s[ne + 1] == '?'))))
                                defaulted = true;
                        i = ne;
                        while (i < n && depth > 0) {
                                if (s[i] == '{')
                                        depth++;
                                else if (s[i] == '}')
                                        depth--;
                                i++;
                        }
                } else if (lint_is_name_start(s[i + 1])) {
                        ns = i + 1;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        i = ne;
                } else {
                        i++;
                        continue;
                }
                if (ne == ns || !lint_is_name_start(s[ns]) || defaulted)
                        continue;
                if (set_has(scope, s + ns, ne - ns) || in_list(ambient_vars, s + ns, ne - ns) ||
                    in_list(proxy_args, s + ns, ne - ns) ||
                    (ctx != LINT_VARS_STAGE && in_list(platform_args, s + ns, ne - ns)))
                        continue;
                {
                        char sugg[96];

                        if (ctx == LINT_VARS_FROM) {
                                suggest(scope, "", s + ns, ne - ns, sugg, sizeof(sugg));
                                lint_report(l, R_UNDEF_ARG_FROM, line, "FROM argument '%.*s' is not declared%s",
                                            (int) (ne - ns), s + ns, sugg);
                        } else {
                                suggest(scope, "$", s + ns, ne - ns, sugg, sizeof(sugg));
                                lint_report(l, R_UNDEFVAR, line, "usage of undefined variable '$%.*s'%s",
                                            (int) (ne - ns), s + ns, sugg);
                        }
                }
        }
}

void
lint_check_flags_vars(struct lint *l, const struct build_df_instr *in, const struct strset *scope,
                      enum lint_vars_ctx ctx)
{
        for (size_t i = 0; i < in->n_flags; i++)
                if (in->flags[i].value)
                        lint_check_vars(l, scope, ctx, in->flags[i].value, in->start_line);
}

/* The last global ARG declaring NAME (LEN bytes): *ret_val its default or
 * NULL when it has none.  False when no global ARG declares it. */
static bool
meta_lookup(const struct build_df_file *f, const char *name, size_t len, const char **ret_val)
{
        bool found = false;

        *ret_val = NULL;
        for (size_t k = 0; k < f->n_instrs && f->instrs[k].kind != BUILD_DF_FROM; k++) {
                const struct build_df_instr *a = &f->instrs[k];

                if (a->kind != BUILD_DF_ARG)
                        continue;
                for (size_t w = 0; w < a->n_args; w++) {
                        if (strncmp(a->args[w], name, len) != 0)
                                continue;
                        if (a->args[w][len] == '=') {
                                *ret_val = a->args[w] + len + 1;
                                found = true;
                        } else if (a->args[w][len] == '\0') {
                                /* Re-declaring without a value keeps the default. */
                                found = true;
                        }
                }
        }
        return found;
}

char *
lint_resolve_meta(const struct build_df_file *f, const char *s)
{
        struct df_buf b = {0};
        size_t i = 0, n = strlen(s);

        while (i < n) {
                size_t ns, ne;
                const char *val = NULL;

                if (s[i] != '$') {
                        df_buf_addc(&b, s[i++]);
                        continue;
                }
                if (i + 1 < n && s[i + 1] == '{') {
                        ns = i + 2;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        if (ne >= n || s[ne] != '}')
                                goto fail;
                        i = ne + 1;
                } else {
                        ns = i + 1;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        i = ne;
                }
                if (ne == ns)
                        goto fail;
                meta_lookup(f, s + ns, ne - ns, &val);
                if (val == NULL || strpbrk(val, "$\"'\\"))
                        goto fail;
                df_buf_adds(&b, val);
        }
        return df_buf_steal(&b);
fail:
        df_buf_free(&b);
        return NULL;
}

/* A default value as the shell would read it: one pair of surrounding
 * quotes removed; NULL when anything else would need expanding. */
static char *
plain_value(const char *v)
{
        size_t n = strlen(v);

        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                if (memchr(v + 1, v[0], n - 2) || memchr(v + 1, '$', n - 2) || memchr(v + 1, '\\', n - 2))
                        return NULL;
                return xstrndup(v + 1, n - 2);
        }
        if (strpbrk(v, "$\"'\\"))
                return NULL;
        return xstrdup(v);
}

char *
lint_expand_defaults(const struct build_df_file *f, const char *s)
{
        struct df_buf b = {0};
        size_t i = 0, n = strlen(s);

        df_buf_adds(&b, "");
        while (i < n) {
                size_t ns, ne;
                const char *op = "", *word = NULL;
                size_t word_len = 0;
                const char *def;
                _cleanup_free_ char *val = NULL;
                bool set;

                if (s[i] == f->escape && i + 1 < n) {
                        df_buf_addc(&b, s[i + 1]);
                        i += 2;
                        continue;
                }
                if (s[i] == '"' || s[i] == '\'')
                        goto fail;
                if (s[i] != '$') {
                        df_buf_addc(&b, s[i++]);
                        continue;
                }
                if (i + 1 < n && s[i + 1] == '{') {
                        const char *close;

                        ns = i + 2;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        close = strchr(s + ne, '}');
                        if (close == NULL)
                                goto fail;
                        if (s[ne] != '}') {
                                if (s[ne] == ':' && (s[ne + 1] == '-' || s[ne + 1] == '+'))
                                        op = s[ne + 1] == '-' ? ":-" : ":+";
                                else if (s[ne] == '-' || s[ne] == '+')
                                        op = s[ne] == '-' ? "-" : "+";
                                else
                                        goto fail;
                                word = s + ne + strlen(op);
                                word_len = (size_t) (close - word);
                                if (memchr(word, '$', word_len) || memchr(word, '{', word_len))
                                        goto fail;
                        }
                        i = (size_t) (close - s) + 1;
                } else {
                        ns = i + 1;
                        ne = ns;
                        while (ne < n && lint_is_name_char(s[ne]))
                                ne++;
                        i = ne;
                }
                if (ne == ns || !lint_is_name_start(s[ns]) || !meta_lookup(f, s + ns, ne - ns, &def))
                        goto fail;
                if (def && (val = plain_value(def)) == NULL)
                        goto fail;
                set = def != NULL;
                if ((strcmp(op, ":-") == 0 && (!set || !*val)) || (strcmp(op, "-") == 0 && !set))
                        df_buf_add(&b, word, word_len);
                else if ((strcmp(op, ":+") == 0 && set && *val) || (strcmp(op, "+") == 0 && set))
                        df_buf_add(&b, word, word_len);
                else if (strchr(op, '+') == NULL && set)
                        df_buf_adds(&b, val);
        }
        return df_buf_steal(&b);
fail:
        df_buf_free(&b);
        return NULL;
}

void
lint_declare_arg(struct lint *l, const struct build_df_instr *in, struct strset *scope, bool global)
{
        for (size_t i = 0; i < in->n_args; i++) {
                const char *a = in->args[i], *eq = strchr(a, '=');
                size_t len = eq ? (size_t) (eq - a) : strlen(a);

                if (eq)
                        lint_check_vars(l, scope, global ? LINT_VARS_GLOBAL : LINT_VARS_STAGE, eq + 1, in->start_line);
                lint_check_secret(l, in, a, len);
                /* Re-declaring a global ARG inherits its default. */
                set_add(scope, a, len);
        }
}
