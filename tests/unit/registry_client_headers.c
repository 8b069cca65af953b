/* registry/client: the response headers the client keeps (what curl hands
 * the header callback, one raw line at a time), with the numeric ones
 * parsed strictly. */
#include "tests/unit/test.h"

#include <stdlib.h>

#include "registry/client/client-internal.h"

static void
add(struct reg_resp *r, const char *line)
{
        reg_resp_add_header(r, line, strlen(line));
}

static void
kept_and_trimmed(void **state)
{
        struct reg_resp r = {.content_length = -1};

        add(&r, "Range: 0-65535\r\n");
        add(&r, "content-range:\tbytes 5-9/10 \r\n");
        add(&r, "LOCATION: /v2/a/blobs/uploads/1?x=1\r\n");
        add(&r, "Docker-Content-Digest: sha256:abc\r\n");
        add(&r, "Retry-After: 3\r\n");
        add(&r, "Link: </v2/a/tags/list?n=1&last=b>; rel=\"next\"\r\n");
        add(&r, "OCI-Subject: sha256:def\r\n");
        add(&r, "Content-Type: application/json\r\n");
        assert_string_equal(r.range, "0-65535");
        assert_string_equal(r.content_range, "bytes 5-9/10");
        assert_string_equal(r.location, "/v2/a/blobs/uploads/1?x=1");
        assert_string_equal(r.docker_digest, "sha256:abc");
        assert_string_equal(r.retry_after, "3");
        assert_string_equal(r.link, "</v2/a/tags/list?n=1&last=b>; rel=\"next\"");
        assert_string_equal(r.oci_subject, "sha256:def");
        assert_string_equal(r.content_type, "application/json");
        /* A repeated header replaces the earlier one... */
        add(&r, "Range: 0-99\r\n");
        assert_string_equal(r.range, "0-99");
        /* ...but challenges are joined. */
        add(&r, "WWW-Authenticate: Basic realm=\"a\"\r\n");
        add(&r, "Www-Authenticate: Bearer realm=\"b\"\r\n");
        assert_string_equal(r.www_authenticate, "Basic realm=\"a\", Bearer realm=\"b\"");
        /* Other headers, a name that only starts like one, no colon, the
         * status line: ignored. */
        add(&r, "Ranges: 1-2\r\n");
        add(&r, "Range 1-2\r\n");
        add(&r, "Range\r\n");
        add(&r, "HTTP/1.1 202 Accepted\r\n");
        add(&r, "X-Other: y\r\n");
        assert_string_equal(r.range, "0-99");
        /* An empty value is kept as "". */
        add(&r, "Range:\r\n");
        assert_string_equal(r.range, "");
        reg_resp_clear(&r);
}

/* The line is not NUL-terminated: only LEN bytes are read. */
static void
length_bounded(void **state)
{
        struct reg_resp r = {.content_length = -1};
        const char *line = "Range: 0-12345\r\nX";

        reg_resp_add_header(&r, line, strlen("Range: 0-12"));
        assert_string_equal(r.range, "0-12");
        reg_resp_clear(&r);
}

static void
numbers_strict(void **state)
{
        struct reg_resp r = {.content_length = -1};

        add(&r, "Content-Length: 42\r\n");
        assert_int_equal(r.content_length, 42);
        add(&r, "OCI-Chunk-Min-Length: 200000\r\n");
        assert_int_equal(r.chunk_min, 200000);
        /* strtoll took all of these as numbers. */
        const char *bad[] = {"-5", "+5", "12abc", "1 2", "0x10", "", "99999999999999999999", "9223372036854775808"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char line[64];

                snprintf(line, sizeof(line), "Content-Length: %s\r\n", bad[i]);
                add(&r, line);
                if (r.content_length != -1)
                        fail_msg("Content-Length '%s' gave %lld", bad[i], (long long) r.content_length);
                snprintf(line, sizeof(line), "OCI-Chunk-Min-Length: %s\r\n", bad[i]);
                add(&r, line);
                if (r.chunk_min != 0)
                        fail_msg("OCI-Chunk-Min-Length '%s' gave %lld", bad[i], (long long) r.chunk_min);
        }
        add(&r, "Content-Length: 9223372036854775807\r\n");
        assert_true(r.content_length == INT64_MAX);
        reg_resp_clear(&r);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(kept_and_trimmed),
                cmocka_unit_test(length_bounded),
                cmocka_unit_test(numbers_strict),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
