/* Platforms: parse/format, normalisation, matching, host detection. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "oci/platform.h"

static void
expect_format(const char *in, const char *want)
{
        struct oci_platform *p = NULL;
        struct err *e = NULL;
        char *s;

        if (oci_platform_parse(in, &p, &e) < 0)
                fail_msg("%s: %s", in, e->msg);
        s = oci_platform_format(p);
        if (strcmp(s, want) != 0)
                fail_msg("%s formats as %s, want %s", in, s, want);
        free(s);
        oci_platform_free(p);
}

static void
parse_format(void **state)
{
        expect_format("linux/amd64", "linux/amd64");
        expect_format("linux/amd64/v1", "linux/amd64");
        expect_format("linux/amd64/v3", "linux/amd64/v3");
        expect_format("linux/x86_64", "linux/amd64");
        expect_format("linux/x86-64", "linux/amd64");
        expect_format("linux/arm64", "linux/arm64");
        expect_format("linux/arm64/v8", "linux/arm64");
        expect_format("linux/aarch64", "linux/arm64");
        expect_format("linux/arm64/8", "linux/arm64");
        expect_format("linux/arm", "linux/arm/v7");
        expect_format("linux/arm/7", "linux/arm/v7");
        expect_format("linux/arm/v6", "linux/arm/v6");
        expect_format("linux/arm/5", "linux/arm/v5");
        expect_format("linux/armhf", "linux/arm/v7");
        expect_format("linux/armel", "linux/arm/v6");
        expect_format("linux/i386", "linux/386");
        expect_format("linux/i686", "linux/386");
        expect_format("linux/ppc64le", "linux/ppc64le");
        expect_format("linux/s390x", "linux/s390x");
        expect_format("linux/riscv64", "linux/riscv64");
        expect_format("Linux/AMD64", "linux/amd64");
        expect_format("windows/amd64", "windows/amd64");
        expect_format("linux", "linux");
        expect_format("arm64", "linux/arm64");
        expect_format("amd64", "linux/amd64");
        /* A bare architecture in any case or alias spelling (found by
         * fuzzing: "Arm" was taken as an os, formatted "arm", and that
         * parsed back as linux/arm/v7). */
        expect_format("Arm", "linux/arm/v7");
        expect_format("AMD64", "linux/amd64");
        expect_format("x86-64", "linux/amd64");
        expect_format("i586", "linux/386");
        expect_format("Windows", "windows");
}

static void
parse_errors(void **state)
{
        static const char *const bad[] = { "", "/", "linux/", "/amd64", "linux//v7", "linux/amd64/v1/x",
                                           "linux/am d64", "linux/arm64/v8\n", NULL };
        struct oci_platform *p = NULL;
        struct err *e = NULL;

        for (size_t i = 0; bad[i]; i++) {
                if (oci_platform_parse(bad[i], &p, &e) != -EINVAL)
                        fail_msg("\"%s\" accepted", bad[i]);
                assert_null(p);
                assert_non_null(strstr(e->msg, "invalid platform"));
                err_clear(&e);
        }
        assert_int_equal(oci_platform_parse(NULL, &p, NULL), -EINVAL);
}

static struct oci_platform *
P(const char *s)
{
        struct oci_platform *p = NULL;

        if (oci_platform_parse(s, &p, NULL) < 0)
                fail_msg("bad platform %s", s);
        return p;
}

/* want, have, expected rank (-1: no match). */
struct rank_case {
        const char *want, *have;
        int rank;
};

static const struct rank_case rank_cases[] = {
        { "linux/arm64", "linux/arm64/v8", 0 },   { "linux/arm64/v8", "linux/arm64", 0 },
        { "linux/arm64", "linux/aarch64", 0 },    { "linux/amd64", "linux/amd64/v1", 0 },
        { "linux/amd64/v1", "linux/amd64", 0 },   { "linux/arm", "linux/arm/v7", 0 },
        { "linux/arm/v7", "linux/arm", 0 },       { "linux/arm/v7", "linux/arm/v6", 1 },
        { "linux/arm/v7", "linux/arm/v5", 2 },    { "linux/arm/v6", "linux/arm/v7", -1 },
        { "linux/arm/v8", "linux/arm/v7", 1 },    { "linux/amd64/v3", "linux/amd64", 2 },
        { "linux/amd64/v3", "linux/amd64/v2", 1 }, { "linux/amd64", "linux/amd64/v2", -1 },
        { "linux/arm64", "linux/arm/v7", -1 },    { "linux/amd64", "linux/arm64", -1 },
        { "linux/amd64", "windows/amd64", -1 },   { "linux/amd64", "linux/386", -1 },
        { "linux/arm64", "linux/arm64/v9", -1 },  { "linux", "linux/s390x", 0 },
        { "linux/amd64", "unknown/unknown", -1 },
        /* Variants from a registry's index that are no "vN" level. */
        { "linux/arm/v7", "linux/arm/v99999999999", -1 }, { "linux/arm/v99999999999", "linux/arm/v7", -1 },
        { "linux/arm/v7", "linux/arm/v6x", -1 },  { "linux/arm/v7", "linux/arm/v", -1 },
};

static void
matching(void **state)
{
        for (size_t i = 0; i < sizeof(rank_cases) / sizeof(rank_cases[0]); i++) {
                struct oci_platform *w = P(rank_cases[i].want), *h = P(rank_cases[i].have);
                int r = oci_platform_rank(w, h);

                if (r != rank_cases[i].rank)
                        fail_msg("rank(%s, %s) = %d, want %d", rank_cases[i].want, rank_cases[i].have, r,
                                 rank_cases[i].rank);
                assert_int_equal(oci_platform_match(w, h), rank_cases[i].rank >= 0);
                assert_int_equal(oci_platform_equal(w, h), rank_cases[i].rank == 0 && w->architecture);
                oci_platform_free(w);
                oci_platform_free(h);
        }
        assert_false(oci_platform_match(NULL, NULL));

        /* Platforms as written in JSON (not normalised) still compare. */
        {
                struct oci_platform raw = { .os = "linux", .architecture = "arm64", .variant = "v8" };
                struct oci_platform *w = P("linux/arm64");

                assert_true(oci_platform_equal(w, &raw));
                assert_string_equal(raw.variant, "v8"); /* left as written */
                oci_platform_free(w);
        }
}

static void
new_dup(void **state)
{
        struct oci_platform *p = oci_platform_new("linux", "aarch64", "v8"), *d;
        char *s;

        assert_string_equal(p->architecture, "arm64");
        assert_null(p->variant);
        p->os_version = xstrdup("10.0");
        p->os_features = calloc(2, sizeof(char *));
        p->os_features[0] = xstrdup("win32k");
        d = oci_platform_dup(p);
        oci_platform_free(p);
        assert_string_equal(d->os_version, "10.0");
        assert_string_equal(d->os_features[0], "win32k");
        s = oci_platform_format(d);
        assert_string_equal(s, "linux/arm64");
        free(s);
        oci_platform_free(d);
        assert_null(oci_platform_dup(NULL));
        oci_platform_free(NULL);
}

static void
host(void **state)
{
        static const struct {
                const char *machine, *arch, *variant;
        } m[] = {
                { "x86_64", "amd64", NULL }, { "aarch64", "arm64", NULL }, { "armv7l", "arm", "v7" },
                { "armv6l", "arm", "v6" },   { "i686", "386", NULL },      { "ppc64le", "ppc64le", NULL },
                { "s390x", "s390x", NULL },  { "riscv64", "riscv64", NULL },
        };
        struct oci_platform *p = NULL;
        struct err *e = NULL;
        struct utsname u;
        const char *arch, *variant;

        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
                assert_true(oci_platform_from_machine(m[i].machine, &arch, &variant));
                assert_string_equal(arch, m[i].arch);
                if (m[i].variant)
                        assert_string_equal(variant, m[i].variant);
                else
                        assert_null(variant);
        }
        assert_false(oci_platform_from_machine("pdp11", &arch, &variant));
        assert_false(oci_platform_from_machine(NULL, &arch, &variant));

        assert_int_equal(uname(&u), 0);
        assert_true(oci_platform_from_machine(u.machine, &arch, &variant));
        assert_int_equal(oci_platform_host(&p, &e), 0);
        assert_string_equal(p->os, "linux");
        assert_string_equal(p->architecture, arch);
        oci_platform_free(p);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parse_format), cmocka_unit_test(parse_errors), cmocka_unit_test(matching),
                cmocka_unit_test(new_dup),      cmocka_unit_test(host),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
