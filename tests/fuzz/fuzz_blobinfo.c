/* libFuzzer: the store's blob-location record (STORE/blobinfo.json), a
 * file any process of the user -- or a store copied from elsewhere -- may
 * have left in any state.  Invariants: a failure carries a message; what
 * parses serializes to a file that parses back with nothing dropped and
 * serializes to the same bytes; lookups and merges stay in bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/client/blobinfo-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct reg_blobinfo *bi = NULL, *back = NULL;
        struct err *e = NULL;
        size_t dropped = 0, len1, len2;

        if (size > 1 << 20)
                return 0;
        if (reg_blobinfo_parse((const char *) data, size, &bi, &dropped, &e) < 0) {
                if (!e || e->msg[0] == '\0')
                        abort();
                err_clear(&e);
                return 0;
        }
        if (reg_blobinfo_count(bi) > REG_BLOBINFO_DIGESTS)
                abort();
        char *t1 = reg_blobinfo_serialize(bi, &len1);
        if (reg_blobinfo_parse(t1, len1, &back, &dropped, &e) < 0 || dropped != 0)
                abort();
        char *t2 = reg_blobinfo_serialize(back, &len2);
        if (len1 != len2 || memcmp(t1, t2, len1) != 0)
                abort();
        (void) reg_blobinfo_find(back, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                                 "localhost:5000", "a/x");
        reg_blobinfo_merge(back, bi);
        if (reg_blobinfo_count(back) != reg_blobinfo_count(bi))
                abort();
        free(t1);
        free(t2);
        reg_blobinfo_free(back);
        reg_blobinfo_free(bi);
        return 0;
}
