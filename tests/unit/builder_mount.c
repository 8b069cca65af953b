/* RUN --mount option strings. */
#include "tests/unit/test.h"

#include "builder/exec/exec.h"

static void
test_mount_spec_fields(void **state)
{
        struct build_mount_spec m;

        (void) state;
        assert_ok(build_mount_spec_parse("type=cache,target=/var/cache/apt,id=apt,sharing=locked,mode=0700,uid=1000,"
                                         "gid=1001,ro",
                                         &m, err));
        assert_string_equal(m.type, "cache");
        assert_string_equal(m.target, "/var/cache/apt");
        assert_string_equal(m.id, "apt");
        assert_int_equal(m.sharing, BUILD_MOUNT_LOCKED);
        assert_int_equal(m.mode, 0700);
        assert_int_equal(m.uid, 1000);
        assert_int_equal(m.gid, 1001);
        assert_true(m.readonly);
        assert_false(m.rw);
        build_mount_spec_clear(&m);

        assert_ok(build_mount_spec_parse("src=go.sum,dst=/x,from=builder,rw=True,required=false", &m, err));
        assert_string_equal(m.type, "bind");
        assert_string_equal(m.source, "go.sum");
        assert_string_equal(m.target, "/x");
        assert_string_equal(m.from, "builder");
        assert_true(m.rw);
        assert_false(m.required);
        assert_int_equal(m.mode, (mode_t) -1);
        assert_int_equal(m.sharing, BUILD_MOUNT_SHARED);
        build_mount_spec_clear(&m);
}

static void
test_mount_spec_sizes(void **state)
{
        static const struct {
                const char *in;
                uint64_t want;
        } ok[] = {
                {"size=1024", 1024},         {"size=64m", 64ull << 20},       {"size=64MiB", 64ull << 20},
                {"size=1.5g", 3ull << 29},   {"size=2K", 2048},               {"size=10b", 10},
                {"size=1t", 1ull << 40},     {"size=0", 0},
        };
        struct build_mount_spec m;

        (void) state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char spec[64];

                snprintf(spec, sizeof(spec), "type=tmpfs,target=/t,%s", ok[i].in);
                assert_ok(build_mount_spec_parse(spec, &m, err));
                if (m.size != ok[i].want)
                        fail_msg("%s: %llu, want %llu", ok[i].in, (unsigned long long) m.size,
                                 (unsigned long long) ok[i].want);
                build_mount_spec_clear(&m);
        }
}

static void
test_mount_spec_errors(void **state)
{
        static const struct {
                const char *in, *needle;
        } bad[] = {
                {"type=tmpfs,target=/t,bogus=1", "unexpected key 'bogus'"},
                {"type=nfs,target=/t", "unknown type 'nfs'"},
                {"type=cache,target=/t,mode=abc", "invalid value for mode: 'abc'"},
                {"type=cache,target=/t,mode=0999", "mode"},
                {"type=cache,target=/t,mode=", "mode"},
                {"type=cache,target=/t,mode=17777", "mode"},
                {"type=cache,target=/t,uid=-1", "invalid value for uid: '-1'"},
                {"type=cache,target=/t,gid=4294967296", "gid"},
                {"type=cache,target=/t,uid=1e3", "uid"},
                {"type=cache,target=/t,sharing=exclusive", "sharing"},
                {"type=bind,target=/t,ro=yes", "invalid value for ro: 'yes'"},
                {"type=tmpfs,target=/t,size=-1", "size"},
                {"type=tmpfs,target=/t,size=12q", "size"},
                {"type=tmpfs,target=/t,size=1.", "size"},
                {"type=tmpfs,target=/t,size=99999999999999999999", "size"},
                {"type=tmpfs,target=/t,size=100000000p", "size"},
                {"target", "'target' needs a value"},
        };
        struct build_mount_spec m;

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct err *e = NULL;
                int r = build_mount_spec_parse(bad[i].in, &m, &e);

                check_failure(bad[i].in, r, &e, ERR_PARSE, bad[i].needle, bad[i].in);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mount_spec_fields),
                cmocka_unit_test(test_mount_spec_sizes),
                cmocka_unit_test(test_mount_spec_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
