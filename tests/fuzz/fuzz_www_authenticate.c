/* libFuzzer harness: WWW-Authenticate parsing and re-formatting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/common/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct reg_challenges *c = NULL;
        struct err *e = NULL;
        char *s = malloc(size + 1);

        memcpy(s, data, size);
        s[size] = '\0';
        if (reg_challenges_parse(s, &c, &e) == 0) {
                /* Every parsed challenge formats, and the result parses back
                 * to the same parameters. */
                for (size_t i = 0; i < c->n; i++) {
                        const struct reg_challenge *ch = &c->v[i];
                        const char **kv = calloc(ch->n_params * 2 + 1, sizeof(*kv));
                        char buf[4096];
                        for (size_t k = 0; k < ch->n_params; k++) {
                                kv[2 * k] = ch->params[k].name;
                                kv[2 * k + 1] = ch->params[k].value;
                        }
                        if (reg_challenge_format(buf, sizeof(buf), ch->scheme, kv, &e) == 0) {
                                struct reg_challenges *c2 = NULL;
                                if (reg_challenges_parse(buf, &c2, &e) != 0)
                                        abort();
                                if (c2->n != 1 || c2->v[0].n_params != ch->n_params)
                                        abort();
                                for (size_t k = 0; k < ch->n_params; k++)
                                        if (strcmp(c2->v[0].params[k].value, ch->params[k].value) != 0)
                                                abort();
                                reg_challenges_free(c2);
                        }
                        err_clear(&e);
                        free(kv);
                }
                (void) reg_challenge_param(reg_challenges_find(c, "bearer"), "realm");
        }
        err_clear(&e);
        reg_challenges_free(c);
        free(s);
        return 0;
}
