#include "tests/unit/test.h"

#include <string.h>

#include "registry/server/route.h"

static const char *D256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static struct reg_route
parse_ok(const char *path)
{
        struct reg_route r;
        struct err *e = NULL;

        if (reg_route_parse(path, "/token", &r, &e) < 0)
                fail_msg("%s: %s", path, e->msg);
        assert_null(e);
        return r;
}

/* PATH fails with CODE; the partial route says which endpoint it was for
 * (KIND) and keeps the repository NAME only when that part was valid, so
 * the server can authorize before it answers the error. */
static void
parse_bad_as(const char *path, int code, enum reg_route_kind kind, const char *name)
{
        struct reg_route r;
        struct err *e = NULL;

        memset(&r, 'x', sizeof(r));
        r.kind = REG_ROUTE_BASE;
        assert_true(reg_route_parse(path, NULL, &r, &e) < 0);
        assert_non_null(e);
        if (err_code(&e) != code)
                fail_msg("%s: code %d, want %d (%s)", path, err_code(&e), code, e->msg);
        if (r.kind != kind)
                fail_msg("%s: kind %s, want %s", path, reg_route_kind_name(r.kind), reg_route_kind_name(kind));
        if (strcmp(r.name, name) != 0)
                fail_msg("%s: name '%s', want '%s'", path, r.name, name);
        assert_string_equal(r.ref, "");
        err_clear(&e);
}

static void
parse_bad(const char *path, int code)
{
        struct reg_route r;
        struct err *e = NULL;

        assert_true(reg_route_parse(path, NULL, &r, &e) < 0);
        assert_non_null(e);
        if (err_code(&e) != code)
                fail_msg("%s: code %d, want %d (%s)", path, err_code(&e), code, e->msg);
        err_clear(&e);
}

static void
routes(void **state)
{
        struct reg_route r;
        char p[512];

        assert_int_equal(parse_ok("/v2/").kind, REG_ROUTE_BASE);
        assert_int_equal(parse_ok("/v2").kind, REG_ROUTE_BASE);
        assert_int_equal(parse_ok("/v2/_catalog").kind, REG_ROUTE_CATALOG);
        assert_int_equal(parse_ok("/healthz").kind, REG_ROUTE_HEALTH);
        assert_int_equal(parse_ok("/metrics").kind, REG_ROUTE_METRICS);
        assert_int_equal(parse_ok("/token").kind, REG_ROUTE_TOKEN);
        assert_int_equal(parse_ok("/v1/").kind, REG_ROUTE_NONE);
        assert_int_equal(parse_ok("/").kind, REG_ROUTE_NONE);
        assert_int_equal(parse_ok("/v2/foo").kind, REG_ROUTE_NONE);
        assert_int_equal(parse_ok("/v2/foo/").kind, REG_ROUTE_NONE);

        r = parse_ok("/v2/a/b/c/manifests/latest");
        assert_int_equal(r.kind, REG_ROUTE_MANIFEST);
        assert_string_equal(r.name, "a/b/c");
        assert_string_equal(r.ref, "latest");
        assert_false(r.ref_is_digest);

        snprintf(p, sizeof(p), "/v2/x/manifests/%s", D256);
        r = parse_ok(p);
        assert_int_equal(r.kind, REG_ROUTE_MANIFEST);
        assert_true(r.ref_is_digest);
        assert_string_equal(r.ref, D256);

        /* Names may contain the endpoint words: match from the right. */
        snprintf(p, sizeof(p), "/v2/a/manifests/blobs/%s", D256);
        r = parse_ok(p);
        assert_int_equal(r.kind, REG_ROUTE_BLOB);
        assert_string_equal(r.name, "a/manifests");

        r = parse_ok("/v2/blobs/uploads/blobs/uploads/");
        assert_int_equal(r.kind, REG_ROUTE_UPLOADS);
        assert_string_equal(r.name, "blobs/uploads");
        r = parse_ok("/v2/lib/app/blobs/uploads");
        assert_int_equal(r.kind, REG_ROUTE_UPLOADS);
        assert_string_equal(r.name, "lib/app");

        r = parse_ok("/v2/lib/app/blobs/uploads/0123456789abcdef0123456789abcdef");
        assert_int_equal(r.kind, REG_ROUTE_UPLOAD);
        assert_string_equal(r.ref, "0123456789abcdef0123456789abcdef");

        r = parse_ok("/v2/my-org/my_app/tags/list");
        assert_int_equal(r.kind, REG_ROUTE_TAGS);
        assert_string_equal(r.name, "my-org/my_app");

        snprintf(p, sizeof(p), "/v2/a.b/referrers/%s", D256);
        r = parse_ok(p);
        assert_int_equal(r.kind, REG_ROUTE_REFERRERS);
        assert_string_equal(r.name, "a.b");
}

static void
route_errors(void **state)
{
        char p[1024];

        parse_bad("/v2/Upper/manifests/x", ERR_NAME_INVALID);
        parse_bad("/v2/a//b/manifests/x", ERR_NAME_INVALID);
        parse_bad("/v2//blobs/uploads/", ERR_NAME_INVALID);
        parse_bad("/v2/a../manifests/x", ERR_NAME_INVALID);
        parse_bad("/v2/../manifests/x", ERR_NAME_INVALID);
        parse_bad("/v2/-a/manifests/x", ERR_NAME_INVALID);
        parse_bad("/v2/a/manifests/-bad", ERR_TAG_INVALID);
        parse_bad("/v2/a/manifests/sha256:zz", ERR_DIGEST_INVALID);
        parse_bad("/v2/a/blobs/nodigest", ERR_DIGEST_INVALID);
        parse_bad("/v2/a/blobs/uploads/not-a-uuid", ERR_BLOB_UPLOAD_UNKNOWN);
        parse_bad("/v2/a/referrers/sha256:abc", ERR_DIGEST_INVALID);
        /* A 256-character name. */
        memset(p, 0, sizeof(p));
        strcpy(p, "/v2/");
        memset(p + 4, 'a', 256);
        strcat(p, "/tags/list");
        parse_bad(p, ERR_NAME_INVALID);

        parse_bad_as("/v2/Upper/manifests/x", ERR_NAME_INVALID, REG_ROUTE_MANIFEST, "");
        parse_bad_as("/v2/a/b/manifests/-bad", ERR_TAG_INVALID, REG_ROUTE_MANIFEST, "a/b");
        parse_bad_as("/v2/a/manifests/sha256:zz", ERR_DIGEST_INVALID, REG_ROUTE_MANIFEST, "a");
        parse_bad_as("/v2/a/blobs/nodigest", ERR_DIGEST_INVALID, REG_ROUTE_BLOB, "a");
        parse_bad_as("/v2/a/blobs/uploads/not-a-uuid", ERR_BLOB_UPLOAD_UNKNOWN, REG_ROUTE_UPLOAD, "a");
        parse_bad_as("/v2/a/referrers/sha256:abc", ERR_DIGEST_INVALID, REG_ROUTE_REFERRERS, "a");
        parse_bad_as("/v2/a../tags/list", ERR_NAME_INVALID, REG_ROUTE_TAGS, "");
        parse_bad_as(p, ERR_NAME_INVALID, REG_ROUTE_TAGS, "");
}

static void
names_and_tags(void **state)
{
        assert_int_equal(reg_name_validate("a", NULL), 0);
        assert_int_equal(reg_name_validate("a__b", NULL), 0);
        assert_int_equal(reg_name_validate("a---b/c.d/e_f", NULL), 0);
        assert_true(reg_name_validate("a___b", NULL) < 0);
        assert_true(reg_name_validate("a.", NULL) < 0);
        assert_true(reg_name_validate("a/", NULL) < 0);
        assert_true(reg_name_validate("_a", NULL) < 0);
        assert_true(reg_name_validate("", NULL) < 0);
        assert_true(reg_tag_ok("latest"));
        assert_true(reg_tag_ok("_x.Y-1"));
        assert_false(reg_tag_ok(".x"));
        assert_false(reg_tag_ok("-x"));
        assert_false(reg_tag_ok(""));
        assert_false(reg_tag_ok("a/b"));
        {
                char t[200];
                memset(t, 'a', 128);
                t[128] = '\0';
                assert_true(reg_tag_ok(t));
                t[128] = 'a';
                t[129] = '\0';
                assert_false(reg_tag_ok(t));
        }
        assert_true(reg_uuid_ok("0123456789abcdef0123456789abcdef"));
        assert_false(reg_uuid_ok("0123456789ABCDEF0123456789abcdef"));
        assert_false(reg_uuid_ok("0123"));
}

static void
ranges(void **state)
{
        struct reg_range r;
        struct err *e = NULL;

        assert_int_equal(reg_range_parse(NULL, 10, &r, NULL), 0);
        assert_int_equal(reg_range_parse("bytes=0-4", 10, &r, NULL), 1);
        assert_int_equal(r.start, 0);
        assert_int_equal(r.len, 5);
        assert_int_equal(reg_range_parse("bytes=5-", 10, &r, NULL), 1);
        assert_int_equal(r.start, 5);
        assert_int_equal(r.len, 5);
        assert_int_equal(reg_range_parse("bytes=-3", 10, &r, NULL), 1);
        assert_int_equal(r.start, 7);
        assert_int_equal(r.len, 3);
        assert_int_equal(reg_range_parse("bytes=8-100", 10, &r, NULL), 1);
        assert_int_equal(r.len, 2);
        /* Ignored: not bytes, several ranges, garbage, reversed. */
        assert_int_equal(reg_range_parse("items=0-1", 10, &r, NULL), 0);
        assert_int_equal(reg_range_parse("bytes=0-1,3-4", 10, &r, NULL), 0);
        assert_int_equal(reg_range_parse("bytes=x-1", 10, &r, NULL), 0);
        assert_int_equal(reg_range_parse("bytes=5-1", 10, &r, NULL), 0);
        assert_int_equal(reg_range_parse("bytes=99999999999999999999-", 10, &r, NULL), 0);
        /* Unsatisfiable. */
        assert_int_equal(reg_range_parse("bytes=10-", 10, &r, &e), -ERR_RANGE_INVALID);
        assert_int_equal(err_code(&e), ERR_RANGE_INVALID);
        err_clear(&e);
        assert_int_equal(reg_range_parse("bytes=-0", 10, &r, NULL), -ERR_RANGE_INVALID);
        /* The largest start a uint64 holds is a number, just past the blob. */
        assert_int_equal(reg_range_parse("bytes=18446744073709551615-", 10, &r, NULL), -ERR_RANGE_INVALID);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(routes),         cmocka_unit_test(route_errors),
                cmocka_unit_test(names_and_tags), cmocka_unit_test(ranges),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
