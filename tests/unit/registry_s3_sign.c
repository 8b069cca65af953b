/* registry/s3: SigV4 signatures against AWS's documented S3 examples
 * (access key AKIAIOSFODNN7EXAMPLE, 2013-05-24, bucket examplebucket,
 * virtual-hosted: the host carries the bucket), URI and query encoding,
 * presigned URLs from a client. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>

#include "registry/s3/s3-internal.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
presign_vector(void **state)
{
        /* AWS S3 API reference, "Authenticating Requests: Using Query
         * Parameters": GET /test.txt valid 86400 s. */
        _cleanup_free_ char *q = s3_presign_query(&(struct s3_sign_in){.method = "GET",
                                                                       .path = "/test.txt",
                                                                       .query = "",
                                                                       .host = "examplebucket.s3.amazonaws.com",
                                                                       .amz_date = "20130524T000000Z",
                                                                       .region = "us-east-1",
                                                                       .access_key = AK,
                                                                       .secret_key = SK},
                                                  86400);

        assert_string_equal(q, "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                               "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                               "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                               "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

static void
header_vector_get_object(void **state)
{
        /* AWS S3 API reference, "Signature Calculations for the
         * Authorization Header", example GET Object with Range. */
        const struct s3_header h[] = {
            {"x-amz-date", "20130524T000000Z"},
            {"range", "bytes=0-9"},
            {"x-amz-content-sha256", EMPTY},
        };
        _cleanup_free_ char *a = s3_sign_authorization(&(struct s3_sign_in){.method = "GET",
                                                                            .path = "/test.txt",
                                                                            .query = "",
                                                                            .host = "examplebucket.s3.amazonaws.com",
                                                                            .headers = h,
                                                                            .n_headers = 3,
                                                                            .payload_hash = EMPTY,
                                                                            .amz_date = "20130524T000000Z",
                                                                            .region = "us-east-1",
                                                                            .access_key = AK,
                                                                            .secret_key = SK});

        assert_string_equal(a, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                               "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                               "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void
header_vector_list_objects(void **state)
{
        /* The same page's "GET Bucket (List Objects)" example: the query
         * is built by s3_query_* in canonical order, whatever the order of
         * adding. */
        const struct s3_header h[] = {
            {"x-amz-content-sha256", EMPTY},
            {"x-amz-date", "20130524T000000Z"},
        };
        struct s3_query q = {0};
        _cleanup_free_ char *qs = NULL, *a = NULL;

        s3_query_add(&q, "prefix", "J");
        s3_query_add(&q, "max-keys", "2");
        qs = s3_query_string(&q);
        assert_string_equal(qs, "max-keys=2&prefix=J");
        a = s3_sign_authorization(&(struct s3_sign_in){.method = "GET",
                                                       .path = "/",
                                                       .query = qs,
                                                       .host = "examplebucket.s3.amazonaws.com",
                                                       .headers = h,
                                                       .n_headers = 2,
                                                       .payload_hash = EMPTY,
                                                       .amz_date = "20130524T000000Z",
                                                       .region = "us-east-1",
                                                       .access_key = AK,
                                                       .secret_key = SK});
        assert_non_null(strstr(a, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
        s3_query_clear(&q);
}

static void
uri_encoding(void **state)
{
        _cleanup_free_ char *a = s3_uri_encode("blobs/sha256/ab cd+ef~_-.", true);
        _cleanup_free_ char *b = s3_uri_encode("a/b=c&d", false);
        _cleanup_free_ char *c = s3_uri_encode("\xc3\xa9\x01%", true);
        _cleanup_free_ char *d = s3_uri_encode("", false);

        assert_string_equal(a, "blobs/sha256/ab%20cd%2Bef~_-.");
        assert_string_equal(b, "a%2Fb%3Dc%26d");
        assert_string_equal(c, "%C3%A9%01%25");
        assert_string_equal(d, "");
}

static void
query_order_and_empty_values(void **state)
{
        struct s3_query q = {0};
        _cleanup_free_ char *s = NULL, *empty = s3_query_string(NULL);

        s3_query_add(&q, "uploadId", "x/y z");
        s3_query_add(&q, "partNumber", "3");
        s3_query_add(&q, "uploads", NULL);
        s3_query_add(&q, "continuation-token", "1/2+3=");
        s = s3_query_string(&q);
        /* Byte order: upper case before lower case ("uploadId" < "uploads"). */
        assert_string_equal(s, "continuation-token=1%2F2%2B3%3D&partNumber=3&uploadId=x%2Fy%20z&uploads=");
        assert_string_equal(empty, "");
        s3_query_clear(&q);
}

static void
client_paths_and_presign(void **state)
{
        struct s3_client *c = NULL;
        _cleanup_free_ char *p = NULL, *url = NULL;

        assert_ok(s3_client_new(&(struct s3_config){.endpoint = "http://127.0.0.1:7480/",
                                                    .bucket = "ireg",
                                                    .prefix = "prod/",
                                                    .access_key = AK,
                                                    .secret_key = SK},
                                &c, err));
        assert_string_equal(s3_client_describe(c), "s3://ireg/prod/ at http://127.0.0.1:7480");
        p = s3_object_path(c, "blobs/a b");
        assert_string_equal(p, "/ireg/prod/blobs/a%20b");
        assert_ok(s3_presign_get(c, "blobs/x", 900, 1369353600 /* 2013-05-24T00:00:00Z */, &url, err));
        assert_true(strncmp(url, "http://127.0.0.1:7480/ireg/prod/blobs/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 70) == 0);
        assert_non_null(strstr(url, "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=900&"));
        assert_non_null(strstr(url, "%2Fus-east-1%2Fs3%2Faws4_request"));
        /* The secret never appears in a URL. */
        assert_null(strstr(url, "EXAMPLEKEY"));
        assert_fails(s3_presign_get(c, "k", 0, 0, &url, err), EINVAL, "expiry", NULL);
        assert_fails(s3_presign_get(c, "k", S3_PRESIGN_MAX_EXPIRES + 1, 0, &url, err), EINVAL, "expiry", NULL);
        s3_client_free(c);
}

static void
client_config_errors(void **state)
{
        struct s3_client *c = NULL;

        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        assert_fails(
            s3_client_new(
                &(struct s3_config){.endpoint = "ftp://x", .bucket = "b", .access_key = "a", .secret_key = "s"}, &c,
                err),
            EINVAL, "ftp://x", NULL);
        assert_fails(
            s3_client_new(
                &(struct s3_config){.endpoint = "http://h:1/path", .bucket = "b", .access_key = "a", .secret_key = "s"},
                &c, err),
            EINVAL, "http://h:1/path", NULL);
        assert_fails(
            s3_client_new(
                &(struct s3_config){.endpoint = "http://h", .bucket = "a/b", .access_key = "a", .secret_key = "s"}, &c,
                err),
            EINVAL, "'a/b'", NULL);
        assert_fails(s3_client_new(&(struct s3_config){.endpoint = "http://h", .bucket = "b"}, &c, err), EINVAL,
                     "no credentials", "AWS_ACCESS_KEY_ID");
        assert_null(c);
        /* From the environment when the configuration has none. */
        setenv("AWS_ACCESS_KEY_ID", "envkey", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
        assert_ok(s3_client_new(&(struct s3_config){.endpoint = "https://s3.example", .bucket = "b"}, &c, err));
        assert_string_equal(c->access_key, "envkey");
        assert_string_equal(c->host, "s3.example");
        assert_string_equal(c->region, "us-east-1");
        s3_client_free(c);
        s3_client_free(NULL);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(presign_vector),
            cmocka_unit_test(header_vector_get_object),
            cmocka_unit_test(header_vector_list_objects),
            cmocka_unit_test(uri_encoding),
            cmocka_unit_test(query_order_and_empty_values),
            cmocka_unit_test(client_paths_and_presign),
            cmocka_unit_test(client_config_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
