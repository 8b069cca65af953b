#include "tests/unit/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/dockerfile/dockerignore.h"
#include "common/fsutil.h"

/* Check PATH against the patterns (one string, lines split at '\n'). */
static void
check(const char *patterns, const char *path, bool want)
{
        struct build_ignore *ig = NULL;
        struct err *e = NULL;

        if (build_ignore_parse(patterns, strlen(patterns), "test", &ig, &e) < 0)
                fail_msg("patterns '%s': %s", patterns, err_msg(&e));
        if (build_ignore_excludes(ig, path) != want)
                fail_msg("patterns '%s', path '%s': expected %s", patterns, path, want ? "excluded" : "included");
        build_ignore_free(ig);
}

static void
bad(const char *patterns, const char *needle)
{
        struct build_ignore *ig = NULL;
        struct err *e = NULL;

        if (build_ignore_parse(patterns, strlen(patterns), "ctx/.dockerignore", &ig, &e) == 0)
                fail_msg("patterns '%s' should be rejected", patterns);
        assert_int_equal(err_code(&e), ERR_PARSE);
        if (!strstr(err_msg(&e), needle))
                fail_msg("message '%s' lacks '%s'", err_msg(&e), needle);
        assert_null(ig);
        err_clear(&e);
}

static void
clean(void **state)
{
        static const char *const cases[][2] = {
                { "", "." },          { "a/b/", "a/b" },   { "./a", "a" },       { "a//b", "a/b" },
                { "a/./b", "a/b" },   { "a/../b", "b" },   { "../a", "../a" },   { "/../a", "/a" },
                { "/", "/" },         { "a/b/../..", "." }, { "a/../../b", "../b" }, { "/a/b/", "/a/b" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *c = build_path_clean(cases[i][0]);

                if (strcmp(c, cases[i][1]) != 0)
                        fail_msg("clean(%s) = %s, want %s", cases[i][0], c, cases[i][1]);
                free(c);
        }
}

static void
literal_and_anchoring(void **state)
{
        check("foo", "foo", true);
        check("foo", "foo/bar", true); /* a directory excludes its contents */
        check("foo", "x/foo", false);  /* patterns are anchored at the root */
        check("foo", "foobar", false);
        check("/foo", "foo", true);
        check("./foo/", "foo/x", true);
        check("a/../foo", "foo", true);
        check("  foo  \r", "foo", true);
        check("*/secret", "x/secret", true);
        check("*/secret", "x/y/secret", false);
        check("*/secret", "secret", false);
        check(".", "foo", false);
}

static void
wildcards(void **state)
{
        check("*.o", "a.o", true);
        check("*.o", "dir/a.o", false); /* '*' does not cross '/' */
        check("*", "anything/at/all", true);
        check("a?c", "abc", true);
        check("a?c", "a/c", false);
        check("a?c", "a한c", true);
        check("[a-c]?.txt", "b1.txt", true);
        check("[a-c]?.txt", "d1.txt", false);
        check("[^a]x", "bx", true);
        check("[^a]x", "ax", false);
        check("[abc]", "b", true);
        check("[a\\]]", "]", true);
        check("a\\*b", "a*b", true);
        check("a\\*b", "axb", false);
        check("a\\?", "a?", true);
}

static void
double_star(void **state)
{
        check("**", "x", true);
        check("**", "x/y/z", true);
        check("**/*.go", "a.go", true);
        check("**/*.go", "x/y/a.go", true);
        check("**/*.go", "a.gox", false);
        check("**/foo", "foo", true);
        check("**/foo", "a/b/foo", true);
        check("**/foo", "a/foo/bar", true);
        check("**/foo", "afoo", false);
        check("**foo", "afoo", true); /* a literal suffix, as patternmatcher does */
        check("foo/**", "foo/bar", true);
        check("foo/**", "foo/bar/baz", true);
        check("foo/**", "foo", false);
        check("foo/**", "foobar", false);
        check("a/**/b", "a/b", true);
        check("a/**/b", "a/x/y/b", true);
        check("a/**/b", "a/x/b/c", true);
        check("a/**/b", "ab", false);
        check("a/**/b", "a/xb", false);
        check("a*/**", "ab/c", true);
        check("a*/**", "b/c", false);
        check("**/x/**/*.log", "q/x/r/s.log", true);
        check("**/x/**/*.log", "x/s.log", true);
        check("**/x/**/*.log", "q/y/s.log", false);
}

static void
exceptions(void **state)
{
        check("*.md\n!README.md", "x.md", true);
        check("*.md\n!README.md", "README.md", false);
        check("docs\n!docs/keep.txt", "docs/a", true);
        check("docs\n!docs/keep.txt", "docs/keep.txt", false);
        check("!x", "x", false);
        /* The last matching line wins. */
        check("a\n!a\na", "a", true);
        check("*\n!a\na/b", "a/b", true);
        check("*\n!a\na/b", "a/c", false);
        check("*\n!a\na/b", "z", true);
        check("**/*.o\n!keep/**", "keep/x.o", false);
        check("**/*.o\n!keep/**", "other/x.o", true);
        check("! spaced ", "spaced", false);
}

static void
file_format(void **state)
{
        /* BOM, comments (only at the start of a line), blank lines, CRLF. */
        check("\xef\xbb\xbf" "foo\r\n\r\n# bar\r\n", "foo", true);
        check("\xef\xbb\xbf" "foo\r\n\r\n# bar\r\n", "# bar", false);
        check("# bar", "# bar", false);
        check(" # bar", "# bar", true);
        {
                struct build_ignore *ig = NULL;
                struct err *e = NULL;
                const char *text = "# c\n\n a \n!b\n";

                assert_int_equal(build_ignore_parse(text, strlen(text), "t", &ig, &e), 0);
                assert_int_equal(build_ignore_count(ig), 2);
                assert_true(build_ignore_has_exceptions(ig));
                build_ignore_free(ig);
                build_ignore_free(NULL);
        }
        {
                static const char *const list[] = { "x", "!x/y" };
                struct build_ignore *ig = NULL;
                struct err *e = NULL;

                assert_int_equal(build_ignore_new(list, 2, &ig, &e), 0);
                assert_true(build_ignore_excludes(ig, "x/z"));
                assert_false(build_ignore_excludes(ig, "x/y"));
                build_ignore_keep(ig, "./x/z");
                assert_false(build_ignore_excludes(ig, "x/z"));
                build_ignore_free(ig);
        }
}

static void
errors(void **state)
{
        bad("ok\n!\n", "ctx/.dockerignore:2: illegal exclusion pattern");
        bad("[", ":1: syntax error in pattern \"[\"");
        bad("a\\", "syntax error");
        bad("[]", "syntax error");
        bad("[z-a]", "syntax error");
        bad("x\n\n!a[-b]", ":3: syntax error in pattern \"!a[-b]\"");
}


/* The cases patternmatcher's own tests use (pattern, path, excluded), and
 * filepath.Match's: 1 excluded, 0 not, -1 the pattern is malformed. */
static void
reference_cases(void **state)
{
        static const struct {
                const char *pattern, *path;
                int want;
        } cases[] = {
                { "**", "file", 1 }, { "**", "file/", 1 }, { "**/", "file", 1 }, { "**/", "file/", 1 },
                { "**", "/", 1 }, { "**/", "/", 1 }, { "**", "dir/file", 1 }, { "**/", "dir/file", 1 },
                { "**", "dir/file/", 1 }, { "**/**", "dir/file", 1 }, { "dir/**", "dir/file", 1 },
                { "dir/**", "dir/dir2/file/", 1 }, { "**/dir", "dir", 1 }, { "**/dir", "dir/file", 1 },
                { "**/dir2/*", "dir/dir2/file", 1 }, { "**/dir2/*", "dir/dir2/file/", 1 },
                { "**/dir2/**", "dir/dir2/dir3/file", 1 }, { "**file", "file", 1 }, { "**file", "dir/file", 1 },
                { "**/file", "dir/file", 1 }, { "**file", "dir/dir/file", 1 }, { "**/file", "dir/dir/file", 1 },
                { "**/file*", "dir/dir/file", 1 }, { "**/file*", "dir/dir/file.txt", 1 },
                { "**/file*txt", "dir/dir/file.txt", 1 }, { "**/file*.txt", "dir/dir/file.txt", 1 },
                { "**/file*.txt*", "dir/dir/file.txt", 1 }, { "**/**/*.txt", "dir/dir/file.txt", 1 },
                { "**/**/*.txt2", "dir/dir/file.txt", 0 }, { "**/*.txt", "file.txt", 1 },
                { "**/**/*.txt", "file.txt", 1 }, { "a**/*.txt", "a/file.txt", 1 }, { "a**/*.txt", "a/dir/file.txt", 1 },
                { "a**/*.txt", "a/dir/dir/file.txt", 1 }, { "a/*.txt", "a/dir/file.txt", 0 },
                { "a/*.txt", "a/file.txt", 1 }, { "a/*.txt**", "a/file.txt", 1 }, { "a[b-d]e", "ae", 0 },
                { "a[b-d]e", "ace", 1 }, { "a[b-d]e", "aae", 0 }, { "a[^b-d]e", "aze", 1 }, { ".*", ".foo", 1 },
                { ".*", "foo", 0 }, { "abc.def", "abcdef", 0 }, { "abc.def", "abc.def", 1 }, { "abc.def", "abcZdef", 0 },
                { "abc?def", "abcZdef", 1 }, { "abc?def", "abcdef", 0 }, { "**/foo/bar", "foo/bar", 1 },
                { "**/foo/bar", "dir/foo/bar", 1 }, { "**/foo/bar", "dir/dir2/foo/bar", 1 }, { "abc/**", "abc", 0 },
                { "abc/**", "abc/def", 1 }, { "abc/**", "abc/def/ghi", 1 }, { "**/.foo", ".foo", 1 },
                { "**/.foo", "bar.foo", 0 }, { "a(b)c/def", "a(b)c/def", 1 }, { "a(b)c/def", "a(b)c/xyz", 0 },
                { "a.|)$(}+{bc", "a.|)$(}+{bc", 1 }, { "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", 1 },
                { "a\\\\", "a\\", 1 }, { "a\\*b", "a*b", 1 },
                /* filepath.Match's cases, through the parent-directory rule */
                { "abc", "abc", 1 }, { "*", "abc", 1 }, { "*c", "abc", 1 }, { "a*", "a", 1 }, { "a*", "abc", 1 },
                { "a*", "ab/c", 1 }, { "a*/b", "abc/b", 1 }, { "a*/b", "a/c/b", 0 }, { "a*b*c*d*e*/f", "axbxcxdxe/f", 1 },
                { "a*b*c*d*e*/f", "axbxcxdxexxx/f", 1 }, { "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", 0 },
                { "a*b*c*d*e*/f", "axbxcxdxexxx/fff", 0 }, { "a*b?c*x", "abxbbxdbxebxczzx", 1 },
                { "a*b?c*x", "abxbbxdbxebxczzy", 0 }, { "ab[c]", "abc", 1 }, { "ab[b-d]", "abc", 1 }, { "ab[e-g]", "abc", 0 },
                { "ab[^c]", "abc", 0 }, { "ab[^b-d]", "abc", 0 }, { "ab[^e-g]", "abc", 1 }, { "a\\*b", "ab", 0 },
                { "a?b", "a☺b", 1 }, { "a[^a]b", "a☺b", 1 }, { "a???b", "a☺b", 0 }, { "a[^a][^a][^a]b", "a☺b", 0 },
                { "[a-ζ]*", "α", 1 }, { "*[a-ζ]", "A", 0 }, { "a?b", "a/b", 0 }, { "a*b", "a/b", 0 }, { "[\\]a]", "]", 1 },
                { "[\\-]", "-", 1 }, { "[x\\-]", "x", 1 }, { "[x\\-]", "-", 1 }, { "[x\\-]", "z", 0 }, { "[\\-x]", "x", 1 },
                { "[\\-x]", "-", 1 }, { "[\\-x]", "a", 0 }, { "[]a]", "]", -1 }, { "[-]", "-", -1 }, { "[x-]", "x", -1 },
                { "[-x]", "x", -1 }, { "\\", "a", -1 }, { "[a-b-c]", "a", -1 }, { "[", "a", -1 }, { "[^", "a", -1 },
                { "[^bc", "a", -1 }, { "a[", "a", -1 }, { "*x", "xxx", 1 },
        };
        static const struct {
                const char *patterns[3];
                const char *path;
                bool want;
        } multi[] = {
                { { "**", "!util/docker/web" }, "util/docker/web/foo", false },
                { { "**", "!util/docker/web", "util/docker/web/foo" }, "util/docker/web/foo", true },
                { { "**", "!dist/*.whl" }, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false },
                { { "!fileutils.go", "*.go" }, "fileutils.go", true },
                { { "docs/*", "!docs/README.md" }, "docs/README.md", false },
        };
        int failures = 0;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct build_ignore *ig = NULL;
                struct err *e = NULL;
                int r = build_ignore_new(&cases[i].pattern, 1, &ig, &e);

                if (r < 0) {
                        if (cases[i].want != -1) {
                                print_error("%s: unexpected error %s\n", cases[i].pattern, err_msg(&e));
                                failures++;
                        }
                        err_clear(&e);
                        continue;
                }
                if (cases[i].want == -1 || build_ignore_excludes(ig, cases[i].path) != (cases[i].want == 1)) {
                        print_error("pattern %s path %s: want %d\n", cases[i].pattern, cases[i].path, cases[i].want);
                        failures++;
                }
                build_ignore_free(ig);
        }
        for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]); i++) {
                struct build_ignore *ig = NULL;
                struct err *e = NULL;
                size_t n = 0;

                while (n < 3 && multi[i].patterns[n])
                        n++;
                assert_int_equal(build_ignore_new(multi[i].patterns, n, &ig, &e), 0);
                if (build_ignore_excludes(ig, multi[i].path) != multi[i].want) {
                        print_error("patterns #%zu path %s: want %d\n", i, multi[i].path, multi[i].want);
                        failures++;
                }
                build_ignore_free(ig);
        }
        assert_int_equal(failures, 0);
}

/* ---- the walk ---- */

static char *tmp;

static void
mk(const char *rel, const char *content)
{
        char *p = xasprintf("%s/%s", tmp, rel);
        char *dir = xstrdup(p);
        struct err *e = NULL;

        *strrchr(dir, '/') = '\0';
        assert_int_equal(fs_mkdir_p(dir, 0755, &e), 0);
        if (content)
                assert_int_equal(fs_write_atomic(p, content, strlen(content), 0644, &e), 0);
        else
                assert_int_equal(mkdir(p, 0755), 0);
        free(dir);
        free(p);
}

static int
setup_tree(void **state)
{
        char t[] = "/tmp/h5-ignore-XXXXXX";
        char *p;

        tmp = xstrdup(mkdtemp(t));
        mk("Dockerfile", "FROM scratch\n");
        mk(".dockerignore", "*.o\n**/*.o\nnode_modules\nbuild\n!build/keep.txt\n.dockerignore\nDockerfile\n");
        mk("a.txt", "a");
        mk("build/out.o", "o");
        mk("build/keep.txt", "k");
        mk("build/deep/x", "x");
        mk("node_modules/x/y.js", "y");
        mk("src/main.c", "c");
        mk("src/main.o", "o");
        mk("src/sub/lib.o", "o");
        mk("src/empty", NULL);
        p = xasprintf("%s/link", tmp);
        assert_int_equal(symlink("/etc/passwd", p), 0);
        free(p);
        p = xasprintf("%s/dirlink", tmp);
        assert_int_equal(symlink("src", p), 0);
        free(p);
        return 0;
}

static int
teardown_tree(void **state)
{
        struct err *e = NULL;

        fs_rm_rf(tmp, &e);
        err_clear(&e);
        free(tmp);
        return 0;
}

static void
expect_walk(const struct build_context *c, const char *const *want, size_t n)
{
        for (size_t i = 0; i < c->n && i < n; i++)
                if (strcmp(c->entries[i].path, want[i]) != 0)
                        fail_msg("entry %zu: got %s, want %s", i, c->entries[i].path, want[i]);
        if (c->n != n) {
                for (size_t i = 0; i < c->n; i++)
                        print_message("  got %s\n", c->entries[i].path);
                fail_msg("got %zu entries, want %zu", c->n, n);
        }
}

static void
walk_with_ignore_file(void **state)
{
        static const char *const want[] = { ".dockerignore", "Dockerfile", "a.txt",      "build",
                                            "build/keep.txt", "dirlink",   "link",       "src",
                                            "src/empty",      "src/main.c", "src/sub" };
        struct build_ignore *ig = NULL;
        struct build_context *c = NULL;
        struct err *e = NULL;

        assert_int_equal(build_ignore_load(tmp, NULL, &ig, &e), 0);
        assert_int_equal(build_context_walk(tmp, ig, &c, &e), 0);
        expect_walk(c, want, sizeof(want) / sizeof(want[0]));
        /* Symlinks are listed, never followed. */
        assert_true(S_ISLNK(c->entries[5].st.st_mode));
        assert_true(S_ISLNK(c->entries[6].st.st_mode));
        assert_true(S_ISDIR(c->entries[3].st.st_mode));
        assert_int_equal(c->entries[4].st.st_size, 1);
        /* root, build (for !build/keep.txt), src, src/empty, src/sub: not
         * node_modules, nor build/deep (no exception could match inside). */
        assert_int_equal(c->n_dirs_read, 5);
        build_context_free(c);
        build_ignore_free(ig);
}

static void
walk_wildcard_exception_descends(void **state)
{
        static const char *const pats[] = { "node_modules", "build", "**/*.o", "!**/y.js" };
        static const char *const want[] = { ".dockerignore", "Dockerfile", "a.txt", "dirlink", "link",
                                            "node_modules",  "node_modules/x", "node_modules/x/y.js",
                                            "src",           "src/empty", "src/main.c", "src/sub" };
        struct build_ignore *ig = NULL;
        struct build_context *c = NULL;
        struct err *e = NULL;

        assert_int_equal(build_ignore_new(pats, 4, &ig, &e), 0);
        assert_int_equal(build_context_walk(tmp, ig, &c, &e), 0);
        expect_walk(c, want, sizeof(want) / sizeof(want[0]));
        /* A wildcard exception forces opening every excluded directory. */
        assert_int_equal(c->n_dirs_read, 8);
        build_context_free(c);
        build_ignore_free(ig);
}

static void
walk_no_patterns_and_errors(void **state)
{
        struct build_context *c = NULL;
        struct err *e = NULL;
        char *missing = xasprintf("%s/nope", tmp);

        assert_int_equal(build_context_walk(tmp, NULL, &c, &e), 0);
        assert_int_equal(c->n, 19);
        build_context_free(c);
        c = NULL;
        assert_true(build_context_walk(missing, NULL, &c, &e) < 0);
        assert_null(c);
        assert_non_null(strstr(err_msg(&e), missing));
        err_clear(&e);
        free(missing);
}

static void
find_ignore_file(void **state)
{
        char *df = xasprintf("%s/build/app.Dockerfile", tmp), *p = NULL, *want;
        struct err *e = NULL;

        assert_int_equal(build_ignore_find(tmp, df, &p, &e), 0);
        want = xasprintf("%s/.dockerignore", tmp);
        assert_string_equal(p, want);
        free(p);
        free(want);
        mk("build/app.Dockerfile.dockerignore", "*\n");
        assert_int_equal(build_ignore_find(tmp, df, &p, &e), 0);
        want = xasprintf("%s.dockerignore", df);
        assert_string_equal(p, want);
        free(p);
        free(want);
        {
                struct build_ignore *ig = NULL;

                /* "*" excludes everything but the Dockerfile and the ignore
                 * file beside it, which the build always reads. */
                mk("build/app.Dockerfile", "FROM scratch\n");
                assert_int_equal(build_ignore_load(tmp, df, &ig, &e), 0);
                assert_true(build_ignore_excludes(ig, "a.txt"));
                assert_false(build_ignore_excludes(ig, "build/app.Dockerfile"));
                assert_false(build_ignore_excludes(ig, "build/app.Dockerfile.dockerignore"));
                build_ignore_free(ig);
        }
        free(df);
        /* CONTEXT/Dockerfile.dockerignore for the default Dockerfile; not
         * for a Dockerfile read from stdin. */
        mk("Dockerfile.dockerignore", "x\n");
        assert_int_equal(build_ignore_find(tmp, NULL, &p, &e), 0);
        want = xasprintf("%s/Dockerfile.dockerignore", tmp);
        assert_string_equal(p, want);
        free(p);
        free(want);
        assert_int_equal(build_ignore_find(tmp, "-", &p, &e), 0);
        want = xasprintf("%s/.dockerignore", tmp);
        assert_string_equal(p, want);
        free(p);
        free(want);
        df = xasprintf("%s/nowhere/Dockerfile", tmp);
        {
                char *sub = xasprintf("%s/src", tmp);

                assert_int_equal(build_ignore_find(sub, NULL, &p, &e), 0);
                assert_null(p);
                free(sub);
        }
        free(df);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(clean),
                cmocka_unit_test(literal_and_anchoring),
                cmocka_unit_test(wildcards),
                cmocka_unit_test(double_star),
                cmocka_unit_test(exceptions),
                cmocka_unit_test(file_format),
                cmocka_unit_test(errors),
                cmocka_unit_test(reference_cases),
                cmocka_unit_test_setup_teardown(walk_with_ignore_file, setup_tree, teardown_tree),
                cmocka_unit_test_setup_teardown(walk_wildcard_exception_descends, setup_tree, teardown_tree),
                cmocka_unit_test_setup_teardown(walk_no_patterns_and_errors, setup_tree, teardown_tree),
                cmocka_unit_test_setup_teardown(find_ignore_file, setup_tree, teardown_tree),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
