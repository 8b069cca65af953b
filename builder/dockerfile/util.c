/* Small text helpers for the Dockerfile parser: a growable buffer, Go's
 * notion of white space, UTF-8 decoding, Go's strconv.Quote (for the dump
 * format the BuildKit test vectors use) and Levenshtein distance. */
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

#include "builder/dockerfile/parser-internal.h"
#include "common/cleanup.h"
#include "common/utf8.h"

void
df_buf_add(struct df_buf *b, const void *p, size_t n)
{
        if (b->len + n + 1 > b->alloc) {
                size_t a = b->alloc ? b->alloc : 64;
                while (a < b->len + n + 1)
                        a *= 2;
                b->s = xrealloc(b->s, a);
                b->alloc = a;
        }
        if (n)
                memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void
df_buf_addc(struct df_buf *b, char c)
{
        if (b->len + 2 <= b->alloc) {
                b->s[b->len++] = c;
                b->s[b->len] = '\0';
                return;
        }
        df_buf_add(b, &c, 1);
}

void
df_buf_adds(struct df_buf *b, const char *s)
{
        df_buf_add(b, s, strlen(s));
}

void
df_buf_addf(struct df_buf *b, const char *fmt, ...)
{
        char tmp[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n < sizeof(tmp)) {
                df_buf_add(b, tmp, (size_t) n);
                return;
        }
        {
                _cleanup_free_ char *big = xmalloc((size_t) n + 1);
                va_start(ap, fmt);
                vsnprintf(big, (size_t) n + 1, fmt, ap);
                va_end(ap);
                df_buf_add(b, big, (size_t) n);
        }
}

char *
df_buf_steal(struct df_buf *b)
{
        char *s = b->s ? b->s : xstrdup("");
        b->s = NULL;
        b->len = b->alloc = 0;
        return s;
}

void
df_buf_free(struct df_buf *b)
{
        free(b->s);
        b->s = NULL;
        b->len = b->alloc = 0;
}

/* Go's unicode.IsSpace: '\t' '\n' '\v' '\f' '\r' ' ' U+0085 U+00A0 and the
 * Z-category spaces. */
bool
df_is_uspace(uint32_t r)
{
        switch (r) {
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000:
                return true;
        }
        return r >= 0x2000 && r <= 0x200A;
}

size_t
df_uspace_len(const char *p, const char *end)
{
        uint32_t r;
        size_t n;

        if (p >= end)
                return 0;
        if ((unsigned char) *p < 0x80)
                return (*p == ' ' || (*p >= '\t' && *p <= '\r')) ? 1 : 0;
        n = utf8_next(p, (size_t) (end - p), &r);
        return df_is_uspace(r) ? n : 0;
}

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
        utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
}

locale_t
df_utf8_locale(void)
{
        pthread_once(&utf8_once, utf8_locale_init);
        return utf8_locale;
}

/* Go's unicode.IsPrint: categories L, M, N, P, S and U+0020.  The C.UTF-8
 * locale knows which code points are assigned graphic characters; the
 * classes glibc counts as printable but Go does not (spaces other than
 * U+0020, format characters, private use) are excluded here. */
static bool
is_go_print(uint32_t r)
{
        locale_t loc;

        if (r < 0x80)
                return r >= 0x20 && r < 0x7F;
        if (r < 0xA0 || df_is_uspace(r) || r == 0xAD)
                return false;
        if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x890 || r == 0x891 ||
            r == 0x8E2 || r == 0x180E || (r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) ||
            (r >= 0x2060 && r <= 0x206F) || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || r == 0x110BD ||
            r == 0x110CD || (r >= 0x13430 && r <= 0x1343F) || (r >= 0x1BCA0 && r <= 0x1BCA3) ||
            (r >= 0x1D173 && r <= 0x1D17A) || r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F))
                return false;
        if ((r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000 || (r & 0xFFFE) == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF))
                return false;
        loc = df_utf8_locale();
        if (loc != (locale_t) 0)
                return iswprint_l((wint_t) r, loc) != 0;
        return true;
}

void
df_quote_go(struct df_buf *b, const char *s, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *) s, *end = p + len;

        df_buf_addc(b, '"');
        while (p < end) {
                const unsigned char *run = p;
                uint32_t r;
                size_t n;

                /* Plain printable ASCII goes out in one piece. */
                while (p < end && *p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
                        p++;
                if (p > run)
                        df_buf_add(b, run, (size_t) (p - run));
                if (p >= end)
                        break;
                n = utf8_next((const char *) p, (size_t) (end - p), &r);
                if (n == 1 && r == 0xFFFD) { /* invalid UTF-8 */
                        df_buf_add(b, "\\x", 2);
                        df_buf_addc(b, hex[*p >> 4]);
                        df_buf_addc(b, hex[*p & 15]);
                        p++;
                        continue;
                }
                if (r == '"' || r == '\\') {
                        df_buf_addc(b, '\\');
                        df_buf_addc(b, (char) r);
                } else if (is_go_print(r)) {
                        df_buf_add(b, p, n);
                } else {
                        switch (r) {
                        case '\a':
                                df_buf_adds(b, "\\a");
                                break;
                        case '\b':
                                df_buf_adds(b, "\\b");
                                break;
                        case '\f':
                                df_buf_adds(b, "\\f");
                                break;
                        case '\n':
                                df_buf_adds(b, "\\n");
                                break;
                        case '\r':
                                df_buf_adds(b, "\\r");
                                break;
                        case '\t':
                                df_buf_adds(b, "\\t");
                                break;
                        case '\v':
                                df_buf_adds(b, "\\v");
                                break;
                        default:
                                if (r < 0x20 || r == 0x7F)
                                        df_buf_addf(b, "\\x%02x", (unsigned) r);
                                else if (r < 0x10000)
                                        df_buf_addf(b, "\\u%04x", (unsigned) r);
                                else
                                        df_buf_addf(b, "\\U%08x", (unsigned) r);
                        }
                }
                p += n;
        }
        df_buf_addc(b, '"');
}

size_t
df_levenshtein(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), i, j;
        _cleanup_free_ size_t *row = NULL;

        /* Only keywords and flag names are compared; cap the work anyway. */
        if (la > 64)
                la = 64;
        if (lb > 64)
                lb = 64;
        row = xcalloc(lb + 1, sizeof(*row));
        for (j = 0; j <= lb; j++)
                row[j] = j;
        for (i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t cost = tolower((unsigned char) a[i - 1]) == tolower((unsigned char) b[j - 1]) ? 0 : 1;
                        size_t best = diag + cost;
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}
