/* S3's URI encoding, query strings in canonical order, object paths. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/s3/s3-internal.h"

static bool
unreserved(unsigned char ch)
{
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '.' || ch == '_' || ch == '~';
}

char *
s3_uri_encode(const char *s, bool keep_slash)
{
        static const char digits[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out = xmalloc(3 * n + 1), *o = out;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (unreserved(*p) || (keep_slash && *p == '/')) {
                        *o++ = (char) *p;
                } else {
                        *o++ = '%';
                        *o++ = digits[*p >> 4];
                        *o++ = digits[*p & 15];
                }
        }
        *o = '\0';
        return out;
}

void
s3_query_add(struct s3_query *q, const char *name, const char *value)
{
        /* Callers add a fixed, small set of parameters. */
        if (q->n >= S3_QUERY_MAX)
                abort();
        q->p[q->n].name = s3_uri_encode(name, false);
        q->p[q->n].value = s3_uri_encode(value ? value : "", false);
        q->n++;
}

char *
s3_query_string(const struct s3_query *q)
{
        size_t order[S3_QUERY_MAX], len = 1;
        char *out;

        if (!q)
                return xstrdup("");
        /* SigV4: sorted by (encoded) name, then by value; insertion sort of
         * at most S3_QUERY_MAX entries. */
        for (size_t i = 0; i < q->n; i++) {
                size_t j = i;
                while (j > 0) {
                        int c = strcmp(q->p[order[j - 1]].name, q->p[i].name);
                        if (c < 0 || (c == 0 && strcmp(q->p[order[j - 1]].value, q->p[i].value) <= 0))
                                break;
                        order[j] = order[j - 1];
                        j--;
                }
                order[j] = i;
                len += strlen(q->p[i].name) + strlen(q->p[i].value) + 2;
        }
        out = xcalloc(len, 1);
        for (size_t i = 0; i < q->n; i++) {
                if (i)
                        strcat(out, "&");
                strcat(out, q->p[order[i]].name);
                strcat(out, "=");
                strcat(out, q->p[order[i]].value);
        }
        return out;
}

void
s3_query_clear(struct s3_query *q)
{
        for (size_t i = 0; i < q->n; i++) {
                free(q->p[i].name);
                free(q->p[i].value);
        }
        q->n = 0;
}

char *
s3_object_path(const struct s3_client *c, const char *key)
{
        _cleanup_free_ char *full = NULL, *enc = NULL;

        if (!key)
                return xasprintf("/%s", c->bucket);
        full = xasprintf("%s%s", c->prefix, key);
        enc = s3_uri_encode(full, true);
        return xasprintf("/%s/%s", c->bucket, enc);
}
