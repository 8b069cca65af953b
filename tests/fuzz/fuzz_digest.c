/* libFuzzer: digest_parse and digest_grammar_ok on arbitrary strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        struct digest d;
        struct err *e = NULL;

        memcpy(s, data, size);
        s[size] = '\0';
        if (digest_parse(s, &d, &e) == 0) {
                /* A parsed digest must be canonical and re-parse to itself. */
                if (strcmp(d.str, s) != 0 || !digest_grammar_ok(d.str))
                        abort();
        }
        err_clear(&e);
        (void) digest_grammar_ok(s);
        free(s);
        return 0;
}
