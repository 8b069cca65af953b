/* The JSON (exec) form of RUN/CMD/ENTRYPOINT/SHELL/ADD/COPY/VOLUME.
 *
 * BuildKit hands the rest of the line to Go's json.Unmarshal into a
 * []interface{}: any syntax error means "not JSON" and the instruction falls
 * back to shell form; a valid array holding anything but strings is an error.
 * So we validate the whole value with Go's grammar and decode only the
 * top-level strings. */
#include <string.h>

#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"
#include "common/hex.h"
#include "common/utf8.h"

/* encoding/json refuses nesting deeper than this. */
#define JSON_MAX_DEPTH 10000

struct jp {
        const char *p;
        const char *end;
        int depth;
};

static void
skip_ws(struct jp *j)
{
        while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
                j->p++;
}

static bool
read_hex4(const char *p, const char *end, uint32_t *ret)
{
        uint32_t v = 0;
        int i;

        if (end - p < 4)
                return false;
        for (i = 0; i < 4; i++) {
                int h = hex_value(p[i]);
                if (h < 0)
                        return false;
                v = (v << 4) | (uint32_t) h;
        }
        *ret = v;
        return true;
}

static void
put_utf8(struct df_buf *b, uint32_t r)
{
        char s[4];

        if (r < 0x80) {
                df_buf_addc(b, (char) r);
        } else if (r < 0x800) {
                s[0] = (char) (0xC0 | (r >> 6));
                s[1] = (char) (0x80 | (r & 0x3F));
                df_buf_add(b, s, 2);
        } else if (r < 0x10000) {
                s[0] = (char) (0xE0 | (r >> 12));
                s[1] = (char) (0x80 | ((r >> 6) & 0x3F));
                s[2] = (char) (0x80 | (r & 0x3F));
                df_buf_add(b, s, 3);
        } else {
                s[0] = (char) (0xF0 | (r >> 18));
                s[1] = (char) (0x80 | ((r >> 12) & 0x3F));
                s[2] = (char) (0x80 | ((r >> 6) & 0x3F));
                s[3] = (char) (0x80 | (r & 0x3F));
                df_buf_add(b, s, 4);
        }
}

/* A string at j->p (which is '"'); decoded into OUT when OUT is not NULL. */
static bool
parse_string(struct jp *j, struct df_buf *out)
{
        j->p++;
        while (j->p < j->end) {
                unsigned char c = (unsigned char) *j->p;
                uint32_t r;

                if (c == '"') {
                        j->p++;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c == '\\') {
                        if (j->end - j->p < 2)
                                return false;
                        c = (unsigned char) j->p[1];
                        j->p += 2;
                        switch (c) {
                        case '"':
                        case '\\':
                        case '/':
                                r = c;
                                break;
                        case 'b':
                                r = '\b';
                                break;
                        case 'f':
                                r = '\f';
                                break;
                        case 'n':
                                r = '\n';
                                break;
                        case 'r':
                                r = '\r';
                                break;
                        case 't':
                                r = '\t';
                                break;
                        case 'u':
                                if (!read_hex4(j->p, j->end, &r))
                                        return false;
                                j->p += 4;
                                if (r >= 0xD800 && r < 0xDC00) {
                                        uint32_t lo;
                                        /* A high surrogate pairs with a following \uDC00-\uDFFF;
                                         * alone it decodes to U+FFFD, as in Go. */
                                        if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
                                            read_hex4(j->p + 2, j->end, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                                                r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                                                j->p += 6;
                                        } else {
                                                r = 0xFFFD;
                                        }
                                } else if (r >= 0xDC00 && r <= 0xDFFF) {
                                        r = 0xFFFD;
                                }
                                break;
                        default:
                                return false;
                        }
                        if (out)
                                put_utf8(out, r);
                        continue;
                }
                if (c < 0x80) {
                        if (out)
                                df_buf_addc(out, (char) c);
                        j->p++;
                        continue;
                }
                {
                        size_t n = utf8_next(j->p, (size_t) (j->end - j->p), &r);
                        /* Invalid UTF-8 is accepted and replaced, one byte at a time. */
                        if (n == 1 && r == 0xFFFD) {
                                if (out)
                                        put_utf8(out, 0xFFFD);
                                j->p++;
                        } else {
                                if (out)
                                        df_buf_add(out, j->p, n);
                                j->p += n;
                        }
                }
        }
        return false;
}

static bool
parse_digits(struct jp *j)
{
        const char *s = j->p;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
                j->p++;
        return j->p > s;
}

static bool
parse_number(struct jp *j)
{
        if (j->p < j->end && *j->p == '-')
                j->p++;
        if (j->p < j->end && *j->p == '0')
                j->p++;
        else if (!(j->p < j->end && *j->p >= '1' && *j->p <= '9') || !parse_digits(j))
                return false;
        if (j->p < j->end && *j->p == '.') {
                j->p++;
                if (!parse_digits(j))
                        return false;
        }
        if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
                j->p++;
                if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
                        j->p++;
                if (!parse_digits(j))
                        return false;
        }
        return true;
}

static bool parse_value(struct jp *j);

static bool
parse_container(struct jp *j, char close)
{
        if (++j->depth > JSON_MAX_DEPTH)
                return false;
        j->p++;
        skip_ws(j);
        if (j->p < j->end && *j->p == close) {
                j->p++;
                j->depth--;
                return true;
        }
        for (;;) {
                if (close == '}') {
                        skip_ws(j);
                        if (j->p >= j->end || *j->p != '"' || !parse_string(j, NULL))
                                return false;
                        skip_ws(j);
                        if (j->p >= j->end || *j->p != ':')
                                return false;
                        j->p++;
                }
                if (!parse_value(j))
                        return false;
                skip_ws(j);
                if (j->p >= j->end)
                        return false;
                if (*j->p == ',') {
                        j->p++;
                        continue;
                }
                if (*j->p == close) {
                        j->p++;
                        j->depth--;
                        return true;
                }
                return false;
        }
}

static bool
parse_literal(struct jp *j, const char *lit)
{
        size_t n = strlen(lit);
        if ((size_t) (j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
                return false;
        j->p += n;
        return true;
}

static bool
parse_value(struct jp *j)
{
        skip_ws(j);
        if (j->p >= j->end)
                return false;
        switch (*j->p) {
        case '"':
                return parse_string(j, NULL);
        case '[':
                return parse_container(j, ']');
        case '{':
                return parse_container(j, '}');
        case 't':
                return parse_literal(j, "true");
        case 'f':
                return parse_literal(j, "false");
        case 'n':
                return parse_literal(j, "null");
        default:
                return parse_number(j);
        }
}

static void
free_strings(char **v, size_t n)
{
        size_t i;
        for (i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int
df_json_string_array(const char *text, size_t len, char ***ret_args, size_t **ret_lens, size_t *ret_n)
{
        struct jp j = {.p = text, .end = text + len, .depth = 1};
        char **args = NULL;
        size_t *lens = NULL, n = 0, alloc = 0;
        bool all_strings = true;

        skip_ws(&j);
        if (j.p >= j.end || *j.p != '[')
                return 0;
        j.p++;
        skip_ws(&j);
        if (j.p < j.end && *j.p == ']') {
                j.p++;
        } else {
                for (;;) {
                        skip_ws(&j);
                        if (j.p < j.end && *j.p == '"') {
                                struct df_buf b = {0};
                                if (!parse_string(&j, &b)) {
                                        df_buf_free(&b);
                                        goto invalid;
                                }
                                if (n == alloc) {
                                        alloc = alloc ? alloc * 2 : 4;
                                        args = xrealloc(args, alloc * sizeof(*args));
                                        lens = xrealloc(lens, alloc * sizeof(*lens));
                                }
                                lens[n] = b.len;
                                args[n++] = df_buf_steal(&b);
                        } else {
                                if (!parse_value(&j))
                                        goto invalid;
                                all_strings = false;
                        }
                        skip_ws(&j);
                        if (j.p >= j.end)
                                goto invalid;
                        if (*j.p == ',') {
                                j.p++;
                                continue;
                        }
                        if (*j.p == ']') {
                                j.p++;
                                break;
                        }
                        goto invalid;
                }
        }
        skip_ws(&j);
        if (j.p != j.end)
                goto invalid;
        if (!all_strings) {
                free_strings(args, n);
                free(lens);
                return -1;
        }
        *ret_args = args;
        *ret_lens = lens;
        *ret_n = n;
        return 1;

invalid:
        free_strings(args, n);
        free(lens);
        return 0;
}
