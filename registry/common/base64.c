#include "registry/common/base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
reg_b64_encode(const void *data, size_t len, bool url)
{
        const unsigned char *p = data;
        const char *tab = url ? URL : STD;
        char *out = xmalloc((len + 2) / 3 * 4 + 1);
        size_t o = 0, i = 0;

        for (; i + 3 <= len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
                out[o++] = tab[v >> 18 & 63];
                out[o++] = tab[v >> 12 & 63];
                out[o++] = tab[v >> 6 & 63];
                out[o++] = tab[v & 63];
        }
        if (len - i == 1) {
                uint32_t v = (uint32_t) p[i] << 16;
                out[o++] = tab[v >> 18 & 63];
                out[o++] = tab[v >> 12 & 63];
                if (!url) {
                        out[o++] = '=';
                        out[o++] = '=';
                }
        } else if (len - i == 2) {
                uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8;
                out[o++] = tab[v >> 18 & 63];
                out[o++] = tab[v >> 12 & 63];
                out[o++] = tab[v >> 6 & 63];
                if (!url)
                        out[o++] = '=';
        }
        out[o] = '\0';
        return out;
}

static int
b64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

int
reg_b64_decode(const char *s, size_t n, unsigned char **ret_data, size_t *ret_len, struct err **err)
{
        size_t end = n, o = 0;
        uint32_t acc = 0;
        int bits = 0;
        unsigned char *out;

        /* Padding: at most two '=' and only at the very end. */
        while (end > 0 && s[end - 1] == '=' && n - end < 2)
                end--;
        if (end > 0 && s[end - 1] == '=')
                return err_set(err, EINVAL, "base64: too much '=' padding at offset %zu", end - 1);
        if (end % 4 == 1)
                return err_set(err, EINVAL, "base64: truncated input (%zu characters)", end);
        if (end < n && (n % 4) != 0)
                return err_set(err, EINVAL, "base64: padded input of %zu characters is not a multiple of 4", n);

        out = xmalloc(end / 4 * 3 + 3 + 1);
        for (size_t i = 0; i < end; i++) {
                int v = b64_value((unsigned char) s[i]);
                if (v < 0) {
                        /* Decoded credentials may precede the bad byte. */
                        explicit_bzero(out, o);
                        free(out);
                        return err_set(err, EINVAL, "base64: invalid character 0x%02x at offset %zu",
                                       (unsigned char) s[i], i);
                }
                acc = acc << 6 | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (unsigned char) (acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        out[o] = '\0';
        *ret_data = out;
        *ret_len = o;
        return 0;
}
