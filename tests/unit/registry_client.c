/* registry/client: URL resolution, Retry-After and Link parsing, registry
 * error messages, client options, local layout copies, and errors for an
 * unreachable registry. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "common/fsutil.h"
#include "registry/client/client-internal.h"
#include "registry/client/client.h"

static void
url_resolve(void **state)
{
        char *u = reg_url_resolve("http://h:5000/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/123?x=1");
        assert_string_equal(u, "http://h:5000/v2/a/blobs/uploads/123?x=1");
        free(u);
        u = reg_url_resolve("http://h:5000/v2/a/blobs/sha256:1", "https://cdn.example/x/y?sig=abc");
        assert_string_equal(u, "https://cdn.example/x/y?sig=abc");
        free(u);
        u = reg_url_resolve("http://h:5000/v2/a/tags/list", "list?last=b&n=2");
        assert_string_equal(u, "http://h:5000/v2/a/tags/list?last=b&n=2");
        free(u);
}

static void
retry_after(void **state)
{
        assert_int_equal(reg_retry_after_ms(NULL), -1);
        assert_int_equal(reg_retry_after_ms(""), -1);
        assert_int_equal(reg_retry_after_ms("0"), 0);
        assert_int_equal(reg_retry_after_ms("3"), 3000);
        assert_int_equal(reg_retry_after_ms("99999"), 120000); /* capped */
        assert_int_equal(reg_retry_after_ms("soon"), -1);
        assert_int_equal(reg_retry_after_ms("-5"), -1);
        /* An HTTP date in the past means now; in the future, the difference. */
        assert_int_equal(reg_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
        char buf[64];
        time_t t = time(NULL) + 30;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        long ms = reg_retry_after_ms(buf);
        assert_true(ms >= 28000 && ms <= 30000);
}

static void
link_next(void **state)
{
        char *n = reg_link_next("</v2/a/tags/list?last=b&n=2>; rel=\"next\"");
        assert_string_equal(n, "/v2/a/tags/list?last=b&n=2");
        free(n);
        assert_null(reg_link_next(NULL));
        assert_null(reg_link_next("garbage"));
        assert_null(reg_link_next("</x>; rel=\"prev\""));
}

static void
fail_message(void **state)
{
        struct reg_host host = {.host = (char *) "reg.example:5000"};
        struct reg_resp resp = {.status = 404, .request = (char *) "GET https://reg.example:5000/v2/a/manifests/v1"};
        struct err *e = NULL;
        char body[] = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
                      "\"detail\":{\"Tag\":\"v1\"}},{\"code\":\"NAME_UNKNOWN\",\"message\":\"repo\"}]}";
        resp.body = body;
        resp.body_len = strlen(body);
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_MANIFEST_UNKNOWN);
        assert_string_equal(err_msg(&e), "registry reg.example:5000: GET https://reg.example:5000/v2/a/manifests/v1: "
                                         "HTTP 404: MANIFEST_UNKNOWN: manifest unknown {\"Tag\":\"v1\"}; NAME_UNKNOWN: repo");
        err_clear(&e);

        /* Unknown codes keep their text; the status decides the code. */
        char body2[] = "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"down\"}]}";
        resp.status = 503;
        resp.body = body2;
        resp.body_len = strlen(body2);
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_HTTP);
        assert_non_null(strstr(err_msg(&e), "HTTP 503: UNAVAILABLE: down"));
        err_clear(&e);

        /* A non-JSON body: its first line, control bytes masked. */
        char body3[] = "<html>\x01oops</html>\nsecond line";
        resp.status = 403;
        resp.body = body3;
        resp.body_len = strlen(body3);
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_DENIED);
        assert_non_null(strstr(err_msg(&e), "HTTP 403: <html>?oops</html>"));
        assert_null(strstr(err_msg(&e), "second"));
        err_clear(&e);

        /* JSON text is the registry's too: escape sequences and newlines
         * in "message" and "code" are masked, UTF-8 kept. */
        char body4[] = "{\"errors\":[{\"code\":\"X\\u001b[2J\",\"message\":\"caf\u00e9\\nfake: \\u001b]0;t\\u0007\"}]}";
        resp.status = 400;
        resp.body = body4;
        resp.body_len = strlen(body4);
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_HTTP);
        assert_non_null(strstr(err_msg(&e), "HTTP 400: X?[2J: caf\u00e9?fake: ?]0;t?"));
        err_clear(&e);

        resp.status = 429;
        resp.body = NULL;
        resp.body_len = 0;
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_TOOMANYREQUESTS);
        err_clear(&e);
        resp.status = 401;
        assert_int_equal(reg_http_fail(&host, &resp, &e), -ERR_UNAUTHORIZED);
        err_clear(&e);
}

static void
client_options(void **state)
{
        struct reg_client *c = NULL;
        struct err *e = NULL;
        struct reg_client_opts o = {.platform = "linux/arm64/v8", .retries = -1};
        assert_int_equal(reg_client_new(&o, &c, &e), 0);
        assert_string_equal(c->platform->architecture, "arm64");
        assert_int_equal(c->jobs, 4);
        assert_int_equal(c->retries, 3);
        assert_false(c->all_platforms);
        reg_client_free(c);
        c = NULL;
        o.platform = "all";
        o.jobs = 1000;
        o.retries = 0;
        assert_int_equal(reg_client_new(&o, &c, &e), 0);
        assert_true(c->all_platforms);
        assert_int_equal(c->jobs, 64);
        assert_int_equal(c->retries, 0);
        reg_client_free(c);
        c = NULL;
        o.platform = "linux/";
        assert_true(reg_client_new(&o, &c, &e) < 0);
        assert_null(c);
        assert_non_null(strstr(err_msg(&e), "--platform"));
        err_clear(&e);
        reg_client_free(NULL);
        assert_int_equal(reg_client_new(NULL, &c, &e), 0);
        reg_client_free(c);
}

/* A refused connection: the error names the registry and the request, and
 * nothing lands in the layout. */
static void
unreachable(void **state)
{
        char tmpl[] = "/tmp/regclient-unit.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        struct oci_layout *lay = NULL;
        struct err *e = NULL;
        assert_int_equal(oci_layout_create(tmpl, &lay, &e), 0);
        struct reg_client *c = NULL;
        struct reg_client_opts o = {.retries = 1, .plain_http = true};
        setenv("IBUILD_CLIENT_BACKOFF_MS", "1", 1);
        assert_int_equal(reg_client_new(&o, &c, &e), 0);
        struct reg_pull_result res = {0};
        /* Port 1 on loopback: nothing listens there. */
        assert_true(reg_client_pull_to_layout(c, "127.0.0.1:1/team/app:v1", lay, "x", &res, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "127.0.0.1:1"));
        assert_non_null(strstr(err_msg(&e), "GET http://127.0.0.1:1/v2/"));
        assert_null(res.ref);
        err_clear(&e);
        /* A bad reference names itself. */
        assert_true(reg_client_pull_to_layout(c, "Bad Ref", lay, "x", &res, &e) < 0);
        assert_non_null(strstr(err_msg(&e), "Bad Ref"));
        err_clear(&e);
        /* A bad layout name is refused before any request. */
        assert_int_equal(reg_client_pull_to_layout(c, "127.0.0.1:1/a", lay, "bad name", &res, &e),
                         -ERR_REFERENCE_INVALID);
        err_clear(&e);
        reg_client_free(c);
        oci_layout_free(lay);
        fs_rm_rf(tmpl, NULL);
}

/* reg_layout_copy: every blob of an image, verified, skipping what is there. */
static void
layout_copy(void **state)
{
        char a[] = "/tmp/regclient-a.XXXXXX", b[] = "/tmp/regclient-b.XXXXXX";
        assert_non_null(mkdtemp(a));
        assert_non_null(mkdtemp(b));
        struct oci_layout *src = NULL, *dst = NULL;
        struct err *e = NULL;
        assert_int_equal(oci_layout_create(a, &src, &e), 0);
        assert_int_equal(oci_layout_create(b, &dst, &e), 0);

        const char cfg[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        const char layer[] = "not really a tar, but a blob";
        struct digest dc, dl, dm;
        assert_int_equal(oci_layout_add_blob(src, cfg, strlen(cfg), NULL, &dc, &e), 0);
        assert_int_equal(oci_layout_add_blob(src, layer, strlen(layer), NULL, &dl, &e), 0);
        struct oci_manifest *m = oci_manifest_new(OCI_MT_MANIFEST);
        struct oci_descriptor d = {0};
        oci_descriptor_init(&d, OCI_MT_CONFIG, dc.str, (int64_t) strlen(cfg));
        oci_manifest_set_config(m, &d);
        oci_descriptor_clear(&d);
        oci_descriptor_init(&d, OCI_MT_LAYER_GZIP, dl.str, (int64_t) strlen(layer));
        oci_manifest_add_layer(m, &d);
        oci_descriptor_clear(&d);
        char *buf = NULL;
        size_t len;
        assert_int_equal(oci_manifest_serialize(m, &buf, &len, &e), 0);
        assert_int_equal(oci_layout_add_blob(src, buf, len, NULL, &dm, &e), 0);
        struct oci_descriptor root = {0};
        oci_descriptor_init(&root, OCI_MT_MANIFEST, dm.str, (int64_t) len);

        assert_int_equal(reg_layout_copy(src, &root, dst, &e), 0);
        assert_true(oci_layout_has_blob(dst, &dc));
        assert_true(oci_layout_has_blob(dst, &dl));
        assert_true(oci_layout_has_blob(dst, &dm));
        /* Again: nothing to do, still fine. */
        assert_int_equal(reg_layout_copy(src, &root, dst, &e), 0);

        /* A missing layer in the source is an error naming it. */
        char *lp = oci_layout_blob_path(src, &dl);
        assert_int_equal(unlink(lp), 0);
        free(lp);
        struct oci_layout *dst2 = NULL;
        char c2[] = "/tmp/regclient-c.XXXXXX";
        assert_non_null(mkdtemp(c2));
        assert_int_equal(oci_layout_create(c2, &dst2, &e), 0);
        assert_int_equal(reg_layout_copy(src, &root, dst2, &e), -ERR_BLOB_UNKNOWN);
        assert_non_null(strstr(err_msg(&e), dl.str));
        err_clear(&e);

        oci_descriptor_clear(&root);
        free(buf);
        oci_manifest_free(m);
        oci_layout_free(src);
        oci_layout_free(dst);
        oci_layout_free(dst2);
        fs_rm_rf(a, NULL);
        fs_rm_rf(b, NULL);
        fs_rm_rf(c2, NULL);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(url_resolve),  cmocka_unit_test(retry_after),  cmocka_unit_test(link_next),
                cmocka_unit_test(fail_message), cmocka_unit_test(client_options), cmocka_unit_test(unreachable),
                cmocka_unit_test(layout_copy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
