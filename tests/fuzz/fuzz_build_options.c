/* libFuzzer: the values of ibuild's --build-arg, --secret and --ssh
 * options (builder/options), on untrusted bytes.  Input: one value per
 * line, in turn to build_arg_parse, build_secret_parse and
 * build_ssh_parse (the ssh ids of earlier lines count as given). */
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
        struct build_ssh ssh[16];
        size_t n_ssh = 0;
        char *buf;

        if (size > 4096)
                return 0;
        for (size_t i = 0; i < 16; i++)
                lines[i] = NULL;
        buf = fuzz_split(data, size, '\n', lines, 16);
        for (size_t i = 0; i < 16 && lines[i]; i++) {
                struct err *e = NULL;

                if (i % 3 == 0) {
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
                } else if (i % 3 == 2) {
                        if (build_ssh_parse(lines[i], ssh, n_ssh, &ssh[n_ssh], &owned, &e) == 0) {
                                struct build_ssh *s = &ssh[n_ssh++];

                                if (!s->id || !*s->id || strchr(s->id, ',') || !s->socket == !s->n_keys)
                                        abort();
                                for (size_t k = 0; k + 1 < n_ssh; k++)
                                        if (strcmp(ssh[k].id, s->id) == 0)
                                                abort();
                        } else if (!e || !*err_msg(&e)) {
                                abort();
                        }
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
        for (size_t k = 0; k < n_ssh; k++)
                free((void *) ssh[k].keys);
        oci_strv_free(owned);
        free(buf);
        return 0;
}
