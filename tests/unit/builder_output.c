/* builder/options/output: ibuild's --output values (buildx's CSV syntax). */
#include "tests/unit/test.h"

#include <errno.h>

#include "builder/options/output.h"
#include "oci/model.h"

static void
file_outputs(void **state)
{
        struct build_output o;

        assert_ok(build_output_parse("type=oci,dest=out", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_OCI);
        assert_string_equal(o.dest, "out");
        assert_null(o.names);
        assert_false(o.push);
        assert_string_equal(build_output_name(&o, "app:1"), "app:1");
        assert_null(build_output_name(&o, NULL));
        build_output_clear(&o);
        /* dest alone is an OCI directory (buildx: a local tarball, but ours always was a dir). */
        assert_ok(build_output_parse("dest=d", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_OCI);
        build_output_clear(&o);
        assert_ok(build_output_parse("type=oci-archive,dest=a.tar,name=x/y:2", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_OCI_ARCHIVE);
        assert_string_equal(build_output_name(&o, "app:1"), "x/y:2");
        assert_string_equal(o.spec, "type=oci-archive,dest=a.tar,name=x/y:2");
        build_output_clear(&o);
        /* buildx's type=docker with a dest is docker save's tar. */
        assert_ok(build_output_parse("type=docker,dest=d.tar", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_DOCKER_ARCHIVE);
        build_output_clear(&o);
        assert_ok(build_output_parse("type=docker-archive,dest=d.tar,", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_DOCKER_ARCHIVE);
        build_output_clear(&o);
}

static void
image_outputs(void **state)
{
        struct build_output o;

        /* buildx's registry exporter: push to name=. */
        assert_ok(build_output_parse("type=registry,name=127.0.0.1:5000/a/b:1", &o, err));
        assert_int_equal(o.type, BUILD_OUTPUT_IMAGE);
        assert_true(o.push);
        assert_null(o.dest);
        assert_int_equal(oci_strv_len(o.names), 1);
        assert_string_equal(o.names[0], "127.0.0.1:5000/a/b:1");
        build_output_clear(&o);
        /* A quoted field holds commas: several names. */
        assert_ok(build_output_parse("type=image,\"name=r/a:1,r/b:2\",push=true", &o, err));
        assert_true(o.push);
        assert_int_equal(oci_strv_len(o.names), 2);
        assert_string_equal(o.names[1], "r/b:2");
        build_output_clear(&o);
        assert_ok(build_output_parse("type=image,name=r/a:1", &o, err));
        assert_false(o.push);
        build_output_clear(&o);
        assert_ok(build_output_parse("type=registry,push=false", &o, err));
        assert_false(o.push);
        assert_null(o.names);
        build_output_clear(&o);
        /* A doubled quote is a quote: it ends up in the value. */
        assert_ok(build_output_parse("\"type=image\",\"name=a\"\"b\"", &o, err));
        assert_string_equal(o.names[0], "a\"b");
        build_output_clear(&o);
}

static void
bad_outputs(void **state)
{
        struct build_output o = {0};

        /* Each error says what is missing or wrong, and quotes the value. */
        assert_fails(build_output_parse("type=oci", &o, err), EINVAL, "type=oci", "needs dest=DIR");
        assert_fails(build_output_parse("type=oci-archive", &o, err), EINVAL, "needs dest=FILE", NULL);
        assert_fails(build_output_parse("name=x", &o, err), EINVAL, "name=x", "type= is missing");
        assert_fails(build_output_parse("type=zip,dest=x", &o, err), EINVAL, "unknown type 'zip'", NULL);
        assert_fails(build_output_parse("type=oci,dest=x,compression=zstd", &o, err), EINVAL,
                     "unknown key 'compression'", NULL);
        assert_fails(build_output_parse("type=oci,dest", &o, err), EINVAL, "'dest' is not KEY=VALUE", NULL);
        assert_fails(build_output_parse("type=oci,dest=", &o, err), EINVAL, "dest= is empty", NULL);
        assert_fails(build_output_parse("type=registry,dest=x", &o, err), EINVAL, "takes name=, not dest=", NULL);
        assert_fails(build_output_parse("type=registry,name=", &o, err), EINVAL, "name= is empty", NULL);
        assert_fails(build_output_parse("type=registry,push=yes", &o, err), EINVAL, "push=yes", NULL);
        assert_fails(build_output_parse("type=oci,dest=x,push=true", &o, err), EINVAL, "push= is for", NULL);
        assert_fails(build_output_parse("type=oci,dest=x,\"name=a,b\"", &o, err), EINVAL, "one name", NULL);
        assert_fails(build_output_parse("type=image,\"name=a", &o, err), EINVAL, "not closed", NULL);
        assert_fails(build_output_parse("type=image,\"name=a\"x", &o, err), EINVAL, "after a closing quote", NULL);
        assert_fails(build_output_parse("type=image,name=\"a,b\"", &o, err), EINVAL, "quote inside a field", NULL);
        assert_fails(build_output_parse("", &o, err), EINVAL, "is not KEY=VALUE", NULL);
        /* Nothing is written on failure. */
        assert_null(o.spec);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(file_outputs),
            cmocka_unit_test(image_outputs),
            cmocka_unit_test(bad_outputs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
