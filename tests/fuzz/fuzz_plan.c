/* Fuzz the build plan: any Dockerfile the parser accepts must plan or fail
 * cleanly (stages, references, ARG/ENV expansion, ONBUILD triggers). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const args[] = { "A=1", "B=x y", "HTTP_PROXY=p", "UNUSED=u" };
        struct build_plan_opts o = {
                .build_args = args,
                .n_build_args = 4,
                .build_platform = "linux/amd64",
                .platform = "linux/arm/v7",
        };
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        if (size > 16384)
                return 0;
        if (build_df_parse((const char *) data, size, "fuzz", &f, &e) == 0) {
                o.all_stages = size & 1;
                if (build_plan_new(f, &o, &p, &e) == 0) {
                        /* The target is always planned last. */
                        if (p->n_order == 0 || p->order[p->n_order - 1] != p->target)
                                abort();
                        build_plan_free(p);
                }
        }
        err_clear(&e);
        build_df_file_free(f);
        return 0;
}
