/* registry/common/token: token requests from challenges, token responses. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "registry/common/challenge.h"
#include "registry/common/creds.h"
#include "registry/common/token.h"

static struct reg_challenges *
parse(const char *h)
{
        struct reg_challenges *c = NULL;
        struct err *e = NULL;
        if (reg_challenges_parse(h, &c, &e) < 0)
                fail_msg("%s", err_msg(&e));
        return c;
}

static void
get_requests(void **state)
{
        struct reg_challenges *c = parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                         "scope=\"repository:library/alpine:pull repository:x/y:pull,push\"");
        const struct reg_challenge *b = reg_challenges_find(c, "Bearer");
        struct reg_token_request r;
        struct reg_creds creds = {.username = "robot$ci", .password = "p@ss:w"};
        const char *scopes[] = {"repository:a/b:pull,push", "repository:c:pull"};
        struct err *e = NULL;

        /* Anonymous, the challenge's own scopes. */
        assert_int_equal(reg_token_request_build(b, NULL, 0, NULL, NULL, &r, &e), 0);
        assert_string_equal(r.method, "GET");
        assert_string_equal(r.url,
                            "https://auth.docker.io/token?service=registry.docker.io"
                            "&scope=repository%3Alibrary%2Falpine%3Apull&scope=repository%3Ax%2Fy%3Apull%2Cpush");
        assert_null(r.authorization);
        assert_null(r.body);
        reg_token_request_clear(&r);

        /* Basic credentials and explicit scopes. */
        assert_int_equal(reg_token_request_build(b, scopes, 2, &creds, NULL, &r, &e), 0);
        assert_string_equal(r.url,
                            "https://auth.docker.io/token?service=registry.docker.io"
                            "&scope=repository%3Aa%2Fb%3Apull%2Cpush&scope=repository%3Ac%3Apull&account=robot%24ci");
        /* base64("robot$ci:p@ss:w") */
        assert_string_equal(r.authorization, "Basic cm9ib3QkY2k6cEBzczp3");
        reg_token_request_clear(&r);
        reg_challenges_free(c);

        /* A realm with a query already; no service, no scope. */
        c = parse("Bearer realm=\"http://h:5000/token?x=1\"");
        assert_int_equal(reg_token_request_build(&c->v[0], NULL, 0, NULL, NULL, &r, &e), 0);
        assert_string_equal(r.url, "http://h:5000/token?x=1");
        reg_token_request_clear(&r);
        reg_challenges_free(c);
        c = parse("Bearer realm=\"http://h:5000/token?x=1\",service=s");
        assert_int_equal(reg_token_request_build(&c->v[0], NULL, 0, NULL, NULL, &r, &e), 0);
        assert_string_equal(r.url, "http://h:5000/token?x=1&service=s");
        reg_token_request_clear(&r);
        reg_challenges_free(c);
        c = parse("Bearer realm=\"http://h:5000/token\"");
        assert_int_equal(reg_token_request_build(&c->v[0], NULL, 0, NULL, NULL, &r, &e), 0);
        assert_string_equal(r.url, "http://h:5000/token");
        reg_token_request_clear(&r);
        reg_challenges_free(c);

        /* Bad realms. */
        const char *bad[] = {"Bearer service=\"x\"", "Bearer realm=\"ftp://x/token\"", "Bearer realm=\"http://a b/\"",
                             "Bearer realm=\"\""};
        for (size_t i = 0; i < 4; i++) {
                c = parse(bad[i]);
                assert_int_equal(reg_token_request_build(&c->v[0], NULL, 0, NULL, NULL, &r, &e), -EINVAL);
                err_clear(&e);
                reg_challenges_free(c);
        }
}

static void
post_requests(void **state)
{
        struct reg_challenges *c =
            parse("Bearer realm=\"https://h/token\",service=\"svc\",scope=\"repository:a:pull\"");
        struct reg_creds creds = {.identity_token = "rt/+=&x"};
        const char *scopes[] = {"repository:a:pull,push", "repository:b:pull"};
        struct reg_token_request r;
        struct err *e = NULL;

        assert_int_equal(reg_token_request_build(&c->v[0], NULL, 0, &creds, "ipush", &r, &e), 0);
        assert_string_equal(r.method, "POST");
        assert_string_equal(r.url, "https://h/token");
        assert_string_equal(r.body, "grant_type=refresh_token&refresh_token=rt%2F%2B%3D%26x&service=svc"
                                    "&client_id=ipush&scope=repository%3Aa%3Apull");
        assert_null(r.authorization);
        reg_token_request_clear(&r);
        assert_int_equal(reg_token_request_build(&c->v[0], scopes, 2, &creds, NULL, &r, &e), 0);
        assert_non_null(strstr(r.body, "&client_id=ibuild&scope=repository%3Aa%3Apull%2Cpush%20repository%3Ab%3Apull"));
        reg_token_request_clear(&r);
        reg_token_request_clear(NULL);
        reg_challenges_free(c);
}

static void
responses(void **state)
{
        struct err *e = NULL;
        char *tok = NULL, *rt = NULL;
        time_t exp = 0, now = 1700000000;

#define PARSE(s) reg_token_response_parse(s, strlen(s), now, &tok, &exp, &rt, &e)
        assert_int_equal(PARSE("{\"token\":\"T1\",\"access_token\":\"T2\",\"expires_in\":300,"
                               "\"issued_at\":\"2023-11-14T22:13:20Z\"}"),
                         0);
        assert_string_equal(tok, "T1");
        assert_int_equal(exp, 1700000000 + 300);
        assert_null(rt);
        free(tok);
        /* access_token only; no expiry → 60 s from now; a refresh token. */
        assert_int_equal(PARSE("{\"access_token\":\"T2\",\"refresh_token\":\"R\"}"), 0);
        assert_string_equal(tok, "T2");
        assert_int_equal(exp, now + 60);
        assert_string_equal(rt, "R");
        free(tok);
        free(rt);
        /* Under 60 s counts as 60; offsets and fractions in issued_at. */
        assert_int_equal(PARSE("{\"token\":\"T\",\"expires_in\":5,\"issued_at\":\"2023-11-15T00:13:20.123456+02:00\"}"),
                         0);
        assert_int_equal(exp, 1700000000 + 60);
        free(tok);
        assert_int_equal(PARSE("{\"token\":\"T\",\"issued_at\":\"yesterday\"}"), 0);
        assert_int_equal(exp, now + 60);
        free(tok);

        assert_int_equal(PARSE("not json"), -EINVAL);
        err_clear(&e);
        assert_int_equal(PARSE("{\"token\":\"\"}"), -EINVAL);
        err_clear(&e);
        assert_int_equal(PARSE("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"secret-ish\"}]}"), -EINVAL);
        assert_null(strstr(err_msg(&e), "secret-ish"));
        err_clear(&e);
        assert_int_equal(PARSE("[\"token\"]"), -EINVAL);
        err_clear(&e);
#undef PARSE
}

static void
basic_header(void **state)
{
        char *h = reg_basic_authorization("Aladdin", "open sesame");
        assert_string_equal(h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        free(h);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(get_requests),
            cmocka_unit_test(post_requests),
            cmocka_unit_test(responses),
            cmocka_unit_test(basic_header),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
