#include "registry/common/token.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "registry/common/base64.h"

void
reg_token_request_clear(struct reg_token_request *r)
{
        if (!r)
                return;
        free(r->method);
        free(r->url);
        free_secret(r->body);
        free_secret(r->authorization);
        memset(r, 0, sizeof(*r));
}

char *
reg_basic_authorization(const char *user, const char *pass)
{
        _cleanup_secret_ char *up = xasprintf("%s:%s", user, pass);
        _cleanup_secret_ char *b = reg_b64_encode(up, strlen(up), false);
        return xasprintf("Basic %s", b);
}

/* A growable string for URL/form building. */
struct sbuf {
        char *s;
        size_t len, cap;
};

static void
sb_putc(struct sbuf *b, char c)
{
        if (b->len + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 256;
                char *n = xmalloc(cap);
                if (b->s) {
                        memcpy(n, b->s, b->len);
                        explicit_bzero(b->s, b->cap); /* forms carry secrets */
                        free(b->s);
                }
                b->s = n;
                b->cap = cap;
        }
        b->s[b->len++] = c;
        b->s[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
        while (*s)
                sb_putc(b, *s++);
}

/* RFC 3986 percent-encoding of everything but the unreserved set. */
static void
sb_put_encoded(struct sbuf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p)) {
                        sb_putc(b, (char) *p);
                } else {
                        sb_putc(b, '%');
                        sb_putc(b, hex[*p >> 4]);
                        sb_putc(b, hex[*p & 15]);
                }
        }
}

static void
sb_param(struct sbuf *b, bool *first, const char *key, const char *value)
{
        if (!*first)
                sb_putc(b, '&');
        *first = false;
        sb_puts(b, key);
        sb_putc(b, '=');
        sb_put_encoded(b, value);
}

int
reg_token_request_build(const struct reg_challenge *bearer, const char *const *scopes, size_t n,
                        const struct reg_creds *creds, const char *client_id, struct reg_token_request *ret,
                        struct err **err)
{
        const char *realm = reg_challenge_param(bearer, "realm");
        const char *service = reg_challenge_param(bearer, "service");
        const char *chal_scope = reg_challenge_param(bearer, "scope");
        struct sbuf url = {0}, form = {0};
        bool first = true;
        struct reg_token_request r = {0};

        if (!realm || !*realm)
                return err_set(err, EINVAL, "Bearer challenge without a realm");
        if (strncasecmp(realm, "https://", 8) != 0 && strncasecmp(realm, "http://", 7) != 0)
                return err_set(err, EINVAL, "Bearer realm '%.200s' is not an http(s) URL", realm);
        for (const char *p = realm; *p; p++)
                if ((unsigned char) *p <= 0x20 || *p == 0x7f)
                        return err_set(err, EINVAL, "Bearer realm contains a space or control character");
        if (!client_id)
                client_id = "ibuild";

        sb_puts(&url, realm);
        if (creds && creds->identity_token) {
                /* oauth.md: POST realm with a form. */
                sb_param(&form, &first, "grant_type", "refresh_token");
                sb_param(&form, &first, "refresh_token", creds->identity_token);
                if (service)
                        sb_param(&form, &first, "service", service);
                sb_param(&form, &first, "client_id", client_id);
                {
                        /* One scope parameter, space-separated list. */
                        struct sbuf sc = {0};
                        for (size_t i = 0; i < n; i++) {
                                if (i)
                                        sb_putc(&sc, ' ');
                                sb_puts(&sc, scopes[i]);
                        }
                        if (n == 0 && chal_scope)
                                sb_puts(&sc, chal_scope);
                        if (sc.s)
                                sb_param(&form, &first, "scope", sc.s);
                        free(sc.s);
                }
                r.method = xstrdup("POST");
                r.body = form.s ? form.s : xstrdup("");
        } else {
                /* token.md: GET with service and one scope parameter each. */
                struct sbuf q = {0};
                if (service)
                        sb_param(&q, &first, "service", service);
                for (size_t i = 0; i < n; i++)
                        sb_param(&q, &first, "scope", scopes[i]);
                if (n == 0 && chal_scope) {
                        /* A challenge may list several scopes separated by spaces. */
                        _cleanup_free_ char *copy = xstrdup(chal_scope);
                        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
                                sb_param(&q, &first, "scope", w);
                }
                if (creds && creds->username) {
                        r.authorization =
                            reg_basic_authorization(creds->username, creds->password ? creds->password : "");
                        sb_param(&q, &first, "account", creds->username);
                }
                if (q.s) {
                        sb_putc(&url, strchr(realm, '?') ? '&' : '?');
                        sb_puts(&url, q.s);
                        free(q.s);
                }
                r.method = xstrdup("GET");
        }
        r.url = url.s;
        *ret = r;
        return 0;
}

/* RFC 3339 "2006-01-02T15:04:05[.frac](Z|+hh:mm)" to time_t; -1 if bad. */
static time_t
parse_rfc3339(const char *s)
{
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        long off = 0;
        time_t t;

        if (!p)
                return -1;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int hh, mm;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -1;
                off = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
                p += 6;
        } else {
                return -1;
        }
        if (*p)
                return -1;
        t = timegm(&tm);
        return t == (time_t) -1 ? -1 : t - off;
}

int
reg_token_response_parse(const char *body, size_t len, time_t now, char **ret_token, time_t *ret_expires,
                         char **ret_refresh, struct err **err)
{
        json_t *j = json_loadb(body, len, 0, NULL), *v;
        const char *tok, *refresh;
        json_int_t expires_in = 60;
        time_t issued = now, t;

        if (!json_is_object(j)) {
                json_decref(j);
                return err_set(err, EINVAL, "token response is not a JSON object");
        }
        tok = json_string_value(json_object_get(j, "token"));
        if (!tok || !*tok)
                tok = json_string_value(json_object_get(j, "access_token"));
        if (!tok || !*tok) {
                json_decref(j);
                return err_set(err, EINVAL, "token response has no \"token\" or \"access_token\"");
        }
        v = json_object_get(j, "expires_in");
        if (json_is_integer(v))
                expires_in = json_integer_value(v);
        if (expires_in < 60)
                expires_in = 60;
        if (expires_in > 366L * 86400)
                expires_in = 366L * 86400;
        v = json_object_get(j, "issued_at");
        if (json_is_string(v) && (t = parse_rfc3339(json_string_value(v))) != -1)
                issued = t;
        refresh = json_string_value(json_object_get(j, "refresh_token"));

        *ret_token = xstrdup(tok);
        *ret_expires = issued + (time_t) expires_in;
        if (ret_refresh)
                *ret_refresh = refresh && *refresh ? xstrdup(refresh) : NULL;
        explicit_bzero((char *) tok, strlen(tok));
        if (refresh)
                explicit_bzero((char *) refresh, strlen(refresh));
        json_decref(j);
        return 0;
}
