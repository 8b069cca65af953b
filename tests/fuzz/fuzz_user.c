/* libFuzzer: USER / --chown specs resolved against an image's /etc/passwd
 * and /etc/group (both come from the image, so untrusted), and subuid /
 * subgid file entries.  Input: SPEC '\0' PASSWD '\0' GROUP. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf, *parts[3] = {NULL, NULL, NULL};
        struct build_user u;
        struct err *e = NULL;
        uint32_t start, count;

        if (size > 65536)
                return 0;
        buf = fuzz_split(data, size, '\0', parts, 3);
        if (build_user_resolve(parts[0], parts[1], parts[2], &u, &e) == 0) {
                if (u.n_groups > sizeof(u.groups) / sizeof(u.groups[0]) || memchr(u.home, '\0', sizeof(u.home)) == NULL)
                        abort();
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        err_clear(&e);
        /* A numeric uid:gid needs no files. */
        {
                char spec[32];
                snprintf(spec, sizeof(spec), "%u:%u", (unsigned) (size % 70000), (unsigned) (size % 1000));
                if (build_user_resolve(spec, NULL, NULL, &u, &e) < 0 || u.uid != size % 70000 ||
                    u.gid != size % 1000)
                        abort();
        }
        if (parts[1]) {
                int r = build_idmap_parse_subid(parts[1], parts[0], (uint32_t) size, &start, &count, &e);
                if (r == 0 && count == 0)
                        abort(); /* an empty range is not a range */
                if (r < 0 && (!e || !*err_msg(&e)))
                        abort();
                err_clear(&e);
        }
        free(buf);
        return 0;
}
