/* libFuzzer: ibuild's --output values (builder/options/output), on
 * untrusted bytes.  Input: one value per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/options/output.h"
#include "common/cleanup.h"
#include "oci/model.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *lines[16] = {0};
        char *buf;

        if (size > 4096)
                return 0;
        buf = fuzz_split(data, size, '\n', lines, 16);
        for (size_t i = 0; i < 16 && lines[i]; i++) {
                struct err *e = NULL;
                struct build_output o;

                if (build_output_parse(lines[i], &o, &e) == 0) {
                        /* A file output has a dest; an image output none. */
                        if (!o.spec || strcmp(o.spec, lines[i]) != 0)
                                abort();
                        if ((o.type == BUILD_OUTPUT_IMAGE) != !o.dest || (o.dest && !*o.dest))
                                abort();
                        if (o.type != BUILD_OUTPUT_IMAGE && (o.push || (o.names && oci_strv_len(o.names) > 1)))
                                abort();
                        for (size_t k = 0; o.names && o.names[k]; k++)
                                if (!*o.names[k] || strchr(o.names[k], ','))
                                        abort();
                        build_output_clear(&o);
                } else if (!e || !*err_msg(&e)) {
                        abort();
                }
                err_clear(&e);
        }
        free(buf);
        return 0;
}
