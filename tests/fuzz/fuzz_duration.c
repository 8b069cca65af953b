/* libFuzzer: duration values from the command line and the ireg config
 * (ibuild --timeout style "1m30s", Go syntax; ireg gc "--grace 12h"). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/exec/exec.h"
#include "common/cleanup.h"
#include "registry/server/gc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;
        int64_t ns;
        time_t t;
        char *s;

        if (size > 256)
                return 0;
        s = xstrndup((const char *) data, size);
        if (build_exec_parse_duration(s, &ns, &e) == 0) {
                if (ns < 0)
                        abort();
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        err_clear(&e);
        if (reg_parse_duration(s, &t, &e) == 0) {
                if (t < 0 || t > (time_t) 100 * 365 * 86400)
                        abort();
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        err_clear(&e);
        free(s);
        return 0;
}
