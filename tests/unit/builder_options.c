/* builder/options: the values of ibuild's --build-arg and --secret. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "builder/options/options.h"
#include "common/fsutil.h"
#include "oci/model.h"

static void
build_args(void **state)
{
        char *arg = NULL;

        assert_int_equal(build_arg_parse("A=1", &arg, NULL), 1);
        assert_string_equal(arg, "A=1");
        free(arg);
        /* Only the first '=' splits; an empty value is a value. */
        assert_int_equal(build_arg_parse("A=b=c", &arg, NULL), 1);
        assert_string_equal(arg, "A=b=c");
        free(arg);
        assert_int_equal(build_arg_parse("A=", &arg, NULL), 1);
        assert_string_equal(arg, "A=");
        free(arg);
        /* A bare name takes the environment's value, or is skipped. */
        setenv("IBUILD_TEST_ARG", "from env", 1);
        assert_int_equal(build_arg_parse("IBUILD_TEST_ARG", &arg, NULL), 1);
        assert_string_equal(arg, "IBUILD_TEST_ARG=from env");
        free(arg);
        unsetenv("IBUILD_TEST_ARG");
        arg = NULL;
        assert_int_equal(build_arg_parse("IBUILD_TEST_ARG", &arg, NULL), 0);
        assert_null(arg);
        /* No name, or a blank in it. */
        assert_fails(build_arg_parse("=x", &arg, err), EINVAL, "'=x'", "name is empty");
        assert_fails(build_arg_parse("", &arg, err), EINVAL, "name is empty", NULL);
        assert_fails(build_arg_parse("A B=x", &arg, err), EINVAL, "'A B=x'", "blank");
        assert_fails(build_arg_parse("A\t", &arg, err), EINVAL, "blank", NULL);
        assert_null(arg);
        /* A blank in the value is fine. */
        assert_int_equal(build_arg_parse("A=x y", &arg, NULL), 1);
        assert_string_equal(arg, "A=x y");
        free(arg);
}

static void
secrets(void **state)
{
        char dir[] = "/tmp/builder-options-XXXXXX";
        _cleanup_free_ char *file = NULL, *v = NULL;
        char **owned = NULL;
        struct build_secret s;

        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/token", dir);
        assert_ok(fs_write_atomic(file, "s3cret", 6, 0600, err));

        v = xasprintf("id=tok,src=%s", file);
        assert_ok(build_secret_parse(v, &s, &owned, err));
        assert_string_equal(s.id, "tok");
        assert_string_equal(s.src, file);
        assert_null(s.env);
        free(v);
        v = xasprintf("type=file,source=%s,id=tok", file);
        assert_ok(build_secret_parse(v, &s, &owned, err));
        assert_string_equal(s.src, file);
        assert_ok(build_secret_parse("id=tok,env=HOME", &s, &owned, err));
        assert_string_equal(s.env, "HOME");
        assert_null(s.src);
        /* Neither: the variable named like the id, when it is set. */
        setenv("IBUILD_TEST_SECRET", "x", 1);
        assert_ok(build_secret_parse("id=IBUILD_TEST_SECRET", &s, &owned, err));
        assert_string_equal(s.env, "IBUILD_TEST_SECRET");
        unsetenv("IBUILD_TEST_SECRET");

        memset(&s, 0x5a, sizeof(s));
        assert_fails(build_secret_parse("id=IBUILD_TEST_SECRET", &s, &owned, err), EINVAL, "src=FILE or env=VAR",
                     NULL);
        assert_fails(build_secret_parse("src=/etc/hostname", &s, &owned, err), EINVAL, "id= is required", NULL);
        assert_fails(build_secret_parse("id=,env=HOME", &s, &owned, err), EINVAL, "id is empty", NULL);
        assert_fails(build_secret_parse("id=a,src=", &s, &owned, err), EINVAL, "src= is empty", NULL);
        assert_fails(build_secret_parse("id=a,env=", &s, &owned, err), EINVAL, "env= is empty", NULL);
        assert_fails(build_secret_parse("id=a,mode=0400", &s, &owned, err), EINVAL, "unknown key 'mode'", NULL);
        assert_fails(build_secret_parse("id=a,tok", &s, &owned, err), EINVAL, "'tok' is not KEY=VALUE", NULL);
        assert_fails(build_secret_parse("", &s, &owned, err), EINVAL, "id= is required", NULL);
        free(v);
        v = xasprintf("id=a,src=%s/absent", dir);
        assert_fails(build_secret_parse(v, &s, &owned, err), ENOENT, "absent", "id=a");
        {
                /* Untouched on failure. */
                struct build_secret z;
                memset(&z, 0x5a, sizeof(z));
                assert_memory_equal(&s, &z, sizeof(s));
        }
        oci_strv_free(owned);
        assert_ok(fs_rm_rf(dir, err));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(build_args),
                cmocka_unit_test(secrets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
