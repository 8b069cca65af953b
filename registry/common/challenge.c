#include "registry/common/challenge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/limits.h"

/* RFC 9110 section 5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 7235 section 2.1: token68 characters (before the '=' padding). */
static bool
is_t68char(unsigned char c)
{
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                return true;
        return c && strchr("-._~+/", c) != NULL;
}

static size_t
skip_ows(const char *s, size_t i)
{
        while (s[i] == ' ' || s[i] == '\t')
                i++;
        return i;
}

static size_t
token_len(const char *s, size_t i)
{
        size_t j = i;
        while (is_tchar((unsigned char) s[j]))
                j++;
        return j - i;
}

/* Does an auth-param (token BWS "=" BWS (token / quoted-string)) start at I?
 * "abc=" followed by end or a comma is a token68 with padding, not a param. */
static bool
param_starts(const char *s, size_t i)
{
        size_t n = token_len(s, i);
        if (n == 0)
                return false;
        i = skip_ows(s, i + n);
        if (s[i] != '=')
                return false;
        i = skip_ows(s, i + 1);
        return s[i] == '"' || (is_tchar((unsigned char) s[i]) && s[i] != '=');
}

static void
challenge_clear(struct reg_challenge *c)
{
        free(c->scheme);
        free(c->token68);
        for (size_t i = 0; i < c->n_params; i++) {
                free(c->params[i].name);
                free(c->params[i].value);
        }
        free(c->params);
}

void
reg_challenges_free(struct reg_challenges *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                challenge_clear(&c->v[i]);
        free(c->v);
        free(c);
}

DEFINE_FREEP(struct reg_challenges, reg_challenges_free)

/* Parse a quoted-string at S[*I] (which is '"') into a new string. */
static int
parse_quoted(const char *s, size_t *i, char **ret, struct err **err)
{
        size_t start = *i, j = *i + 1, o = 0;
        _cleanup_free_ char *out = NULL;

        /* The unquoted value is never longer than the quoted text. */
        out = xmalloc(strlen(s + j) + 1);
        for (;;) {
                unsigned char c = (unsigned char) s[j];
                if (c == '\0')
                        return err_set(err, EINVAL, "offset %zu: unterminated quoted string", start);
                if (c == '"')
                        break;
                if (c == '\\') {
                        unsigned char e = (unsigned char) s[j + 1];
                        /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
                        if (e == '\0' || (e < 0x20 && e != '\t') || e == 0x7f)
                                return err_set(err, EINVAL, "offset %zu: bad escape in quoted string", j);
                        out[o++] = (char) e;
                        j += 2;
                        continue;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                        return err_set(err, EINVAL, "offset %zu: control character 0x%02x in quoted string", j, c);
                out[o++] = (char) c;
                j++;
        }
        out[o] = '\0';
        *i = j + 1;
        /* Give back the room reserved for the rest of the header, so many
         * short values cannot add up to header-length squared. */
        *ret = xrealloc(steal_ptr(&out), o + 1);
        return 0;
}

static int
parse_params(const char *s, size_t *pi, struct reg_challenge *c, struct err **err)
{
        size_t i = *pi;

        for (;;) {
                size_t n = token_len(s, i), cap;
                _cleanup_free_ char *name = NULL, *value = NULL;
                int r;

                if (n == 0)
                        return err_set(err, EINVAL, "offset %zu: expected a parameter name", i);
                name = xstrndup(s + i, n);
                i = skip_ows(s, i + n);
                if (s[i] != '=')
                        return err_set(err, EINVAL, "offset %zu: expected '=' after parameter '%s'", i, name);
                i = skip_ows(s, i + 1);
                if (s[i] == '"') {
                        r = parse_quoted(s, &i, &value, err);
                        if (r < 0)
                                return r;
                } else {
                        n = token_len(s, i);
                        if (n == 0)
                                return err_set(err, EINVAL, "offset %zu: expected a value for parameter '%s'", i, name);
                        value = xstrndup(s + i, n);
                        i += n;
                }
                /* Grow by doubling; the count is bounded by the header length. */
                cap = c->n_params;
                if ((cap & (cap - 1)) == 0)
                        c->params = xrealloc(c->params, (cap ? cap * 2 : 1) * sizeof(*c->params));
                c->params[c->n_params].name = steal_ptr(&name);
                c->params[c->n_params].value = steal_ptr(&value);
                c->n_params++;

                i = skip_ows(s, i);
                if (s[i] == '\0')
                        break;
                if (s[i] != ',')
                        return err_set(err, EINVAL, "offset %zu: expected ',' or end after parameter, got 0x%02x", i,
                                       (unsigned char) s[i]);
                /* Skip the comma and any empty list elements; a following
                 * "name=" continues this challenge, anything else starts the
                 * next one. */
                {
                        size_t j = i;
                        while (s[j] == ',' || s[j] == ' ' || s[j] == '\t')
                                j++;
                        if (!param_starts(s, j))
                                break;
                        i = j;
                }
        }
        *pi = i;
        return 0;
}

int
reg_challenges_parse(const char *header, struct reg_challenges **ret, struct err **err)
{
        _cleanup_(reg_challenges_freep) struct reg_challenges *list = NULL;
        const char *s = header;
        size_t i = 0, cap = 0;

        if (strlen(header) > LIMIT_HTTP_HEADER)
                return err_set(err, EINVAL, "WWW-Authenticate header longer than %d bytes", LIMIT_HTTP_HEADER);

        list = xcalloc(1, sizeof(*list));
        for (;;) {
                struct reg_challenge *c;
                size_t n;
                int r;

                while (s[i] == ',' || s[i] == ' ' || s[i] == '\t')
                        i++;
                if (s[i] == '\0')
                        break;
                n = token_len(s, i);
                if (n == 0)
                        return err_set(err, EINVAL, "offset %zu: expected an auth scheme, got 0x%02x", i,
                                       (unsigned char) s[i]);
                if (list->n == cap) {
                        cap = cap ? cap * 2 : 2;
                        list->v = xrealloc(list->v, cap * sizeof(*list->v));
                }
                c = &list->v[list->n++];
                memset(c, 0, sizeof(*c));
                c->scheme = xstrndup(s + i, n);
                i += n;
                if (s[i] == '\0' || s[i] == ',')
                        continue;
                if (s[i] != ' ' && s[i] != '\t')
                        return err_set(err, EINVAL, "offset %zu: expected a space after scheme '%s'", i, c->scheme);
                i = skip_ows(s, i);
                if (s[i] == '\0' || s[i] == ',')
                        continue;
                if (param_starts(s, i)) {
                        r = parse_params(s, &i, c, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* token68 */
                n = 0;
                while (is_t68char((unsigned char) s[i + n]))
                        n++;
                if (n == 0)
                        return err_set(err, EINVAL, "offset %zu: expected parameters or a token68 after '%s'", i,
                                       c->scheme);
                while (s[i + n] == '=')
                        n++;
                c->token68 = xstrndup(s + i, n);
                i = skip_ows(s, i + n);
                if (s[i] != '\0' && s[i] != ',')
                        return err_set(err, EINVAL, "offset %zu: unexpected 0x%02x after token68", i,
                                       (unsigned char) s[i]);
        }
        if (list->n == 0)
                return err_set(err, EINVAL, "empty WWW-Authenticate header");
        *ret = steal_ptr(&list);
        return 0;
}

const struct reg_challenge *
reg_challenges_find(const struct reg_challenges *c, const char *scheme)
{
        for (size_t i = 0; c && i < c->n; i++)
                if (strcasecmp(c->v[i].scheme, scheme) == 0)
                        return &c->v[i];
        return NULL;
}

const char *
reg_challenge_param(const struct reg_challenge *c, const char *name)
{
        for (size_t i = 0; c && i < c->n_params; i++)
                if (strcasecmp(c->params[i].name, name) == 0)
                        return c->params[i].value;
        return NULL;
}

int
reg_challenge_format(char *buf, size_t len, const char *scheme, const char *const *params, struct err **err)
{
        size_t o = 0;
        bool first = true;

#define PUT(ch)                                                                                                        \
        do {                                                                                                           \
                if (o + 1 >= len)                                                                                      \
                        return err_set(err, ERANGE, "challenge longer than %zu bytes", len);                           \
                buf[o++] = (ch);                                                                                       \
        } while (0)

        if (len == 0)
                return err_set(err, ERANGE, "no room for a challenge");
        if (token_len(scheme, 0) != strlen(scheme) || !*scheme)
                return err_set(err, EINVAL, "auth scheme '%s' is not a token", scheme);
        for (const char *p = scheme; *p; p++)
                PUT(*p);
        for (size_t k = 0; params && params[k]; k += 2) {
                const char *name = params[k], *value = params[k + 1];
                if (!value)
                        continue;
                if (!*name || token_len(name, 0) != strlen(name))
                        return err_set(err, EINVAL, "challenge parameter name '%s' is not a token", name);
                PUT(first ? ' ' : ',');
                first = false;
                for (const char *p = name; *p; p++)
                        PUT(*p);
                PUT('=');
                PUT('"');
                for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
                        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
                                return err_set(err, EINVAL, "control character in challenge parameter '%s'", name);
                        if (*p == '"' || *p == '\\')
                                PUT('\\');
                        PUT((char) *p);
                }
                PUT('"');
        }
        buf[o] = '\0';
        return 0;
#undef PUT
}
