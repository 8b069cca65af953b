#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>

#include "builder/dockerfile/shell.h"

#define VECTORS "../shared/testdata/dockerfile-parser/shell/"

/* Trim ASCII white space at both ends in place; returns the start. */
static char *
trim(char *s, bool right)
{
        size_t n;

        while (*s == ' ' || *s == '\t')
                s++;
        n = strlen(s);
        while (right && n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
                s[--n] = '\0';
        return s;
}

static FILE *
open_vectors(const char *name)
{
        FILE *f = fopen(name, "re");

        if (!f)
                fail_msg("cannot open test vectors %s (run from the repository root)", name);
        return f;
}

/* Every A and U line of envVarTest: PLATFORM|INPUT|EXPECTED. */
static void
env_var_vectors(void **state)
{
        static const char *const env[] = { "PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL=" };
        struct build_shell_opts opts = { .escape = '\\', .env = env, .n_env = 4 };
        _cleanup_fclose_ FILE *f = open_vectors(VECTORS "envVarTest");
        char line[4096];
        int lineno = 0, failures = 0, checked = 0;

        while (fgets(line, sizeof(line), f)) {
                char *fields[3], *p = line, *input, *expected, *got;
                struct err *e = NULL;
                int n = 0;

                lineno++;
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '#' || trim(line, true)[0] == '\0')
                        continue;
                while (n < 3 && p) {
                        fields[n++] = p;
                        p = strchr(p, '|');
                        if (p)
                                *p++ = '\0';
                }
                if (n != 3 || p) {
                        print_error("envVarTest:%d: malformed line\n", lineno);
                        failures++;
                        continue;
                }
                if (strcmp(trim(fields[0], true), "W") == 0)
                        continue;
                input = trim(fields[1], true);
                expected = trim(fields[2], true);
                checked++;
                got = build_shell_expand_word(input, &opts, &e);
                if (strcmp(expected, "error") == 0) {
                        if (got) {
                                print_error("envVarTest:%d: %s: expected an error, got '%s'\n", lineno, input, got);
                                failures++;
                        } else if (err_code(&e) != ERR_PARSE || !strstr(err_msg(&e), input)) {
                                print_error("envVarTest:%d: %s: error lacks code or input: %s\n", lineno, input,
                                            err_msg(&e));
                                failures++;
                        }
                } else if (!got) {
                        print_error("envVarTest:%d: %s: unexpected error: %s\n", lineno, input, err_msg(&e));
                        failures++;
                } else if (strcmp(got, expected) != 0) {
                        print_error("envVarTest:%d: %s: expected '%s', got '%s'\n", lineno, input, expected, got);
                        failures++;
                }
                free(got);
                err_clear(&e);
        }
        assert_true(checked > 200);
        assert_int_equal(failures, 0);
}

/* Every line of wordsTest: ENV lines build the environment, others are
 * INPUT | W1,W2,... */
static void
words_vectors(void **state)
{
        _cleanup_fclose_ FILE *f = open_vectors(VECTORS "wordsTest");
        char *env[64];
        size_t n_env = 0;
        char line[4096];
        int lineno = 0, failures = 0, checked = 0;

        while (fgets(line, sizeof(line), f)) {
                struct build_shell_opts opts = { .escape = '\\', .env = (const char *const *) env, .n_env = n_env };
                char *bar, *input, *expected, **words = NULL;
                struct err *e = NULL;
                size_t nw = 0, i = 0;
                int r;

                lineno++;
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '#')
                        continue;
                if (strncmp(line, "ENV ", 4) == 0) {
                        assert_true(n_env < 64);
                        env[n_env++] = strdup(trim(line + 3, false));
                        continue;
                }
                bar = strchr(line, '|');
                if (!bar || strchr(bar + 1, '|')) {
                        print_error("wordsTest:%d: malformed line\n", lineno);
                        failures++;
                        continue;
                }
                *bar = '\0';
                input = trim(line, true);
                expected = trim(bar + 1, false);
                checked++;
                r = build_shell_expand_words(input, &opts, &words, &nw, &e);
                if (strcmp(expected, "error") == 0) {
                        if (r == 0) {
                                print_error("wordsTest:%d: %s: expected an error\n", lineno, input);
                                failures++;
                        }
                } else if (r < 0) {
                        print_error("wordsTest:%d: %s: unexpected error: %s\n", lineno, input, err_msg(&e));
                        failures++;
                } else {
                        char *save = NULL, *tok;
                        bool ok = true;

                        for (tok = strtok_r(expected, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++)
                                if (i >= nw || strcmp(tok, words[i]) != 0)
                                        ok = false;
                        if (!ok || i != nw) {
                                print_error("wordsTest:%d: %s: got %zu words:", lineno, input, nw);
                                for (size_t k = 0; k < nw; k++)
                                        print_error(" [%s]", words[k]);
                                print_error("\n");
                                failures++;
                        }
                }
                build_shell_strv_free(words);
                err_clear(&e);
        }
        for (size_t k = 0; k < n_env; k++)
                free(env[k]);
        assert_true(checked > 20);
        assert_int_equal(failures, 0);
}

static void
expect(const char *word, const char *want, const char *const *env, size_t n_env, int escape)
{
        struct build_shell_opts opts = { .escape = escape, .env = env, .n_env = n_env };
        struct err *e = NULL;
        char *got = build_shell_expand_word(word, &opts, &e);

        if (!got)
                fail_msg("%s: unexpected error %s", word, err_msg(&e));
        if (strcmp(got, want) != 0)
                fail_msg("%s: expected '%s', got '%s'", word, want, got);
        free(got);
}

static void
expect_error(const char *word, const char *needle, const char *const *env, size_t n_env)
{
        struct build_shell_opts opts = { .env = env, .n_env = n_env };
        struct err *e = NULL;
        char *got = build_shell_expand_word(word, &opts, &e);

        if (got)
                fail_msg("%s: expected an error, got '%s'", word, got);
        assert_int_equal(err_code(&e), ERR_PARSE);
        if (!strstr(err_msg(&e), needle))
                fail_msg("%s: message '%s' lacks '%s'", word, err_msg(&e), needle);
        err_clear(&e);
}

static const char *const ENV[] = { "V=foo/bar/baz.tar.gz", "E=", "S=a b  c", "N=한국어", "P=x*y" };
#define NENV 5

static void
operators(void **state)
{
        expect("${V#*/}", "bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V##*/}", "baz.tar.gz", ENV, NENV, 0);
        expect("${V%.*}", "foo/bar/baz.tar", ENV, NENV, 0);
        expect("${V%%.*}", "foo/bar/baz", ENV, NENV, 0);
        expect("${V#nomatch}", "foo/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V#foo}", "/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V%gz}", "foo/bar/baz.tar.", ENV, NENV, 0);
        expect("${V#f?o}", "/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V#[a-f]*/}", "bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V#[!f]*/}", "foo/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${UNSET#x}", "", ENV, NENV, 0);
        expect("${P#x\\*}", "y", ENV, NENV, 0);
        expect("${P#x*}", "*y", ENV, NENV, 0);
        expect("${P##x*}", "", ENV, NENV, 0);
        expect("${N#?}", "국어", ENV, NENV, 0);
        expect("${N%?}", "한국", ENV, NENV, 0);
        expect("${V/bar/qux}", "foo/qux/baz.tar.gz", ENV, NENV, 0);
        expect("${V/a/A}", "foo/bAr/baz.tar.gz", ENV, NENV, 0);
        expect("${V//a/A}", "foo/bAr/bAz.tAr.gz", ENV, NENV, 0);
        expect("${V//\\//-}", "foo-bar-baz.tar.gz", ENV, NENV, 0);
        expect("${V/b*z/X}", "foo/X", ENV, NENV, 0);
        expect("${V/b*r/X}", "foo/X.gz", ENV, NENV, 0);
        expect("${V//[ab]/_}", "foo/__r/__z.t_r.gz", ENV, NENV, 0);
        expect("${V/nomatch/x}", "foo/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${V///}", "foo/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${P///-}", "-x-*-y-", ENV, NENV, 0);
        expect("${P//\\*/\\}}", "x\\}y", ENV, NENV, 0);
        expect("${V/foo/}", "/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${UNSET/a/b}", "", ENV, NENV, 0);
        expect("${N//국/-}", "한-어", ENV, NENV, 0);
        expect("${V:-x} ${E:-x} ${E-x} ${U-x}", "foo/bar/baz.tar.gz x  x", ENV, NENV, 0);
        expect("${V:+y} ${E:+y} ${E+y} ${U+y}", "y  y ", ENV, NENV, 0);
        expect("${E?}${V:?}", "foo/bar/baz.tar.gz", ENV, NENV, 0);
        expect("${U:-${V##*.}}", "gz", ENV, NENV, 0);
        expect("${U:-'a  b'}", "a  b", ENV, NENV, 0);
        expect("$N$V", "한국어foo/bar/baz.tar.gz", ENV, NENV, 0);
        /* Later entries win; an entry without '=' sets the name empty. */
        {
                static const char *const dup[] = { "A=1", "A=2", "B" };

                expect("$A-${B-unset}-${B:-empty}", "2--empty", dup, 3, 0);
        }
}


/* BuildKit's own cases for the operators (lex_test.go TestProcessWithMatches):
 * input, "K=V;K=V" environment, expected output (NULL: an error). */
static void
buildkit_operator_cases(void **state)
{
        static const char *const cases[][3] = {
                { "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", "FOO=xxx;BAR=", "xxx  ccc" },
                { "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", "FOO=xxx;BAR=", "xxx bbb ccc" },
                { "${FOO:-}", "FOO=xxx;BAR=", "xxx" },
                { "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", "FOO=xxx;BAR=", "aaa bbb " },
                { "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", "FOO=xxx;BAR=", "aaa  " },
                { "${FOO?aaa}", "FOO=xxx;BAR=", "xxx" },
                { "${BAR?bbb}", "FOO=xxx;BAR=", "" },
                { "${BAZ?ccc}", "FOO=xxx;BAR=", NULL },
                { "${BAR:?bbb}", "FOO=xxx;BAR=", NULL },
                { "${BAZ:?}", "FOO=xxx;BAR=", NULL },
                { "${FOO=aaa}", "FOO=xxx", NULL },
                { "${FOO=:aaa}", "FOO=xxx", NULL },
                { "${FOO=}", "", NULL },
                { "${FOO#()[]{\\}^$.\\*\\?|\\\\}", "FOO=()[]{}^$.*?|\\x", "x" },
                { "${FOO%%\\**}", "FOO=xx**", "xx" },
                { "${FOO#*x*y}", "FOO=xxyy", "y" },
                { "${FOO#*}", "FOO=xxyy", "xxyy" },
                { "${FOO#$BAR}", "FOO=xxyy;BAR=x", "xyy" },
                { "${FOO#$BAR}", "FOO=xxyy;BAR=", "xxyy" },
                { "${FOO#}", "FOO=xxyy", "xxyy" },
                { "${FOO##*x}", "FOO=xxyy", "yy" },
                { "${FOO##}", "FOO=xxyy", "xxyy" },
                { "${FOO#?\\?}", "FOO=???y", "?y" },
                { "${ABC:-.}${FOO%x}${ABC:-.}", "FOO=xxyy", ".xxyy." },
                { "${FOO%%\\**\\*}", "FOO=a***yy*", "a" },
                { "${FOO%}", "FOO=xxyy", "xxyy" },
                { "${FOO%%$BAR}", "FOO=xxyy;BAR=", "xxyy" },
                { "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", "FOO=/foo*/*/*.txt;NEEDLE=\\*/", "/foo.*/*.txt - /foo..*.txt" },
                { "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", "FOO=/tmp/tmp/bar.txt;NEEDLE=/tmp", "/tmp/bar.txt - /bar.txt" },
                { "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
                  "FOO=/a/foo/b/c.txt;NEEDLE=/?/;REPLACEMENT=/", "/foo/b/c.txt - /foo/c.txt" },
                { "${FOO/$NEEDLE/$REPLACEMENT}", "FOO=http://google.de;NEEDLE=http://;REPLACEMENT=https://",
                  "https://google.de" },
                { "${FOO//\\//\\/}", "FOO=/tmp/foo.txt", "\\/tmp\\/foo.txt" },
                { "${FOO/$BAR/ww}", "FOO=xxyy;BAR=", "wwxxyy" },
                { "${FOO//ww}", "FOO=xxyy", NULL },
                { "${FOO//}", "FOO=xxyy", NULL },
                { "${FOO///}", "FOO=xxyy", "xxyy" },
                { "${FOO///}", "", "" },
                { "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
                  "VERSION=v1.2.3;TARGETOS=linux;TARGETARCH=arm;TARGETVARIANT=v7", "something-v1.2.3.linux-arm-v7.tar.gz" },
                { "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
                  "VERSION=v1.2.3;TARGETOS=linux;TARGETARCH=amd64;TARGETVARIANT=", "something-v1.2.3.linux-amd64.tar.gz" },
                { "${VAR:?message here$ARG}", "VAR=plain;ARG=x", "plain" },
                { "${VAR:?message here$ARG}", "VAR=;ARG=x", NULL },
                { "${VAR?message here$ARG}", "VAR=;ARG=x", "" },
        };
        int failures = 0;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *envbuf = strdup(cases[i][1]), *save = NULL, *tok;
                const char *env[8];
                size_t n = 0;
                struct build_shell_opts o = { 0 };
                struct err *e = NULL;
                char *got;

                for (tok = strtok_r(envbuf, ";", &save); tok && n < 8; tok = strtok_r(NULL, ";", &save))
                        env[n++] = tok;
                o.env = env;
                o.n_env = n;
                got = build_shell_expand_word(cases[i][0], &o, &e);
                if (!cases[i][2] && got) {
                        print_error("%s: expected an error, got '%s'\n", cases[i][0], got);
                        failures++;
                } else if (cases[i][2] && !got) {
                        print_error("%s: unexpected error %s\n", cases[i][0], err_msg(&e));
                        failures++;
                } else if (got && strcmp(got, cases[i][2]) != 0) {
                        print_error("%s: got '%s', want '%s'\n", cases[i][0], got, cases[i][2]);
                        failures++;
                }
                if (!cases[i][2] && !got && strstr(cases[i][0], "message here") &&
                    !strstr(err_msg(&e), "VAR: message herex")) {
                        print_error("%s: message %s\n", cases[i][0], err_msg(&e));
                        failures++;
                }
                free(got);
                err_clear(&e);
                free(envbuf);
        }
        assert_int_equal(failures, 0);
}

static void
backtick_escape(void **state)
{
        expect("a`$V", "a$V", ENV, NENV, '`');
        expect("a\\b", "a\\b", ENV, NENV, '`');
        expect("\"a`\"b\"", "a\"b", ENV, NENV, '`');
        expect("c:\\dir\\$N", "c:\\dir\\한국어", ENV, NENV, '`');
        expect("`", "", ENV, NENV, '`');
}

static void
skip_quotes(void **state)
{
        struct build_shell_opts opts = { .env = ENV, .n_env = NENV, .skip_quotes = true };
        struct err *e = NULL;
        char *got = build_shell_expand_word("echo '$N' \"${E:-x}\" \\$N\n", &opts, &e);

        assert_non_null(got);
        assert_string_equal(got, "echo '한국어' \"x\" $N\n");
        free(got);
}

static void
errors(void **state)
{
        expect_error("${U:?must be set}", "U: must be set", ENV, NENV);
        expect_error("${U?}", "U: is not allowed to be unset", ENV, NENV);
        expect_error("${E:?}", "E: is not allowed to be empty", ENV, NENV);
        expect_error("x${}", "bad substitution", ENV, NENV);
        expect_error("${V", "missing '}'", ENV, NENV);
        expect_error("${V:-abc", "missing '}'", ENV, NENV);
        expect_error("${V/abc", "missing '/'", ENV, NENV);
        expect_error("${V//}", "missing '/'", ENV, NENV);
        expect_error("${V:=x}", "unsupported modifier", ENV, NENV);
        expect_error("${V^^}", "unsupported modifier", ENV, NENV);
        expect_error("'abc", "single-quote", ENV, NENV);
        expect_error("\"abc", "double-quote", ENV, NENV);
}

static void
used_and_unset(void **state)
{
        struct build_shell_opts opts = { .env = ENV, .n_env = NENV };
        struct build_shell_result *r = NULL;
        struct err *e = NULL;

        assert_int_equal(build_shell_expand("$V ${X:-$Y} $1 $@ ${E} $X '$Z' \"$N\"", &opts, &r, &e), 0);
        assert_int_equal(r->n_used, 3);
        assert_string_equal(r->used[0], "V");
        assert_string_equal(r->used[1], "E");
        assert_string_equal(r->used[2], "N");
        assert_null(r->used[3]);
        /* Y is looked up (defaults are always expanded), $1/$@ are never
         * "unset variables", $Z is quoted. */
        assert_int_equal(r->n_unset, 2);
        assert_string_equal(r->unset[0], "Y");
        assert_string_equal(r->unset[1], "X");
        assert_int_equal(r->n_words, 3);
        assert_string_equal(r->words[1], "$Z");
        assert_string_equal(r->words[2], "한국어");
        build_shell_result_free(r);
        build_shell_result_free(NULL);
        /* Operators that handle unset names do not report them. */
        assert_int_equal(build_shell_expand("${Q:-d}${Q+x}${Q-y}${Q#p}", &opts, &r, &e), 0);
        assert_int_equal(r->n_unset, 1);
        assert_string_equal(r->unset[0], "Q");
        build_shell_result_free(r);
        assert_int_equal(build_shell_expand("${Q:-d}${Q+x}${Q-y}", &opts, &r, &e), 0);
        assert_int_equal(r->n_unset, 0);
        build_shell_result_free(r);
}

static const char *
cb_lookup(void *data, const char *name)
{
        int *calls = data;

        (*calls)++;
        return strcmp(name, "HOME") == 0 ? "/root" : NULL;
}

static void
callback_env(void **state)
{
        int calls = 0;
        struct build_shell_opts opts = { .lookup = cb_lookup, .lookup_data = &calls };
        char **words = NULL;
        size_t n = 0;
        struct err *e = NULL;

        assert_int_equal(build_shell_expand_words("$HOME/x  ${NOPE:-a b}", &opts, &words, &n, &e), 0);
        assert_int_equal(n, 3);
        assert_string_equal(words[0], "/root/x");
        assert_string_equal(words[1], "a");
        assert_string_equal(words[2], "b");
        assert_null(words[3]);
        assert_int_equal(calls, 2);
        build_shell_strv_free(words);
        /* No options at all: nothing is set. */
        words = NULL;
        assert_int_equal(build_shell_expand_words("\"\" '' x", NULL, &words, &n, &e), 0);
        assert_int_equal(n, 1);
        build_shell_strv_free(words);
}

static void
limits(void **state)
{
        /* Deep nesting is refused, not a stack overflow. */
        size_t depth = 5000;
        char *w = malloc(depth * 6 + 2), *p = w;
        struct err *e = NULL;

        for (size_t i = 0; i < depth; i++)
                p += sprintf(p, "${a:-");
        *p++ = 'x';
        for (size_t i = 0; i < depth; i++)
                *p++ = '}';
        *p = '\0';
        assert_null(build_shell_expand_word(w, NULL, &e));
        if (!strstr(err_msg(&e), "nested too deeply"))
                fail_msg("%.200s", err_msg(&e));
        err_clear(&e);
        free(w);
        /* Pattern operators on a long value fail instead of running for
         * hours. */
        {
                size_t n = 200000;
                char *kv = malloc(n + 3);
                const char *env[1] = { kv };
                struct build_shell_opts o = { .env = env, .n_env = 1 };

                memcpy(kv, "V=", 2);
                memset(kv + 2, 'a', n);
                kv[n + 2] = '\0';
                assert_null(build_shell_expand_word("${V//*x/y}", &o, &e));
                assert_non_null(strstr(err_msg(&e), "too costly"));
                err_clear(&e);
                /* A cheap operation on the same value is fine. */
                w = build_shell_expand_word("${V#a}", &o, &e);
                assert_non_null(w);
                assert_int_equal(strlen(w), n - 1);
                free(w);
                free(kv);
        }
}

static void
glob(void **state)
{
        assert_true(build_shell_glob_match("*", 1, "", 0, 0));
        assert_true(build_shell_glob_match("a*b*c", 5, "axxbyyc", 7, 0));
        assert_false(build_shell_glob_match("a*b*c", 5, "axxbyy", 6, 0));
        assert_true(build_shell_glob_match("[]]", 3, "]", 1, 0));
        assert_true(build_shell_glob_match("[a-c]x", 6, "bx", 2, 0));
        assert_false(build_shell_glob_match("[^a-c]x", 7, "bx", 2, 0));
        assert_true(build_shell_glob_match("[abc", 4, "[abc", 4, 0));
        assert_true(build_shell_glob_match("\\*", 2, "*", 1, 0));
        assert_false(build_shell_glob_match("\\*", 2, "x", 1, 0));
        assert_true(build_shell_glob_match("`*", 2, "*", 1, '`'));
        assert_true(build_shell_glob_match("?", 1, "한", 3, 0));
        assert_true(build_shell_glob_match("[가-힣]", 9, "국", 3, 0));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(env_var_vectors), cmocka_unit_test(words_vectors),
                cmocka_unit_test(operators),
                cmocka_unit_test(buildkit_operator_cases),       cmocka_unit_test(backtick_escape),
                cmocka_unit_test(skip_quotes),
                cmocka_unit_test(errors),          cmocka_unit_test(used_and_unset),
                cmocka_unit_test(callback_env),    cmocka_unit_test(limits),
                cmocka_unit_test(glob),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
