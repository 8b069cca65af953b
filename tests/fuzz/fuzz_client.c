/* libFuzzer: what the registry client reads from a registry's responses
 * besides manifests: the Link header of tag-list pages, Location headers
 * resolved against the request URL, Retry-After, and error bodies.
 * Input: LINK '\n' LOCATION '\n' RETRY_AFTER '\n' BODY (missing parts
 * empty). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/client/client-internal.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_url[] = "https://registry.example:5000/v2/team/app/tags/list?n=10";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf, *parts[4] = {"", "", "", ""};
        struct reg_host host = {.host = (char *) "registry.example:5000"};
        struct reg_resp resp = {0};
        struct err *e = NULL;
        char *next, *url;
        long ms;

        if (size > 65536)
                return 0;
        buf = fuzz_split(data, size, '\n', parts, 4);
        next = reg_link_next(parts[0]);
        if (next) {
                url = reg_url_resolve(base_url, next);
                free(url);
                free(next);
        }
        url = reg_url_resolve(base_url, parts[1]);
        if (url && strncmp(url, "http", 4) != 0 && strstr(url, "://") == NULL)
                abort(); /* a resolved URL is absolute */
        free(url);
        ms = reg_retry_after_ms(parts[2]);
        if (ms < -1 || ms > 120 * 1000)
                abort();
        resp.status = 400 + (long) (size % 200);
        resp.body = parts[3];
        resp.body_len = strlen(parts[3]);
        resp.request = (char *) "GET https://registry.example:5000/v2/team/app/manifests/latest";
        if (reg_http_fail(size % 2 ? &host : NULL, &resp, &e) >= 0 || !e || !*err_msg(&e))
                abort(); /* always an error, always with a message */
        for (const char *m = err_msg(&e); *m; m++)
                if ((unsigned char) *m < 0x20 || *m == 0x7f)
                        abort(); /* the registry's text never reaches a terminal raw */
        err_clear(&e);
        free(buf);
        return 0;
}
