/* BuildKit's Dockerfile parser vectors (../shared/testdata/dockerfile-parser):
 * one cmocka test per vector, named after it.  positive/NAME: parse, dump,
 * compare byte for byte with NAME/result.  negative/NAME: parsing fails.
 * IBUILD_DF_VECTORS overrides the directory. */
#include "tests/unit/test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "builder/dockerfile/parser.h"
#include "common/fsutil.h"

static const char *vectors_dir;

static void
positive(void **state)
{
        const char *name = *state;
        _cleanup_free_ char *df = xasprintf("%s/positive/%s/Dockerfile", vectors_dir, name);
        _cleanup_free_ char *res = xasprintf("%s/positive/%s/result", vectors_dir, name);
        _cleanup_free_ char *want = NULL, *got = NULL;
        _cleanup_err_ struct err *err = NULL;
        struct build_df_file *f = NULL;
        size_t len;

        if (build_df_parse_path(df, &f, &err) < 0)
                fail_msg("%s: parse failed: %s", name, err_msg(&err));
        assert_int_equal(fs_read_file(res, 1 << 20, &want, &len, &err), 0);
        got = build_df_dump(f);
        if (strcmp(got, want) != 0)
                fail_msg("%s: dump differs\n--- got\n%s--- want\n%s", name, got, want);
        /* The tree must also survive validation-free teardown cleanly. */
        build_df_file_free(f);
}

static void
negative(void **state)
{
        const char *name = *state;
        _cleanup_free_ char *df = xasprintf("%s/negative/%s/Dockerfile", vectors_dir, name);
        _cleanup_err_ struct err *err = NULL;
        struct build_df_file *f = NULL;

        if (build_df_parse_path(df, &f, &err) == 0) {
                build_df_file_free(f);
                fail_msg("%s: parsed, but must fail", name);
        }
        assert_int_equal(err_code(&err), ERR_PARSE);
        /* The message names the file. */
        assert_non_null(strstr(err_msg(&err), "Dockerfile"));
}

static int
cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static size_t
list_dir(const char *dir, char ***ret)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;
        char **v = NULL;
        size_t n = 0;

        if (d == NULL) {
                fprintf(stderr, "cannot open %s\n", dir);
                exit(1);
        }
        while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = xstrdup(e->d_name);
        }
        qsort(v, n, sizeof(*v), cmp_names);
        *ret = v;
        return n;
}

int
main(void)
{
        char **pos = NULL, **neg = NULL;
        size_t n_pos, n_neg, i, n = 0;
        struct CMUnitTest *tests;
        _cleanup_free_ char *pdir = NULL, *ndir = NULL;
        int r;

        vectors_dir = getenv("IBUILD_DF_VECTORS");
        if (vectors_dir == NULL) {
                /* From the repository root (tests/run.sh), else beside the
                 * binary (BUILD/tests/NAME). */
                static char exe[4096];
                ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 64);
                vectors_dir = "../shared/testdata/dockerfile-parser";
                if (access(vectors_dir, R_OK) != 0 && len > 0) {
                        char *slash;
                        exe[len] = '\0';
                        slash = strrchr(exe, '/');
                        if (slash) {
                                strcpy(slash, "/../../../shared/testdata/dockerfile-parser");
                                vectors_dir = exe;
                        }
                }
        }
        pdir = xasprintf("%s/positive", vectors_dir);
        ndir = xasprintf("%s/negative", vectors_dir);
        n_pos = list_dir(pdir, &pos);
        n_neg = list_dir(ndir, &neg);
        if (n_pos == 0 || n_neg == 0) {
                fprintf(stderr, "no vectors under %s\n", vectors_dir);
                return 1;
        }
        tests = xcalloc(n_pos + n_neg, sizeof(*tests));
        for (i = 0; i < n_pos; i++)
                tests[n++] = (struct CMUnitTest){
                    .name = xasprintf("positive/%s", pos[i]), .test_func = positive, .initial_state = pos[i]};
        for (i = 0; i < n_neg; i++)
                tests[n++] = (struct CMUnitTest){
                    .name = xasprintf("negative/%s", neg[i]), .test_func = negative, .initial_state = neg[i]};
        r = _cmocka_run_group_tests("dockerfile_parser_vectors", tests, n, NULL, NULL);
        for (i = 0; i < n; i++)
                free((char *) tests[i].name);
        free(tests);
        for (i = 0; i < n_pos; i++)
                free(pos[i]);
        for (i = 0; i < n_neg; i++)
                free(neg[i]);
        free(pos);
        free(neg);
        return r;
}
