/* libFuzzer harness: WWW-Authenticate parsing and re-formatting, the token
 * request built from a Bearer challenge, and token response parsing (the
 * same bytes feed all three). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/common/challenge.h"
#include "registry/common/token.h"

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
                {
                        const struct reg_challenge *b = reg_challenges_find(c, "bearer");
                        struct reg_creds anon = {0}, idt = {.identity_token = (char *) "t"};
                        struct reg_token_request tr;
                        if (b && reg_token_request_build(b, NULL, 0, &anon, NULL, &tr, &e) == 0)
                                reg_token_request_clear(&tr);
                        err_clear(&e);
                        if (b && reg_token_request_build(b, NULL, 0, &idt, NULL, &tr, &e) == 0)
                                reg_token_request_clear(&tr);
                }
        }
        err_clear(&e);
        {
                char *tok = NULL, *rt = NULL;
                time_t exp;
                if (reg_token_response_parse((const char *) data, size, 0, &tok, &exp, &rt, &e) == 0) {
                        free(tok);
                        free(rt);
                }
        }
        err_clear(&e);
        reg_challenges_free(c);
        free(s);
        return 0;
}
