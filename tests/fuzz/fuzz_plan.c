/* Fuzz the build plan: any Dockerfile the parser accepts must plan or fail
 * cleanly (stages, references, ARG/ENV expansion, ONBUILD triggers), with
 * command-line values from the input too.
 * Input: DOCKERFILE ['\0' PLATFORM '\n' TARGET '\n' BUILD-ARG '\n' ...]:
 * without the NUL part, --platform linux/arm/v7, no --target and a fixed
 * set of --build-arg values; an empty PLATFORM or TARGET line means unset. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/parser.h"
#include "builder/dockerfile/plan.h"
#include "tests/fuzz/fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const fixed[] = { "A=1", "B=x y", "HTTP_PROXY=p", "UNUSED=u" };
        const char *args[MAX_ARGS];
        struct build_plan_opts o = {
                .build_args = fixed,
                .n_build_args = 4,
                .build_platform = "linux/amd64",
                .platform = "linux/arm/v7",
        };
        char *parts[2] = { "", NULL }, *buf;
        struct build_df_file *f = NULL;
        struct build_plan *p = NULL;
        struct err *e = NULL;

        if (size > 16384)
                return 0;
        buf = fuzz_split(data, size, '\0', parts, 2);
        if (parts[1]) {
                char *lines[2 + MAX_ARGS] = { "", "" };
                size_t n = 0;

                for (char *l = parts[1]; l && n < 2 + MAX_ARGS; n++) {
                        char *nl = strchr(l, '\n');
                        lines[n] = l;
                        if (nl)
                                *nl = '\0';
                        l = nl ? nl + 1 : NULL;
                }
                o.platform = *lines[0] ? lines[0] : NULL;
                o.target = *lines[1] ? lines[1] : NULL;
                o.n_build_args = n > 2 ? n - 2 : 0;
                for (size_t i = 0; i < o.n_build_args; i++)
                        args[i] = lines[2 + i];
                o.build_args = args;
        }
        if (build_df_parse(parts[0], strlen(parts[0]), "fuzz", &f, &e) == 0) {
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
        free(buf);
        return 0;
}
