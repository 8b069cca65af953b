/* libFuzzer: digest_ctx_restore on arbitrary bytes (a saved upload hash
 * state read back from storage).  A state it accepts must save back to
 * the same text and keep hashing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct err *e = NULL;
        struct digest_ctx *c = digest_ctx_restore((const char *) data, size, &e);
        char st[DIGEST_STATE_MAX];
        struct digest d;
        size_t len = size;
        int n;

        if (!c) {
                err_clear(&e);
                return 0;
        }
        if (len > 0 && data[len - 1] == '\n')
                len--;
        n = digest_ctx_save(c, st, sizeof(st), &e);
        if (n < 0 || (size_t) n != len || memcmp(st, data, len) != 0)
                abort();
        digest_ctx_update(c, data, size);
        digest_ctx_final(c, &d);
        digest_ctx_free(c);
        return 0;
}
