/* libFuzzer: the response headers the registry client reads, line by line
 * as curl hands them over (reg_resp_add_header), then what the client
 * does with them: the upload session's Range and a resumed GET's
 * Content-Range (registry/common/range.h, the parser the server uses for
 * PATCH Content-Range too), Retry-After and the Link of tag-list pages.
 * Input: header lines separated by '\n' (each given with "\r\n"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/client/client-internal.h"
#include "registry/common/range.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed number must be the digits it came from. */
static void
check_number(const char *s)
{
        size_t len = strlen(s);
        uint64_t v;
        char back[32];

        if (reg_parse_u64(s, len, &v) < 0)
                return;
        snprintf(back, sizeof(back), "%llu", (unsigned long long) v);
        /* Leading zeros are the only difference allowed. */
        while (len > 1 && *s == '0') {
                s++;
                len--;
        }
        if (strlen(back) != len || memcmp(back, s, len) != 0)
                abort();
}

static void
check_range(const char *v)
{
        uint64_t a, b, t, next;
        struct err *e = NULL;

        if (reg_byte_range_parse(v, &a, &b, &t, &e) == 0) {
                if (b < a || b == UINT64_MAX || (t != REG_RANGE_TOTAL_UNKNOWN && b >= t))
                        abort();
        } else if (!e || !*err_msg(&e)) {
                abort(); /* a failure always says why */
        }
        err_clear(&e);
        if (reg_upload_range_parse(v, &next, NULL) == 0 && next == 0)
                abort(); /* N + 1 never wraps */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct reg_resp r = {.content_length = -1};
        char *lines[64];
        char *buf;

        if (size > 16384)
                return 0;
        for (size_t i = 0; i < 64; i++)
                lines[i] = NULL;
        buf = fuzz_split(data, size, '\n', lines, 64);
        for (size_t i = 0; i < 64 && lines[i]; i++) {
                char *line = xasprintf("%s\r\n", lines[i]);

                reg_resp_add_header(&r, line, strlen(line));
                free(line);
                check_number(lines[i]);
        }
        if (r.chunk_min < 0 || r.content_length < -1)
                abort();
        if (r.range)
                check_range(r.range);
        if (r.content_range)
                check_range(r.content_range);
        if (r.retry_after) {
                long ms = reg_retry_after_ms(r.retry_after);

                if (ms < -1 || ms > 120 * 1000)
                        abort();
        }
        if (r.link)
                free(reg_link_next(r.link));
        reg_resp_clear(&r);
        free(buf);
        return 0;
}
