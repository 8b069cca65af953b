/* Dockerfile word expansion and word splitting (Docker's shell lexer).
 *
 * Implements the subset of POSIX shell expansion that Docker applies to the
 * arguments of ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR
 * (and ARG, ONBUILD triggers when they run, and instruction flags):
 *
 *   $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m}
 *   ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}
 *
 * with single quotes (literal), double quotes ($ expands, the escape char
 * escapes only " $ and itself) and the escape character ('\' or '`', from
 * the `# escape=` directive).  Patterns are shell globs: * ? [...].
 * Positional ($1, $999) and special ($@ $* $# $? $- $$ $! $0) parameters are
 * never set.  Variable names may contain Unicode letters.
 *
 * Deliberate differences from BuildKit (which turns patterns into Go
 * regexps): well-formed bracket expressions ([a-z], [!x]) are classes in
 * patterns (BuildKit matches '[' literally; an unterminated '[' is literal
 * here too), and any escaped character is literal in a pattern (BuildKit
 * rejects escapes other than \* \? \\).  As in BuildKit, the replacement of
 * ${V/p/r} keeps its escape characters and an empty pattern matches the
 * empty string.
 */
#ifndef BUILDER_DOCKERFILE_SHELL_H
#define BUILDER_DOCKERFILE_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Nesting depth of ${...} inside ${...} and the size of one expanded word:
 * both bound the work and memory an untrusted Dockerfile can ask for. */
#define BUILD_SHELL_MAX_DEPTH 64
#define BUILD_SHELL_MAX_OUTPUT (16 * 1024 * 1024)

/* Where variable values come from. */
struct build_shell_opts {
        /* The escape character: '\\' or '`'.  0 means '\\'. */
        int escape;
        /* Treat quotes as ordinary characters (BuildKit expands COPY/ADD
         * heredoc bodies this way). */
        bool skip_quotes;
        /* "NAME=VALUE" entries (an entry without '=' sets NAME to ""); when a
         * name repeats the later entry wins.  Used when LOOKUP is NULL. */
        const char *const *env;
        size_t n_env;
        /* Alternatively a callback: the value of NAME (borrowed; must stay
         * valid until the expansion returns) or NULL when NAME is unset. */
        const char *(*lookup)(void *data, const char *name);
        void *lookup_data;
};

/* What one expansion produced.  Every string is owned by the result. */
struct build_shell_result {
        /* The word with quotes removed and variables substituted. */
        char *word;
        /* The same split into words at unquoted white space (NULL-terminated). */
        char **words;
        size_t n_words;
        /* Variable names looked up and found set / not set, each once, in
         * first-use order (NULL-terminated).  Not listed as unset:
         * positional and special parameters ($1, $@ ...) and names used
         * with an operator that handles unset (${V:-w} ${V-w} ${V:+w}
         * ${V+w} ${V:?m} ${V?m}). */
        char **used;
        size_t n_used;
        char **unset;
        size_t n_unset;
};

/* Expand WORD (NUL-terminated) with OPTS (NULL: no variables, escape '\\').
 * On success *ret_result is a new result owned by the caller (free with
 * build_shell_result_free).  Errors are ERR_PARSE naming the word: bad
 * substitution (${}, ${.}, ${V:=w}), missing '}', unterminated quote,
 * ${V?m}/${V:?m} on an unset (or empty) V with message m. */
int build_shell_expand(const char *word, const struct build_shell_opts *opts,
                       struct build_shell_result **ret_result, struct err **err);

/* Free a result; NULL is a no-op. */
void build_shell_result_free(struct build_shell_result *r);

/* Expand WORD to one string (owned by the caller), or NULL with *err set. */
char *build_shell_expand_word(const char *word, const struct build_shell_opts *opts, struct err **err);

/* Expand WORD and split it into words: *ret_words is a NULL-terminated array
 * owned by the caller (free with build_shell_strv_free), *ret_n its length. */
int build_shell_expand_words(const char *word, const struct build_shell_opts *opts, char ***ret_words,
                             size_t *ret_n, struct err **err);

/* Free a NULL-terminated string array; NULL is a no-op. */
void build_shell_strv_free(char **v);

/* Does STR (LEN bytes) match the whole shell glob PATTERN (PLEN bytes)?
 * '*' any string, '?' one character, [abc] [a-z] [!x] [^x] classes, ESCAPE
 * (0: '\\') makes the next character literal.  UTF-8 aware. */
bool build_shell_glob_match(const char *pattern, size_t plen, const char *str, size_t len, int escape);

#endif
