/* Fuzz .dockerignore parsing and matching: the input up to the first NUL is
 * the file, what follows is a list of paths (one a line) to match. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/dockerignore.h"
#include "common/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *) data;
        const char *nul = memchr(data, '\0', size);
        size_t tlen = nul ? (size_t) (nul - text) : size;
        struct build_ignore *ig = NULL;
        struct err *e = NULL;

        if (size > 8192)
                return 0;
        if (build_ignore_parse(text, tlen, "fuzz", &ig, &e) == 0) {
                const char *p = nul ? nul + 1 : "a/b/c";
                const char *end = nul ? text + size : p + strlen(p);

                while (p < end) {
                        const char *nl = memchr(p, '\n', (size_t) (end - p));
                        char *path = xstrndup(p, nl ? (size_t) (nl - p) : (size_t) (end - p));

                        (void) build_ignore_excludes(ig, path);
                        free(path);
                        p = nl ? nl + 1 : end;
                }
                build_ignore_free(ig);
        }
        err_clear(&e);
        {
                char *c = xstrndup(text, tlen);
                char *cl = build_path_clean(c);

                free(cl);
                free(c);
        }
        return 0;
}
