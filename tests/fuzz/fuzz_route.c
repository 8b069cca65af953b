/* libFuzzer harness: request path routing, Range / Content-Range parsing,
 * and the server's manifest reader, on untrusted bytes.
 * Input: "PATH\nRANGE\nCONTENT-RANGE\nMANIFEST..." (missing parts empty). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/server/manifest.h"
#include "registry/server/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(size + 1), *parts[4] = { "", "", "", "" }, *p;
        struct reg_route r;
        struct reg_range rg;
        struct reg_manifest m;
        struct err *e = NULL;
        uint64_t a, b;
        int i;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        p = buf;
        for (i = 0; i < 4 && p; i++) {
                parts[i] = p;
                p = i < 3 ? strchr(p, '\n') : NULL;
                if (p)
                        *p++ = '\0';
        }
        if (reg_route_parse(parts[0], "/token", &r, &e) == 0) {
                if (strlen(r.name) > LIMIT_REF_NAME)
                        abort();
                if (r.name[0] && reg_name_validate(r.name, NULL) < 0)
                        abort();
        } else if (!e || !e->msg[0]) {
                abort();
        }
        err_clear(&e);
        if (reg_range_parse(parts[1], 1000, &rg, NULL) == 1 && (rg.len == 0 || rg.start + rg.len > 1000))
                abort();
        if (reg_byte_range_parse(parts[2], &a, &b, NULL, NULL) == 0 && (b < a || b == UINT64_MAX))
                abort();
        if (reg_manifest_parse(parts[3], strlen(parts[3]), NULL, &m, NULL) == 0) {
                struct digest d;
                char *desc;
                digest_buffer(DIGEST_SHA256, parts[3], strlen(parts[3]), &d);
                desc = reg_manifest_descriptor(&m, &d, strlen(parts[3]));
                free(desc);
                reg_manifest_clear(&m);
        }
        free(buf);
        return 0;
}
