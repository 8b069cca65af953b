/* builder/exec COPY/ADD helpers: source pattern matching (Go's
 * filepath.Match per component, "**" across components), the
 * containment of ADD archive entry names and the cleaning of context
 * sources. */
#include "tests/unit/test.h"

#include <stdlib.h>

#include "builder/exec/exec-internal.h"

static void
patterns(void **state)
{
        (void) state;
        /* plain components */
        assert_true(xcopy_path_match("a/b.txt", "a/b.txt"));
        assert_false(xcopy_path_match("a/b.txt", "a/b.txt/c"));
        assert_false(xcopy_path_match("a/b.txt/c", "a/b.txt"));
        /* '*', '?' and classes stay inside one component */
        assert_true(xcopy_path_match("*.txt", "x.txt"));
        assert_false(xcopy_path_match("*.txt", "d/x.txt"));
        assert_true(xcopy_path_match("d/*/x.txt", "d/e/x.txt"));
        assert_false(xcopy_path_match("d/*/x.txt", "d/e/f/x.txt"));
        assert_true(xcopy_path_match("a?/[0-9]*", "ab/7z"));
        assert_false(xcopy_path_match("a?/[0-9]*", "abc/7z"));
        assert_false(xcopy_path_match("a?/[!0-9]*", "ab/7z"));
        /* Go's Match has no special case for a leading dot */
        assert_true(xcopy_path_match("*", ".hidden"));
        /* "**" spans any number of components, none included */
        assert_true(xcopy_path_match("src/**/*.txt", "src/a.txt"));
        assert_true(xcopy_path_match("src/**/*.txt", "src/x/y/c.txt"));
        assert_false(xcopy_path_match("src/**/*.txt", "src/x/y/c.log"));
        assert_false(xcopy_path_match("src/**/*.txt", "other/a.txt"));
        assert_true(xcopy_path_match("**", "any/thing/at/all"));
        assert_true(xcopy_path_match("**/c", "c"));
        assert_true(xcopy_path_match("a/**/b/**/c", "a/x/b/y/z/c"));
        assert_false(xcopy_path_match("a/**/b/**/c", "a/x/y/z/c"));
}

static void
check_rel(const char *name, const char *want)
{
        char *got = xcopy_archive_rel(name);

        if (!want) {
                if (got)
                        fail_msg("%s: got %s, want refusal", name, got);
                return;
        }
        if (!got)
                fail_msg("%s: refused, want %s", name, want);
        if (strcmp(got, want) != 0)
                fail_msg("%s: got %s, want %s", name, got, want);
        free(got);
}

static void
archive_names(void **state)
{
        (void) state;
        check_rel("a/b", "a/b");
        check_rel("./a//b/", "a/b");
        check_rel(".", ".");
        check_rel("./", ".");
        /* absolute names land below the destination (Docker's untar) */
        check_rel("/etc/passwd", "etc/passwd");
        check_rel("//x", "x");
        check_rel("/../x", "x");
        /* ".." inside that stays inside is fine ... */
        check_rel("a/../b", "b");
        /* ... climbing out is refused */
        check_rel("..", NULL);
        check_rel("../x", NULL);
        check_rel("a/../../x", NULL);
        check_rel("./../x", NULL);
        /* a name that only starts with dots is a name */
        check_rel("..x", "..x");
        check_rel("...", "...");
}

static void
check_src(const char *src, const char *want)
{
        char *got = xcopy_context_rel(src);

        if (strcmp(got, want) != 0)
                fail_msg("%s: got %s, want %s", src, got, want);
        free(got);
}

static void
context_sources(void **state)
{
        (void) state;
        check_src("a/b", "a/b");
        check_src("./a//b/", "a/b");
        check_src("/etc/x", "etc/x");
        check_src("", ".");
        check_src(".", ".");
        check_src("/", ".");
        /* ".." stops at the context root (BuildKit), never a "../" left
         * at the front that names nothing or the whole context */
        check_src("..", ".");
        check_src("../", ".");
        check_src("../sub/file", "sub/file");
        check_src("../../etc/passwd", "etc/passwd");
        check_src("a/../../b", "b");
        check_src("./../x", "x");
        check_src("../*.txt", "*.txt");
        check_src("a/b/../c", "a/c");
        /* a name that only starts with dots is a name */
        check_src("..x/y", "..x/y");
        check_src("...", "...");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(patterns),
            cmocka_unit_test(archive_names),
            cmocka_unit_test(context_sources),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
