/* libFuzzer: platform strings ("os/arch[/variant]", from --platform, FROM
 * --platform and build args) and uname machine names.  A parsed platform
 * formats to a string that parses back to an equal platform with the same
 * formatting, and every platform serves itself (rank 0). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct oci_platform *p = NULL, *again = NULL, *dup;
        struct err *e = NULL;
        const char *arch, *variant;
        char *s, *f1, *f2;

        if (size > 1024)
                return 0;
        s = xstrndup((const char *) data, size);
        if (oci_platform_from_machine(s, &arch, &variant) && (!arch || !*arch))
                abort();
        if (oci_platform_parse(s, &p, &e) < 0) {
                if (!e || !*err_msg(&e))
                        abort();
                err_clear(&e);
                free(s);
                return 0;
        }
        f1 = oci_platform_format(p);
        if (oci_platform_parse(f1, &again, &e) < 0)
                abort(); /* what we format must parse */
        f2 = oci_platform_format(again);
        if (strcmp(f1, f2) != 0 || !oci_platform_equal(p, again) || !oci_platform_equal(again, p))
                abort();
        if (oci_platform_rank(p, p) != 0 || !oci_platform_match(again, p))
                abort();
        dup = oci_platform_dup(p);
        oci_platform_normalize(dup);
        if (!oci_platform_equal(p, dup))
                abort(); /* normalising twice changes nothing */
        oci_platform_free(dup);
        oci_platform_free(again);
        oci_platform_free(p);
        free(f1);
        free(f2);
        free(s);
        return 0;
}
