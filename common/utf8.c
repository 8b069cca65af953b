#include "common/utf8.h"

#include <string.h>

#include "common/cleanup.h"

size_t
utf8_next(const char *s, size_t n, uint32_t *ret_cp)
{
        const unsigned char *u = (const unsigned char *) s;
        size_t len;
        uint32_t cp;

        if (u[0] < 0x80) {
                *ret_cp = u[0];
                return 1;
        }
        if ((u[0] & 0xe0) == 0xc0) {
                len = 2;
                cp = u[0] & 0x1f;
        } else if ((u[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = u[0] & 0x0f;
        } else if ((u[0] & 0xf8) == 0xf0) {
                len = 4;
                cp = u[0] & 0x07;
        } else {
                *ret_cp = 0xfffd;
                return 1;
        }
        if (len > n) {
                *ret_cp = 0xfffd;
                return 1;
        }
        for (size_t i = 1; i < len; i++) {
                if ((u[i] & 0xc0) != 0x80) {
                        *ret_cp = 0xfffd;
                        return 1;
                }
                cp = (cp << 6) | (u[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid
         * too (RFC 3629; Go's utf8.DecodeRune agrees). */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
                *ret_cp = 0xfffd;
                return 1;
        }
        *ret_cp = cp;
        return len;
}

char *
utf8_sanitize(const char *s, size_t max)
{
        size_t n = strlen(s), o = 0;
        char *out = xmalloc((n < max ? n : max) + 1);

        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = utf8_next(s + i, n - i, &cp);

                if (o + k > max)
                        break;
                if (k == 1 && cp == 0xfffd)
                        out[o] = '?';
                else
                        memcpy(out + o, s + i, k);
                o += k;
                i += k;
        }
        out[o] = '\0';
        return out;
}
