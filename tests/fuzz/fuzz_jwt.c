/* libFuzzer harness: JWT parsing/verification and the token endpoint's
 * parameter parsers.  The first byte picks the target:
 *   0: the input is a bearer token, verified against a trusted key
 *   1: the input is a claims document, signed then verified and checked
 *   2: the input is a scope string and a form body */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/auth/auth-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct reg_jwt_key *key;
static struct reg_jwt_trust *trust;

static void
init(void)
{
        struct err *e = NULL;
        EVP_PKEY *pk;

        if (trust)
                return;
        pk = EVP_EC_gen("P-256");
        if (!pk || reg_jwt_key_from_pkey(pk, &key, &e) < 0)
                abort();
        trust = reg_jwt_trust_new();
        if (reg_jwt_trust_add_key(trust, key, &e) < 0)
                abort();
}

static int
ignore(const char *v, void *ud)
{
        (void) ud;
        return strlen(v) > (size_t) -2 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;
        json_t *claims = NULL;
        char *s;

        if (size < 1)
                return 0;
        init();
        s = malloc(size);
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 3) {
        case 0:
                if (reg_jwt_verify(trust, s, &claims, &e) == 0) {
                        (void) reg_jwt_check_claims(claims, "ireg", "ireg", time(NULL), &e);
                        json_decref(claims);
                }
                break;
        case 1: {
                json_t *j = json_loads(s, 0, NULL);
                char *tok = NULL;
                if (json_is_object(j) && reg_jwt_sign(key, j, NULL, 0, &tok, &e) == 0) {
                        if (reg_jwt_verify(trust, tok, &claims, &e) != 0)
                                abort(); /* what we sign must verify */
                        (void) reg_jwt_check_claims(claims, "ireg", "ireg", time(NULL), &e);
                        json_decref(claims);
                        free(tok);
                }
                json_decref(j);
                break;
        }
        default: {
                struct reg_scope sc;
                (void) reg_scope_parse(s, &sc, &e);
                err_clear(&e);
                (void) reg_form_each(s, "scope", ignore, NULL, &e);
                break;
        }
        }
        err_clear(&e);
        free(s);
        return 0;
}
