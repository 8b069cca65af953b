/* Hash N MiB from memory with digest/ and print MB/s (bench/digest.sh drives it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "digest/digest.h"

int
main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
        size_t chunk = 1 << 20, i;
        enum digest_alg alg = argc > 2 && strcmp(argv[2], "sha512") == 0 ? DIGEST_SHA512 : DIGEST_SHA256;
        _cleanup_free_ unsigned char *buf = xmalloc(chunk);
        struct digest_ctx *c = digest_ctx_new(alg);
        struct digest d;
        struct timespec a, b;
        double secs;

        memset(buf, 0x5a, chunk);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (i = 0; i < mib; i++)
                digest_ctx_update(c, buf, chunk);
        digest_ctx_final(c, &d);
        clock_gettime(CLOCK_MONOTONIC, &b);
        digest_ctx_free(c);
        secs = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
        printf("%.1f\n", (double) mib * chunk / secs / 1e6);
        return 0;
}
