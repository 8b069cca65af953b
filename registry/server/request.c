#include "registry/server/request.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

size_t
reg_target_unescape(char *s, bool *ret_control)
{
        char *r = s, *w = s;

        while (*r) {
                int hi, lo;

                if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0) {
                        unsigned char c = (unsigned char) (hi * 16 + lo);
                        if (c < 0x20 || c == 0x7f) {
                                /* Kept as the three characters it was: the
                                 * route grammar refuses '%', and the server
                                 * answers 400 for the flag before that. */
                                *ret_control = true;
                                memmove(w, r, 3);
                                w += 3;
                        } else {
                                *w++ = (char) c;
                        }
                        r += 3;
                        continue;
                }
                *w++ = *r++;
        }
        *w = '\0';
        return (size_t) (w - s);
}

/* RFC 9110 5.6.2: token = 1*tchar. */
static bool
is_token(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      (c && strchr("!#$%&'*+-.^_`|~", c))))
                        return false;
        }
        return true;
}

/* S without optional white space on either side equals WORD (any case)? */
static bool
trimmed_equal(const char *s, const char *word)
{
        size_t n, wl = strlen(word);

        while (*s == ' ' || *s == '\t')
                s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
                n--;
        return n == wl && strncasecmp(s, word, wl) == 0;
}

static bool
is_decimal(const char *s)
{
        size_t i;

        while (*s == ' ' || *s == '\t')
                s++;
        for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
                ;
        if (i == 0 || i > 19)
                return false;
        for (; s[i]; i++)
                if (s[i] != ' ' && s[i] != '\t')
                        return false;
        return true;
}

int
reg_framing_check(const struct reg_header_field *h, size_t n, bool http10, struct err **err)
{
        const char *te = NULL, *cl = NULL;
        size_t n_te = 0, i;

        for (i = 0; i < n; i++) {
                const char *name = h[i].name ? h[i].name : "";
                const char *value = h[i].value ? h[i].value : "";

                if (!is_token(name)) {
                        err_set(err, EINVAL, "header name '%.64s' is not a token", name);
                        return REG_FRAMING_BAD;
                }
                if (strcasecmp(name, "Transfer-Encoding") == 0) {
                        te = value;
                        n_te++;
                } else if (strcasecmp(name, "Content-Length") == 0) {
                        if (!is_decimal(value)) {
                                err_set(err, EINVAL, "Content-Length '%.64s' is not a number", value);
                                return REG_FRAMING_BAD;
                        }
                        if (cl && strcmp(cl, value) != 0) {
                                err_set(err, EINVAL, "two different Content-Length headers (%.32s, %.32s)",
                                        cl, value);
                                return REG_FRAMING_BAD;
                        }
                        cl = value; /* the same value twice is one length (6.3) */
                }
        }
        if (!te)
                return REG_FRAMING_OK;
        /* RFC 9112 6.1: a message with both may be an attempt at request
         * smuggling; the server must close the connection after answering.
         * Also 6.1: Transfer-Encoding in an HTTP/1.0 request is faulty
         * framing. */
        if (cl) {
                err_set(err, EINVAL, "both Transfer-Encoding and Content-Length");
                return REG_FRAMING_BAD;
        }
        if (n_te > 1) {
                err_set(err, EINVAL, "Transfer-Encoding given %zu times", n_te);
                return REG_FRAMING_BAD;
        }
        if (http10) {
                err_set(err, EINVAL, "Transfer-Encoding in an HTTP/1.0 request");
                return REG_FRAMING_BAD;
        }
        /* 6.1 and 15.6.2: a coding we do not understand is a 501; chunked
         * is the only one implemented, and a request's final coding must
         * be chunked, so anything but "chunked" alone is refused. */
        if (!trimmed_equal(te, "chunked")) {
                err_set(err, ENOSYS, "Transfer-Encoding '%.64s' is not supported (only chunked)", te);
                return REG_FRAMING_UNSUPPORTED;
        }
        return REG_FRAMING_OK;
}
