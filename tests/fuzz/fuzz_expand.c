/* Fuzz the Dockerfile word expander: the first byte picks the escape
 * character, the rest is the word.  Any input must expand or fail cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile/shell.h"
#include "common/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const env[] = { "A=abc", "B=a b  c", "E=", "P=x*y/z", "K=한국어" };
        struct build_shell_opts opts = { .env = env, .n_env = 5 };
        struct build_shell_result *r = NULL;
        struct err *e = NULL;
        char *word;

        if (size < 1 || size > 4096)
                return 0;
        opts.escape = (data[0] & 1) ? '`' : '\\';
        opts.skip_quotes = (data[0] & 2) != 0;
        word = xstrndup((const char *) data + 1, size - 1);
        if (build_shell_expand(word, &opts, &r, &e) == 0) {
                /* The split words never contain more text than the word. */
                size_t total = 0;

                for (size_t i = 0; i < r->n_words; i++)
                        total += strlen(r->words[i]);
                if (total > strlen(r->word))
                        abort();
                build_shell_result_free(r);
        }
        err_clear(&e);
        build_shell_glob_match(word, strlen(word), "abc/def.한", 12, '\\');
        free(word);
        return 0;
}
