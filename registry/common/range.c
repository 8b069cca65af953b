/* Strict numbers and byte ranges of registry HTTP headers (see range.h). */
#include "registry/common/range.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int
reg_parse_u64(const char *s, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        /* UINT64_MAX has 20 digits; checking the length first also keeps
         * a long run of leading zeros from costing time. */
        if (len > 20)
                return -ERANGE;
        for (size_t i = 0; i < len; i++) {
                unsigned d = (unsigned) (s[i] - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static bool
blank(char c)
{
        return c == ' ' || c == '\t';
}

int
reg_byte_range_parse(const char *value, uint64_t *ret_start, uint64_t *ret_end, uint64_t *ret_total,
                     struct err **err)
{
        const char *p = value, *end, *dash, *slash;
        uint64_t a, b, total = REG_RANGE_TOTAL_UNKNOWN;

        if (value == NULL)
                return err_set(err, ERR_RANGE_INVALID, "missing range header");
        /* Blanks around the field value are not part of it (RFC 9110 5.5). */
        while (blank(*p))
                p++;
        end = p + strlen(p);
        while (end > p && blank(end[-1]))
                end--;
        /* "bytes 0-9/10" is RFC 9110's Content-Range; "bytes=0-9" is how
         * some registries wrote the upload Range. */
        if ((size_t) (end - p) > 6 && strncmp(p, "bytes", 5) == 0 && (p[5] == ' ' || p[5] == '='))
                p += 6;
        slash = memchr(p, '/', (size_t) (end - p));
        if (slash) {
                const char *t = slash + 1;

                if (!(end - t == 1 && *t == '*') && reg_parse_u64(t, (size_t) (end - t), &total) < 0)
                        return err_set(err, ERR_RANGE_INVALID,
                                       "malformed range '%.64s' (the total is not a number or '*')", value);
                end = slash;
        }
        dash = memchr(p, '-', (size_t) (end - p));
        if (!dash || reg_parse_u64(p, (size_t) (dash - p), &a) < 0 ||
            reg_parse_u64(dash + 1, (size_t) (end - dash - 1), &b) < 0)
                return err_set(err, ERR_RANGE_INVALID, "malformed range '%.64s' (want <start>-<end>)", value);
        if (b < a)
                return err_set(err, ERR_RANGE_INVALID, "range '%.64s' ends before it starts", value);
        if (b == UINT64_MAX)
                return err_set(err, ERR_RANGE_INVALID, "range '%.64s' is too large", value);
        if (total != REG_RANGE_TOTAL_UNKNOWN && b >= total)
                return err_set(err, ERR_RANGE_INVALID, "range '%.64s' ends past its total length", value);
        *ret_start = a;
        *ret_end = b;
        if (ret_total)
                *ret_total = total;
        return 0;
}

int
reg_upload_range_parse(const char *value, uint64_t *ret_next, struct err **err)
{
        uint64_t a, b;
        int r = reg_byte_range_parse(value, &a, &b, NULL, err);

        if (r < 0)
                return r;
        if (a != 0)
                return err_set(err, ERR_RANGE_INVALID, "upload range '%.64s' does not start at 0", value);
        *ret_next = b + 1;
        return 0;
}
