/* libFuzzer: RUN --mount option strings from a Dockerfile. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/exec/exec.h"
#include "common/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct build_mount_spec m;
        struct err *e = NULL;
        char *s;

        if (size > 4096)
                return 0;
        s = xstrndup((const char *) data, size);
        if (build_mount_spec_parse(s, &m, &e) == 0) {
                if (!m.type || (m.mode != (mode_t) -1 && m.mode > 07777))
                        abort();
                build_mount_spec_clear(&m);
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        err_clear(&e);
        free(s);
        return 0;
}
