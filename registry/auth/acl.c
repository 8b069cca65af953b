/* Repository-name patterns, action words, token scopes and the
 * x-www-form-urlencoded parameters of the token endpoint. */
#include "registry/auth/auth-internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/hex.h"
#include "registry/auth/auth.h"

#define MAX_COMPONENTS 64

static size_t
split(char *s, char **comp)
{
        size_t n = 0;
        for (char *p = s;;) {
                char *slash = strchr(p, '/');
                if (n == MAX_COMPONENTS)
                        return SIZE_MAX;
                comp[n++] = p;
                if (!slash)
                        break;
                *slash = '\0';
                p = slash + 1;
        }
        return n;
}

/* Does the pattern PAT (NP components) match NAME (NN components)?
 * ok[i][j]: pattern components i.. match name components j..; filled from
 * the end, so every (i, j) is decided once: O(NP * NN) fnmatch calls even
 * for many "**" (plain backtracking was exponential in their number). */
static bool
match_components(char **pat, size_t np, char **name, size_t nn)
{
        bool ok[MAX_COMPONENTS + 1][MAX_COMPONENTS + 1];

        for (size_t i = np + 1; i-- > 0;)
                for (size_t j = nn + 1; j-- > 0;) {
                        if (i == np)
                                ok[i][j] = j == nn;
                        else if (strcmp(pat[i], "**") == 0)
                                /* Zero components, or one more. */
                                ok[i][j] = ok[i + 1][j] || (j < nn && ok[i][j + 1]);
                        else
                                ok[i][j] = j < nn && ok[i + 1][j + 1] && fnmatch(pat[i], name[j], 0) == 0;
                }
        return ok[0][0];
}

bool
reg_acl_glob(const char *pattern, const char *name)
{
        _cleanup_free_ char *p = xstrdup(pattern), *n = xstrdup(name);
        char *pc[MAX_COMPONENTS], *nc[MAX_COMPONENTS];
        size_t np = split(p, pc), nn = split(n, nc);

        if (np == SIZE_MAX || nn == SIZE_MAX)
                return false;
        return match_components(pc, np, nc, nn);
}

unsigned
reg_acl_action(const char *word)
{
        if (strcmp(word, "pull") == 0)
                return REG_ACTION_PULL;
        if (strcmp(word, "push") == 0)
                return REG_ACTION_PUSH;
        if (strcmp(word, "delete") == 0)
                return REG_ACTION_DELETE;
        if (strcmp(word, "*") == 0)
                return REG_ACTION_PULL | REG_ACTION_PUSH | REG_ACTION_DELETE;
        return 0;
}

int
reg_scope_parse(const char *s, struct reg_scope *ret, struct err **err)
{
        const char *c1 = strchr(s, ':'), *c2 = strrchr(s, ':');
        struct reg_scope sc = {0};
        size_t tl, nl;

        if (!c1 || c1 == c2)
                return err_set(err, EINVAL, "scope '%.300s': expected TYPE:NAME:ACTIONS", s);
        tl = (size_t) (c1 - s);
        nl = (size_t) (c2 - c1 - 1);
        if (tl == 0 || tl >= sizeof(sc.type) || nl == 0 || nl >= sizeof(sc.name))
                return err_set(err, EINVAL, "scope '%.300s': bad type or name length", s);
        memcpy(sc.type, s, tl);
        memcpy(sc.name, c1 + 1, nl);
        for (const char *p = c2 + 1; *p;) {
                const char *comma = strchrnul(p, ',');
                char word[32];
                size_t wl = (size_t) (comma - p);
                unsigned a;

                if (wl > 0 && wl < sizeof(word)) {
                        memcpy(word, p, wl);
                        word[wl] = '\0';
                        a = reg_acl_action(word);
                        if (a)
                                sc.actions |= a;
                        else
                                sc.has_unknown = true;
                        if (strcmp(word, "*") == 0)
                                sc.has_unknown = true;
                } else if (wl > 0) {
                        sc.has_unknown = true;
                }
                p = *comma ? comma + 1 : comma;
        }
        *ret = sc;
        return 0;
}

/* Decode N bytes of S (form encoding: '+' is a space, %XX a byte). */
static int
form_decode(const char *s, size_t n, size_t base, char **ret, struct err **err)
{
        char *out = xmalloc(n + 1);
        size_t o = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+') {
                        out[o++] = ' ';
                } else if (s[i] == '%') {
                        int hi = i + 1 < n ? hex_value(s[i + 1]) : -1;
                        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                                explicit_bzero(out, o);
                                free(out);
                                return err_set(err, EINVAL, "bad %%-escape at offset %zu of the parameters", base + i);
                        }
                        out[o++] = (char) (hi << 4 | lo);
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        *ret = out;
        return 0;
}

int
reg_form_each(const char *params, const char *key, int (*cb)(const char *value, void *userdata), void *userdata,
              struct err **err)
{
        size_t klen = strlen(key);

        if (!params)
                return 0;
        if (strlen(params) > REG_AUTH_PARAMS_MAX)
                return err_set(err, EINVAL, "token request parameters longer than %d bytes", REG_AUTH_PARAMS_MAX);
        for (const char *p = params; *p;) {
                const char *amp = strchrnul(p, '&'), *eq = memchr(p, '=', (size_t) (amp - p));
                const char *kend = eq ? eq : amp;
                _cleanup_free_ char *k = NULL;
                int r;

                r = form_decode(p, (size_t) (kend - p), (size_t) (p - params), &k, err);
                if (r < 0)
                        return r;
                if (strlen(k) == klen && memcmp(k, key, klen) == 0) {
                        _cleanup_secret_ char *v = NULL;
                        if (eq) {
                                r = form_decode(eq + 1, (size_t) (amp - eq - 1), (size_t) (eq + 1 - params), &v, err);
                                if (r < 0)
                                        return r;
                        } else {
                                v = xstrdup("");
                        }
                        r = cb(v, userdata);
                        if (r < 0)
                                return r;
                }
                p = *amp ? amp + 1 : amp;
        }
        return 0;
}
