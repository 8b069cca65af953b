/* libFuzzer: base64 and base64url decoding (Basic credentials, config.json
 * "auth" values, JWT segments) on arbitrary bytes.  Whatever decodes
 * re-encodes in both alphabets to text that decodes to the same bytes, and
 * arbitrary bytes survive an encode/decode round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/common/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const unsigned char *bytes, size_t len)
{
        for (int url = 0; url < 2; url++) {
                char *enc = reg_b64_encode(bytes, len, url);
                unsigned char *dec = NULL;
                size_t dlen = 0;
                struct err *e = NULL;

                if (reg_b64_decode(enc, strlen(enc), &dec, &dlen, &e) < 0)
                        abort(); /* what we encode must decode */
                if (dlen != len || memcmp(dec, bytes, len) != 0 || dec[dlen] != '\0')
                        abort();
                free(dec);
                free(enc);
        }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        unsigned char *dec = NULL;
        size_t dlen = 0;
        struct err *e = NULL;

        if (size > 65536)
                return 0;
        if (reg_b64_decode((const char *) data, size, &dec, &dlen, &e) == 0) {
                if (dlen > size || dec[dlen] != '\0')
                        abort();
                roundtrip(dec, dlen);
                free(dec);
        } else if (!e || !*err_msg(&e)) {
                abort();
        }
        err_clear(&e);
        roundtrip(data, size);
        return 0;
}
