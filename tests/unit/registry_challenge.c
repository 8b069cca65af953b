/* WWW-Authenticate parsing/formatting and base64 (registry/common). */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdlib.h>

#include "common/limits.h"
#include "registry/common/base64.h"
#include "registry/common/challenge.h"

static struct reg_challenges *
parse_ok(const char *h)
{
        struct reg_challenges *c = NULL;
        struct err *e = NULL;
        int r = reg_challenges_parse(h, &c, &e);
        if (r < 0)
                fail_msg("parse '%s': %s", h, err_msg(&e));
        assert_non_null(c);
        return c;
}

static void
parse_fails(const char *h, const char *needle)
{
        struct reg_challenges *c = NULL;
        struct err *e = NULL;
        int r = reg_challenges_parse(h, &c, &e);
        if (r >= 0)
                fail_msg("'%s' parsed but should fail", h);
        assert_null(c);
        assert_int_equal(err_code(&e), EINVAL);
        if (needle && !strstr(err_msg(&e), needle))
                fail_msg("error '%s' lacks '%s'", err_msg(&e), needle);
        err_clear(&e);
}

static void
bearer_docker_hub(void **state)
{
        struct reg_challenges *c =
            parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                     "scope=\"repository:library/alpine:pull,push\"");
        const struct reg_challenge *b;

        assert_int_equal(c->n, 1);
        b = reg_challenges_find(c, "bearer");
        assert_non_null(b);
        assert_string_equal(b->scheme, "Bearer");
        assert_null(b->token68);
        assert_int_equal(b->n_params, 3);
        assert_string_equal(reg_challenge_param(b, "realm"), "https://auth.docker.io/token");
        assert_string_equal(reg_challenge_param(b, "SERVICE"), "registry.docker.io");
        /* The comma inside quotes belongs to the value. */
        assert_string_equal(reg_challenge_param(b, "scope"), "repository:library/alpine:pull,push");
        assert_null(reg_challenge_param(b, "error"));
        assert_null(reg_challenges_find(c, "basic"));
        reg_challenges_free(c);
}

static void
several_challenges(void **state)
{
        struct reg_challenges *c = parse_ok(
            "Basic realm=\"ireg\", Bearer realm=\"https://h/token\" , service=ireg,error=\"insufficient_scope\","
            "Negotiate, Custom abc+/def==, Empty");
        assert_int_equal(c->n, 5);
        assert_string_equal(c->v[0].scheme, "Basic");
        assert_int_equal(c->v[0].n_params, 1);
        assert_string_equal(reg_challenge_param(&c->v[0], "realm"), "ireg");
        assert_string_equal(c->v[1].scheme, "Bearer");
        assert_int_equal(c->v[1].n_params, 3);
        assert_string_equal(reg_challenge_param(&c->v[1], "service"), "ireg");
        assert_string_equal(reg_challenge_param(&c->v[1], "error"), "insufficient_scope");
        assert_string_equal(c->v[2].scheme, "Negotiate");
        assert_int_equal(c->v[2].n_params, 0);
        assert_string_equal(c->v[3].scheme, "Custom");
        assert_string_equal(c->v[3].token68, "abc+/def==");
        assert_string_equal(c->v[4].scheme, "Empty");
        reg_challenges_free(c);
}

static void
quoting(void **state)
{
        struct reg_challenges *c = parse_ok("Bearer realm = \"a \\\"q\\\" \\\\ b, c=d\" ,, , scope=x");
        assert_int_equal(c->n, 1);
        assert_string_equal(reg_challenge_param(&c->v[0], "realm"), "a \"q\" \\ b, c=d");
        assert_string_equal(reg_challenge_param(&c->v[0], "scope"), "x");
        reg_challenges_free(c);

        /* token68 with padding versus a parameter. */
        c = parse_ok("Basic dXNlcjpwYXNz=");
        assert_string_equal(c->v[0].token68, "dXNlcjpwYXNz=");
        assert_int_equal(c->v[0].n_params, 0);
        reg_challenges_free(c);
}

static void
malformed(void **state)
{
        char *big;

        parse_fails("", "empty");
        parse_fails("   ,  ", "empty");
        parse_fails("Bearer realm=\"unterminated", "offset 13: unterminated");
        parse_fails("Bearer a=b, c=", "expected a space");
        parse_fails("Bearer realm=\"x\" junk", "offset 17");
        parse_fails("Bearer realm=\"a\\", "bad escape");
        parse_fails("Bearer realm=\"a\x01\"", "control character");
        parse_fails("\"Bearer\"", "expected an auth scheme");
        parse_fails("Bearer=x", "expected a space");
        parse_fails("Bearer @@@", "token68");
        parse_fails("Basic abc=== def", "after token68");
        parse_fails("Bearer realm=\"x\", =y", "expected an auth scheme");

        big = xmalloc(LIMIT_HTTP_HEADER + 16);
        memset(big, 'a', LIMIT_HTTP_HEADER + 8);
        big[LIMIT_HTTP_HEADER + 8] = '\0';
        parse_fails(big, "longer than");
        free(big);
}

static void
format_roundtrip(void **state)
{
        char buf[256];
        struct err *e = NULL;
        const char *p[] = {"realm", "https://h:5000/token",     "service", "ireg",          "error", NULL,
                           "scope", "repository:a/b:pull,push", "note",    "say \"hi\" \\", NULL};
        struct reg_challenges *c;

        assert_int_equal(reg_challenge_format(buf, sizeof(buf), "Bearer", p, &e), 0);
        assert_string_equal(buf, "Bearer realm=\"https://h:5000/token\",service=\"ireg\","
                                 "scope=\"repository:a/b:pull,push\",note=\"say \\\"hi\\\" \\\\\"");
        c = parse_ok(buf);
        assert_int_equal(c->v[0].n_params, 4);
        assert_string_equal(reg_challenge_param(&c->v[0], "note"), "say \"hi\" \\");
        assert_string_equal(reg_challenge_param(&c->v[0], "scope"), "repository:a/b:pull,push");
        reg_challenges_free(c);

        assert_int_equal(reg_challenge_format(buf, sizeof(buf), "Basic", NULL, &e), 0);
        assert_string_equal(buf, "Basic");

        assert_int_equal(reg_challenge_format(buf, 20, "Bearer", p, &e), -ERANGE);
        assert_int_equal(err_code(&e), ERANGE);
        err_clear(&e);
        {
                const char *bad[] = {"realm", "a\nb", NULL};
                assert_int_equal(reg_challenge_format(buf, sizeof(buf), "Basic", bad, &e), -EINVAL);
                err_clear(&e);
        }
        {
                const char *bad[] = {"re alm", "x", NULL};
                assert_int_equal(reg_challenge_format(buf, sizeof(buf), "Basic", bad, &e), -EINVAL);
                err_clear(&e);
        }
        assert_int_equal(reg_challenge_format(buf, sizeof(buf), "Bad scheme", NULL, &e), -EINVAL);
        err_clear(&e);
}

static void
b64(void **state)
{
        /* RFC 4648 section 10 vectors. */
        const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
        const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
        struct err *e = NULL;
        unsigned char *d;
        size_t n;

        for (size_t i = 0; i < 7; i++) {
                char *s = reg_b64_encode(in[i], strlen(in[i]), false);
                assert_string_equal(s, std[i]);
                free(s);
                s = reg_b64_encode(in[i], strlen(in[i]), true);
                assert_string_equal(s, url[i]);
                free(s);
                assert_int_equal(reg_b64_decode(std[i], strlen(std[i]), &d, &n, &e), 0);
                assert_int_equal(n, strlen(in[i]));
                assert_memory_equal(d, in[i], n);
                free(d);
                assert_int_equal(reg_b64_decode(url[i], strlen(url[i]), &d, &n, &e), 0);
                assert_int_equal(n, strlen(in[i]));
                assert_memory_equal(d, in[i], n);
                free(d);
        }
        {
                unsigned char bin[] = {0xfb, 0xff, 0xfe};
                char *s = reg_b64_encode(bin, 3, false);
                assert_string_equal(s, "+//+");
                free(s);
                s = reg_b64_encode(bin, 3, true);
                assert_string_equal(s, "-__-");
                assert_int_equal(reg_b64_decode(s, 4, &d, &n, &e), 0);
                assert_memory_equal(d, bin, 3);
                free(d);
                free(s);
        }
        assert_int_equal(reg_b64_decode("Zm9v YmF", 8, &d, &n, &e), -EINVAL);
        assert_non_null(strstr(err_msg(&e), "offset 4"));
        err_clear(&e);
        assert_int_equal(reg_b64_decode("Z", 1, &d, &n, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_b64_decode("Zg===", 5, &d, &n, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_b64_decode("Z=g=", 4, &d, &n, &e), -EINVAL);
        err_clear(&e);
        assert_int_equal(reg_b64_decode("Zm9vY=", 6, &d, &n, &e), -EINVAL);
        err_clear(&e);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(bearer_docker_hub), cmocka_unit_test(several_challenges), cmocka_unit_test(quoting),
            cmocka_unit_test(malformed),         cmocka_unit_test(format_roundtrip),   cmocka_unit_test(b64),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
