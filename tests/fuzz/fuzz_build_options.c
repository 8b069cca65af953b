/* libFuzzer: the values of ibuild's --build-arg and --secret options
 * (builder/options), on untrusted bytes.  Input: one value per line; odd
 * lines go to build_arg_parse, even ones to build_secret_parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/options/options.h"
#include "common/cleanup.h"
#include "oci/model.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *lines[16];
        char **owned = NULL;
        char *buf;

        if (size > 4096)
                return 0;
        for (size_t i = 0; i < 16; i++)
                lines[i] = NULL;
        buf = fuzz_split(data, size, '\n', lines, 16);
        for (size_t i = 0; i < 16 && lines[i]; i++) {
                struct err *e = NULL;

                if (i % 2 == 0) {
                        char *arg = NULL;
                        int r = build_arg_parse(lines[i], &arg, &e);

                        if (r == 1) {
                                /* NAME=VALUE with a non-empty name, no blank in it. */
                                const char *eq = arg ? strchr(arg, '=') : NULL;
                                if (!eq || eq == arg || strcspn(arg, " \t\r\n") < (size_t) (eq - arg))
                                        abort();
                        } else if (r == 0) {
                                if (arg || strchr(lines[i], '='))
                                        abort();
                        } else if (!e || !*err_msg(&e)) {
                                abort();
                        }
                        free(arg);
                } else {
                        struct build_secret s;

                        if (build_secret_parse(lines[i], &s, &owned, &e) == 0) {
                                if (!s.id || !*s.id || (!s.src && !s.env))
                                        abort();
                                if ((s.src && !*s.src) || (s.env && !*s.env))
                                        abort();
                        } else if (!e || !*err_msg(&e)) {
                                abort();
                        }
                }
                err_clear(&e);
        }
        oci_strv_free(owned);
        free(buf);
        return 0;
}
